// Typed access to mooncake_master over gRPC: every call returns a Status/Result carrying the
// master's StoreErrorCode, or RPC_FAIL / RPC_TIMEOUT (with the address) when the master could not
// be reached. With an "etcd://h1:2379;h2:2379" address the client finds the HA leader in etcd
// (cluster $MC_STORE_CLUSTER_ID, default mooncake_cluster) and follows it when it changes: a call
// that cannot reach the master looks the leader up again and is retried once on the new one.
// Thread-safe.
#pragma once

#include <atomic>
#include <chrono>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "common/auth/session_auth.h"
#include "common/etcd/etcd_gateway.h"
#include "mooncake/common/status.h"
#include "mooncake/store/replicate_config.h"
#include "store/master/master_service.h"

namespace mooncake::store {

namespace proto {
class Master;
}
class FastRpcChannel;
template <typename StubMethod>
struct Rpc;

// Which two-phase write a put-family call runs: a plain put (an existing key stays as it is)
// or an upsert (insert-or-update).
enum class WriteKind { kPut, kUpsert };

class MasterClient {
 public:
  // With a secret, calls prove it: a session credential on gRPC, a handshake per fast RPC
  // connection.
  MasterClient(const std::string& address, std::chrono::milliseconds timeout,
               auth::SecretRef secret = {});
  ~MasterClient();

  Result<ClientStatus> ping(const std::string& client_id);
  // For mooncake_doctor: the address of the master's fast RPC listener ("" when it has none),
  // after a ping over it answered. Errors name that address (a firewall that only opens
  // --port makes every client fall back to gRPC).
  Result<std::string> probeFastRpc(const std::string& client_id);
  Result<SegmentId> mountSegment(const std::string& client_id, const SegmentInfo& segment);
  Result<std::vector<SegmentId>> remountSegments(const std::string& client_id,
                                                 const std::vector<SegmentInfo>& segments);
  Status unmountSegment(const std::string& client_id, SegmentId segment);
  // Reserved space (MasterService::reserve); `release` gives back reservations first.
  Result<ReservedSpace> reserve(const std::string& client_id, uint64_t size,
                                const ReplicateConfig& config,
                                const std::vector<std::string>& avoid,
                                const std::vector<uint64_t>& release);
  // Commits `key` onto a reservation; with `reserve_next`, the answer may carry the next
  // reservation of the same shape (nullopt when none could be placed).
  Result<std::optional<ReservedSpace>> commitReserved(const std::string& client_id,
                                                      const std::string& key,
                                                      uint64_t reservation_id, bool reserve_next,
                                                      const std::vector<std::string>& avoid = {});
  Status releaseReserved(const std::string& client_id, const std::vector<uint64_t>& ids);
  // Commits keys[i] onto reservation_ids[i] (a status per key), then reserves space of each
  // `reserve` shape (a reservation or the reason per shape); `release` is given back first.
  struct ReserveShape {
    uint64_t size = 0;
    ReplicateConfig config;
  };
  struct BatchCommitOutcome {
    std::vector<Status> commits;
    std::vector<Result<ReservedSpace>> reserved;
  };
  Result<BatchCommitOutcome> batchCommitReserved(const std::string& client_id,
                                                 const std::vector<std::string>& keys,
                                                 const std::vector<uint64_t>& reservation_ids,
                                                 const std::vector<ReserveShape>& reserve,
                                                 const std::vector<std::string>& avoid,
                                                 const std::vector<uint64_t>& release);
  // Changes whenever the client may be talking to another master (a leader change, or a call
  // that could not reach the master): space reserved before belongs to no one it knows.
  uint64_t epoch() const { return epoch_.load(std::memory_order_acquire); }

  Result<std::vector<ReplicaDescriptor>> putStart(const std::string& client_id,
                                                  const std::string& key, uint64_t size,
                                                  const ReplicateConfig& config,
                                                  WriteKind kind = WriteKind::kPut,
                                                  const std::vector<std::string>& avoid = {});
  // Batch forms answer per key, in request order.
  Result<std::vector<Result<std::vector<ReplicaDescriptor>>>> batchPutStart(
      const std::string& client_id, const std::vector<std::string>& keys,
      const std::vector<uint64_t>& sizes, const ReplicateConfig& config,
      WriteKind kind = WriteKind::kPut, const std::vector<std::string>& avoid = {});
  Result<std::vector<Status>> batchPutEnd(const std::string& client_id,
                                          const std::vector<std::string>& keys,
                                          WriteKind kind = WriteKind::kPut);
  Result<std::vector<Status>> batchPutRevoke(const std::string& client_id,
                                             const std::vector<std::string>& keys,
                                             WriteKind kind = WriteKind::kPut);
  Result<std::vector<Result<ReplicaList>>> batchGetReplicaList(
      const std::vector<std::string>& keys);
  Result<std::vector<bool>> batchExistKey(const std::vector<std::string>& keys);
  Status putEnd(const std::string& client_id, const std::string& key,
                WriteKind kind = WriteKind::kPut,
                const std::vector<std::string>& failed_endpoints = {});
  Status putRevoke(const std::string& client_id, const std::string& key,
                   WriteKind kind = WriteKind::kPut);
  Result<ReplicaList> getReplicaList(const std::string& key);
  Result<bool> existKey(const std::string& key);
  Status remove(const std::string& key, bool force);
  Result<std::vector<Status>> batchRemove(const std::vector<std::string>& keys, bool force);
  Result<uint64_t> removeAll(bool force);
  // Tells the master these holders did not answer (MasterService::reportUnreachable).
  Status reportUnreachable(const std::string& client_id, const std::vector<std::string>& endpoints);
  // The keys cleared (see MasterService::batchReplicaClear).
  Result<std::vector<std::string>> batchReplicaClear(const std::string& client_id,
                                                     const std::vector<std::string>& keys,
                                                     const std::string& segment_name);
  Result<uint64_t> removeByRegex(const std::string& pattern, bool force);

  // The disk tier (MasterService's calls of the same meaning). mountDiskTier answers whether
  // the holder evicts its oldest objects when its disk is full (--enable_disk_eviction).
  Result<bool> mountDiskTier(const std::string& client_id, const DiskTierInfo& info);
  Result<OffloadWork> offloadHeartbeat(const std::string& client_id, const DiskUsage& usage,
                                       uint32_t max_tasks);
  Result<std::vector<Status>> offloadDone(const std::string& client_id,
                                          const std::vector<DiskObjectRef>& written,
                                          const std::vector<DiskObjectRef>& failed);
  Result<std::vector<Status>> registerDiskObjects(const std::string& client_id,
                                                  const std::vector<DiskObjectRef>& objects);
  Status evictDiskReplicas(const std::string& client_id, const std::vector<DiskObjectRef>& objects);
  Status promotionDone(const std::string& client_id, const std::string& key, uint64_t version,
                       bool ok);

 private:
  class Stub;
  // One call with the deadline, over the fast RPC listener when the master has one, else gRPC;
  // maps transport failures to RPC_FAIL / RPC_TIMEOUT. Defined (and only instantiated) in the
  // .cc, which knows the message types.
  template <typename StubMethod, typename Request, typename Response>
  Status call(const Rpc<StubMethod>& rpc, const Request& request, Response* response);
  template <typename StubMethod, typename Request, typename Response>
  Status callOnce(const Rpc<StubMethod>& rpc, const Request& request, Response* response);
  template <typename Method, typename Request, typename Response>
  Status callGrpc(Method method, const Request& request, Response* response);
  // The fast RPC channel to the current master, looked up through gRPC (nullptr: use gRPC).
  std::shared_ptr<FastRpcChannel> fastChannel();

  // HA: reads the leader from etcd and connects to it when it differs from `failed_address`.
  Status refreshLeader(const std::string& failed_address);

  const std::string address_;  // as configured: host:port, or etcd://h1:2379;h2:2379 for HA
  const std::chrono::milliseconds timeout_;
  const auth::SecretRef secret_;
  auth::SessionCredential credential_;       // gRPC
  std::string tls_roots_;                    // MC_TLS_CA_FILE's certificates; empty: plain gRPC
  Status tls_error_;                         // MC_TLS_CA_FILE could not be read
  std::unique_ptr<etcd::EtcdGateway> etcd_;  // HA only
  std::string cluster_id_;                   // HA only
  std::mutex mutex_;
  std::string leader_address_;            // where stub_ points; GUARDED_BY(mutex_)
  std::shared_ptr<Stub> stub_;            // GUARDED_BY(mutex_)
  const bool fast_rpc_wanted_;            // MC_STORE_MASTER_FAST_RPC (default on)
  std::shared_ptr<FastRpcChannel> fast_;  // GUARDED_BY(mutex_)
  std::chrono::steady_clock::time_point next_fast_lookup_;  // GUARDED_BY(mutex_)
  // When stub_ was last replaced after the master could not be reached (see callGrpc).
  std::chrono::steady_clock::time_point stub_renewed_;  // GUARDED_BY(mutex_)
  std::atomic<uint64_t> epoch_{0};
};

}  // namespace mooncake::store
