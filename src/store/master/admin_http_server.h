// The master's metrics and admin HTTP endpoint (--metrics_port, default 9003):
//   GET /metrics              Prometheus text: objects, bytes used/total (overall and per
//                             segment), clients, operation counters, evictions
//   GET /health               "OK"
//   GET /query_key?key=K      JSON replicas of K (404 when absent or incomplete)
//   GET /get_all_keys         one complete key per line
//   GET /get_all_segments     JSON list of mounted segments with usage
// With a cluster secret, the last three need a session credential (common/auth/session_auth.h).
// Reads go through MasterService's thread-safe accessors. stop() joins the server thread.
#pragma once

#include <memory>
#include <string>

#include "common/auth/secret.h"
#include "common/net/tls.h"
#include "mooncake/common/status.h"

namespace mooncake::store {

class MasterService;

class AdminHttpServer {
 public:
  // With a secret, everything but /metrics, /health and /role requires a session credential
  // (401 with a challenge otherwise).
  AdminHttpServer(MasterService& service, auth::SecretRef secret,
                  std::shared_ptr<net::TlsContext> tls = nullptr);
  ~AdminHttpServer();
  AdminHttpServer(const AdminHttpServer&) = delete;
  AdminHttpServer& operator=(const AdminHttpServer&) = delete;

  // Errors: ERR_SOCKET "bind address already in use: host:port".
  Status start(const std::string& host, uint16_t port);
  void stop();
  uint16_t port() const;

 private:
  struct State;
  std::unique_ptr<State> state_;
};

// The /metrics body (exposed for tests and for logging).
std::string renderPrometheusMetrics(MasterService& service);

}  // namespace mooncake::store
