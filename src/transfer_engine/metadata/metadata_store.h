// Key-value access to a metadata service (HTTP metadata server, etcd, Redis). The segment and
// rpc_meta records of every node live there; TransferMetadata decides what to store.
//
// Implementations are thread-safe.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/auth/secret.h"
#include "mooncake/common/status.h"
#include "mooncake/transfer_engine/transfer_engine_options.h"

namespace mooncake::te {

class MetadataStore {
 public:
  virtual ~MetadataStore() = default;
  // nullopt when the key is absent. Errors: ERR_METADATA naming the backend endpoint.
  virtual Result<std::optional<std::string>> get(const std::string& key) = 0;
  virtual Status put(const std::string& key, const std::string& value) = 0;
  // Removing an absent key is not an error.
  virtual Status remove(const std::string& key) = 0;
  // Every key starting with `prefix` (mooncake_doctor's stale-record check). Errors:
  // ERR_METADATA, also for an HTTP metadata server that cannot list (upstream's cannot).
  virtual Result<std::vector<std::string>> listKeys(const std::string& prefix) = 0;
  // "etcd 127.0.0.1:2379", for messages.
  virtual std::string describe() const = 0;
};

enum class MetadataBackend { kP2PHandshake, kHttp, kEtcd, kRedis };

struct MetadataConnection {
  MetadataBackend backend = MetadataBackend::kP2PHandshake;
  std::string url;                     // http: the full URL
  std::vector<std::string> endpoints;  // etcd / redis: "host:port" each
};

// Classifies a metadata_server string: "P2PHANDSHAKE", "http(s)://...", "etcd://h:p[,h:p]",
// "redis://h:p" or bare "h:p[,h:p]" (etcd). Errors: ERR_INVALID_ARGUMENT saying which forms
// are accepted.
Result<MetadataConnection> parseMetadataConnection(const std::string& text);

// Connects to the backend (nothing to connect for P2PHANDSHAKE, which yields nullptr).
// `secret` authenticates requests to an HTTP metadata server (etcd and Redis have their own).
Result<std::unique_ptr<MetadataStore>> createMetadataStore(const MetadataConnection& connection,
                                                           const TransferEngineOptions& options,
                                                           const auth::SecretRef& secret = {});

}  // namespace mooncake::te
