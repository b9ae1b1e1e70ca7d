// The HA leader's side of replication (docs/STORE.md "HA"): every metadata record the master
// appends is streamed to the standbys that follow it, and a reply to a client waits until the
// in-sync standbys have applied the records its call made (semi-synchronous replication), so a
// standby promoted after the leader dies knows every change the leader ever answered.
//
// A standby joins with a dump of the whole state, then the live stream; once it has caught up,
// replies start waiting for it and the leader adds it to master_replicas in etcd. A standby
// that falls more than ack_timeout behind (or disconnects) is removed from master_replicas
// first, and only then no longer waited for: if etcd cannot be written, replies wait (and the
// leader, unable to renew its lease either, steps down).
//
// Thread-safe.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <list>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "common/auth/secret.h"
#include "common/net/unique_fd.h"
#include "store/master/durable/metadata_log.h"
#include "store/master/master_service.h"

namespace mooncake::store {

struct ReplicationHubOptions {
  std::string bind_address;  // the leader's --rpc_address
  uint16_t port = 0;         // 0: any free port (published in etcd)
  auth::SecretRef secret;
  int64_t term = 0;
  // A standby whose acknowledgements stay behind the stream this long is dropped.
  std::chrono::milliseconds ack_timeout{1000};
  // A standby this many bytes behind in sending is dropped (bounds the leader's buffer).
  uint64_t max_lag_bytes = 256ull << 20;
  // Records the standbys replies wait for (master_replicas); called on the hub's thread.
  std::function<Status(const std::vector<std::string>& standbys)> publish_in_sync;
};

class ReplicationHub final : public durable::RecordTap, public ReplicationGate {
 public:
  using Dump = durable::MetadataLog::Dump;

  explicit ReplicationHub(ReplicationHubOptions options);
  ~ReplicationHub() override;
  ReplicationHub(const ReplicationHub&) = delete;
  ReplicationHub& operator=(const ReplicationHub&) = delete;

  // Listens; `dump` adds the whole state for a joining standby (MasterService::dumpState).
  Status start(Dump dump);
  uint16_t port() const { return port_; }
  // Disconnects every standby; from now on awaitReplicated() returns false.
  void stop();

  void publish(durable::RecordType type, uint64_t lsn, std::string_view payload) override;
  bool awaitReplicated() override;

  size_t inSyncStandbys() const override { return in_sync_count_.load(std::memory_order_relaxed); }
  size_t connectedStandbys() const;

 private:
  struct Standby;
  void acceptLoop();
  void serve(net::UniqueFd fd);
  void sendLoop(const std::shared_ptr<Standby>& standby);
  // Sends the standby what it has not been sent (up to kMaxLiveMessage). Requires its
  // send_mutex, not mutex_. Sets *sent_any.
  Status flush(Standby& standby, bool* sent_any);
  void readAcks(const std::shared_ptr<Standby>& standby);
  void manage();
  // Requires mutex_.
  bool ackedLocked(uint64_t position) const;
  void recountLocked();  // registered_ and catching_up_
  uint64_t headLocked() const { return base_ + buffer_.size(); }

  const ReplicationHubOptions options_;
  const uint64_t id_;  // tells this hub's thread-local positions from an earlier term's
  Dump dump_;
  net::UniqueFd listen_fd_;
  uint16_t port_ = 0;
  std::thread acceptor_;
  std::thread manager_;

  mutable std::mutex mutex_;
  std::condition_variable data_cv_;  // senders: new records, or stopping
  std::condition_variable ack_cv_;   // awaitReplicated: acknowledgements, or stopping
  std::condition_variable manage_cv_;
  std::string buffer_;  // the stream from position base_ on; GUARDED_BY(mutex_)
  uint64_t base_ = 0;   // GUARDED_BY(mutex_)
  std::list<std::shared_ptr<Standby>> standbys_;  // GUARDED_BY(mutex_)
  std::vector<std::string> published_;            // in master_replicas; manager thread only
  bool stopping_ = false;                         // GUARDED_BY(mutex_)
  std::atomic<bool> stopped_{false};              // stopping_, read without the lock
  std::atomic<size_t> registered_{0};             // standbys_.size(), read without the lock
  // Standbys still dumping or catching up: only their sender threads need waking per record
  // (replies push the stream to the others themselves).
  std::atomic<size_t> catching_up_{0};
  std::atomic<size_t> in_sync_count_{0};
};

}  // namespace mooncake::store
