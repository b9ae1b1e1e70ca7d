// MetadataStore on etcd v3 through its JSON gateway (POST /v3/kv/put|range|deleterange,
// /v3/lease/grant|keepalive|revoke), with failover across the given endpoints.
//
// Every key this node writes is attached to one lease that a background thread keeps alive, so
// a crashed node's records vanish after the lease TTL instead of lingering forever. If the lease
// is lost (process paused longer than the TTL, etcd restarted), a new one is granted and every
// key this node owns is written again.
//
// Thread-safe. Shutdown: the destructor stops the keep-alive thread, then revokes the lease.
#pragma once

#include <condition_variable>
#include <map>
#include <mutex>
#include <thread>
#include <vector>

#include "common/etcd/etcd_gateway.h"
#include "transfer_engine/metadata/metadata_store.h"

namespace mooncake::te {

class EtcdMetadataStore : public MetadataStore {
 public:
  // Grants the lease on the first reachable endpoint. Errors: ERR_METADATA starting
  // "Error from etcd client" and naming every endpoint tried.
  static Result<std::unique_ptr<EtcdMetadataStore>> connect(std::vector<std::string> endpoints,
                                                            int64_t lease_ttl_sec);
  ~EtcdMetadataStore() override;

  Result<std::optional<std::string>> get(const std::string& key) override;
  Status put(const std::string& key, const std::string& value) override;
  Status remove(const std::string& key) override;
  Result<std::vector<std::string>> listKeys(const std::string& prefix) override;
  std::string describe() const override;

  // The lease id; exposed for tests that check keys disappear with it.
  int64_t leaseIdForTest();

 private:
  EtcdMetadataStore(std::vector<std::string> endpoints, int64_t lease_ttl_sec);
  // The two helpers below require mutex_ held.
  Status grantLease();
  Status putWithLease(const std::string& key, const std::string& value);
  void keepAliveLoop();

  const int64_t lease_ttl_sec_;
  etcd::EtcdGateway gateway_;
  std::mutex mutex_;
  int64_t lease_id_ = 0;                      // GUARDED_BY(mutex_)
  std::map<std::string, std::string> owned_;  // keys this node wrote; GUARDED_BY(mutex_)
  bool stopping_ = false;                     // GUARDED_BY(mutex_)
  std::condition_variable stop_cv_;
  std::thread keep_alive_thread_;
};

}  // namespace mooncake::te
