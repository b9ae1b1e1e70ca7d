// etcd v3 through its JSON gateway (POST /v3/kv/*, /v3/lease/*), with failover across endpoints:
// the Transfer Engine's etcd metadata store and the Store master's leader election use it.
//
// Thread-safe: concurrent calls run on separate connections (kept in a small pool for reuse); no
// lock is held while a request is on the wire. Errors are ERR_METADATA starting "Error from etcd
// client" and naming the endpoints tried.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "common/net/http_client.h"
#include "mooncake/common/status.h"

namespace mooncake::etcd {

struct KeyValue {
  std::string value;
  int64_t create_revision = 0;
  int64_t mod_revision = 0;
  int64_t lease = 0;
};

class EtcdGateway {
 public:
  explicit EtcdGateway(std::vector<std::string> endpoints);

  Result<int64_t> grantLease(int64_t ttl_sec);
  // The lease's remaining TTL in seconds; 0 when it expired (or never existed).
  Result<int64_t> keepAlive(int64_t lease_id);
  Status revokeLease(int64_t lease_id);

  Result<std::optional<KeyValue>> get(const std::string& key);
  // Every key that starts with `prefix` (keys only), in key order.
  Result<std::vector<std::string>> listKeys(const std::string& prefix);
  // lease_id 0: no lease.
  Status put(const std::string& key, const std::string& value, int64_t lease_id);
  Status remove(const std::string& key);
  // Atomically creates `key` unless it exists. True when this call created it.
  Result<bool> createIfAbsent(const std::string& key, const std::string& value, int64_t lease_id);

  // Puts key=value only while `guard_key`'s mod revision is `guard_revision` (one transaction;
  // e.g. only while the caller still holds the key it won an election with). False: it was not.
  Result<bool> putIfUnchanged(const std::string& key, const std::string& value,
                              const std::string& guard_key, int64_t guard_revision);
  std::string describe() const;

 private:
  // Puts key=value in a transaction whose one comparison is `compare_key`'s revision of
  // `target` (CREATE or MOD) equal to `expected`; true when it held.
  Result<bool> putIf(const std::string& compare_key, const char* target,
                     const std::string& expected, const std::string& key, const std::string& value,
                     int64_t lease_id);
  // POSTs to the first endpoint that answers, starting at the last good one.
  Result<std::string> call(const std::string& path, const std::string& body);

  std::unique_ptr<net::HttpClient> takeClient();
  void returnClient(std::unique_ptr<net::HttpClient> client);

  const std::vector<std::string> endpoints_;
  std::atomic<size_t> current_endpoint_{0};  // the last endpoint that answered
  std::mutex pool_mutex_;
  std::vector<std::unique_ptr<net::HttpClient>> idle_clients_;  // GUARDED_BY(pool_mutex_)
};

// "h1:2379;h2:2379" or "h1:2379,h2:2379" -> endpoints (empty parts dropped).
std::vector<std::string> splitEndpoints(const std::string& text);

}  // namespace mooncake::etcd
