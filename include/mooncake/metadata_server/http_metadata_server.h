// The HTTP metadata server: an in-memory key-value map behind GET/PUT/DELETE
// /metadata?key=<key> (200 with the stored body; 404 "metadata not found") and GET /health.
// Used standalone (mooncake_http_metadata_server) and embedded in mooncake_master. Bounded:
// values up to kMaxValueBytes (413 above, before the body is read), keys up to 4 KiB (400),
// a request must arrive whole within 10 s, idle keep-alive connections close after 30 s, at most
// 1024 connections (slow or idle clients cost a socket, not a server thread). With a cluster
// secret every /metadata request must prove it (401 with a challenge otherwise; /health stays
// open; docs/SECURITY.md).
//
// Thread-safe. stop() ends serving and joins the server's threads; the destructor calls it.
#pragma once

#include <memory>
#include <optional>
#include <string>

#include "mooncake/common/status.h"

namespace mooncake {

class HttpMetadataServer {
 public:
  // The largest value a PUT may store (a segment descriptor with 100,000 buffers is ~8 MiB).
  static constexpr size_t kMaxValueBytes = 32u << 20;

  // `auth_secret`: nullopt takes the environment's (MC_AUTH_SECRET_FILE, else MC_AUTH_SECRET;
  // neither: open to all); "" serves without authentication.
  // `tls_cert_file` / `tls_key_file` (PEM, both or neither): serve HTTPS only.
  explicit HttpMetadataServer(std::optional<std::string> auth_secret = std::nullopt,
                              std::string tls_cert_file = "", std::string tls_key_file = "");
  ~HttpMetadataServer();
  HttpMetadataServer(const HttpMetadataServer&) = delete;
  HttpMetadataServer& operator=(const HttpMetadataServer&) = delete;

  // Binds host:port (port 0 picks a free one) and serves on a background thread. Errors:
  // ERR_SOCKET "bind address already in use: host:port"; ERR_INVALID_ARGUMENT for an unusable
  // secret.
  Status start(const std::string& host, uint16_t port);
  void stop();
  uint16_t port() const;
  size_t keyCount() const;

 private:
  struct State;
  std::unique_ptr<State> state_;
};

}  // namespace mooncake
