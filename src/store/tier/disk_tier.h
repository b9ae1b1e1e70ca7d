// A store client's disk tier (docs/STORE.md "Disk tier"): the DiskStore under its directory, the
// service that stages disk objects for readers, and a worker that polls the master for offloads
// (values in this client's segment to write to disk), copies to drop and promotions, and tells
// the master what landed.
//
// Start-up: the directory is indexed (DiskStore), then the tier mounts at the master and
// registers every object on its disk; objects the master now knows under another version are
// deleted. The same happens after each remount (a restarted master forgets disk replicas).
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "common/auth/secret.h"
#include "mooncake/common/status.h"
#include "store/master/master_service.h"
#include "store/master/segment_allocator.h"
#include "store/tier/disk_service.h"
#include "store/tier/disk_store.h"

namespace mooncake {
class TransferEngine;
}

namespace mooncake::store::tier {

// Environment (upstream's names): MOONCAKE_OFFLOAD_FILE_STORAGE_PATH,
// MOONCAKE_OFFLOAD_TOTAL_SIZE_LIMIT_BYTES, MOONCAKE_OFFLOAD_BUCKET_SIZE_LIMIT,
// MOONCAKE_OFFLOAD_LOCAL_BUFFER_SIZE_BYTES, MOONCAKE_OFFLOAD_HEARTBEAT_INTERVAL_SECONDS.
struct DiskTierOptions {
  std::string path;
  uint64_t capacity = 0;  // 0: 90% of the file system's free space
  uint64_t bucket_size = 64ull << 20;
  uint64_t staging_size = 64ull << 20;  // registered memory readers' stagings live in
  std::chrono::milliseconds heartbeat_interval{100};
  uint32_t max_tasks = 256;                // offloads asked for per poll
  uint64_t max_batch_bytes = 64ull << 20;  // offloads written per group commit

  // The defaults, overridden by the environment; `path` set from the argument when non-empty.
  static Result<DiskTierOptions> fromEnvironment(const std::string& path);
};

// What the tier needs from its client: the master's disk tier calls and Transfer Engine writes.
class DiskTierHost {
 public:
  virtual ~DiskTierHost() = default;
  virtual Result<bool> mountDiskTier(const DiskTierInfo& info) = 0;
  virtual Result<OffloadWork> offloadHeartbeat(const DiskUsage& usage, uint32_t max_tasks) = 0;
  virtual Result<std::vector<Status>> offloadDone(const std::vector<DiskObjectRef>& written,
                                                  const std::vector<DiskObjectRef>& failed) = 0;
  virtual Result<std::vector<Status>> registerDiskObjects(
      const std::vector<DiskObjectRef>& objects) = 0;
  virtual Status evictDiskReplicas(const std::vector<DiskObjectRef>& objects) = 0;
  virtual Status promotionDone(const std::string& key, uint64_t version, bool ok) = 0;
  // Writes local bytes to a replica with the Transfer Engine.
  virtual Status writeTo(const char* data, uint64_t size, const ReplicaDescriptor& target) = 0;
};

// Tallies beyond the DiskStore's, for metrics.
struct DiskTierStats {
  DiskStats disk;
  uint64_t offloaded = 0;         // objects written and accepted by the master
  uint64_t offload_rejected = 0;  // written, but the object had changed (deleted again)
  uint64_t offload_failed = 0;    // could not be written
  uint64_t promoted = 0;
  uint64_t staged_reads = 0;  // objects staged for readers
  uint64_t staging_full = 0;  // stage requests turned away for lack of staging memory
  uint64_t registered = 0;    // objects registered at the master after a (re)mount
  bool accepting = true;
};

class DiskTier final : public DiskStager {
 public:
  // `segment`: this client's mounted memory; offload sources outside it are refused.
  DiskTier(DiskTierOptions options, DiskTierHost& host, TransferEngine& engine,
           uint64_t segment_base, uint64_t segment_size, auth::SecretRef secret);
  ~DiskTier() override;
  DiskTier(const DiskTier&) = delete;
  DiskTier& operator=(const DiskTier&) = delete;

  // Errors name the path (FILE_OPEN_FAIL, FILE_LOCK_FAIL) or the master's refusal.
  Status start();
  // After the client remounted: mounts and registers the disk's objects again.
  Status remount();
  void stop();
  const std::string& endpoint() const { return endpoint_; }
  DiskTierStats stats() const;
  // Prometheus lines (mooncake_disk_tier_*) for the node daemon's /metrics.
  void renderMetrics(std::string& out) const;

  StageReply stage(const std::vector<StageItem>& items) override;
  void release(uint64_t stage_id) override;

 private:
  struct Staged {
    std::vector<SegmentAllocator::Allocation> allocations;
    std::chrono::steady_clock::time_point expires;
  };
  Status mountAndRegister();
  void run();
  // One poll; true when there may be more work right away.
  bool pollOnce();
  void offload(const std::vector<OffloadTask>& tasks);
  void promote(const PromotionTask& task);
  void releaseExpired();
  // Tells the master about finished offloads (kept for the next poll when it cannot be reached).
  void report();
  void reportGone(std::vector<DiskObjectRef> objects);

  const DiskTierOptions options_;
  DiskTierHost& host_;
  TransferEngine& engine_;
  const uint64_t segment_base_;
  const uint64_t segment_size_;
  const auth::SecretRef secret_;
  std::unique_ptr<DiskStore> store_;
  char* staging_ = nullptr;
  bool staging_registered_ = false;
  std::unique_ptr<DiskService> service_;
  std::string endpoint_;
  std::mutex staging_mutex_;
  std::unique_ptr<SegmentAllocator> allocator_;  // GUARDED_BY(staging_mutex_)
  std::map<uint64_t, Staged> staged_;            // GUARDED_BY(staging_mutex_)
  uint64_t next_stage_id_ = 1;                   // GUARDED_BY(staging_mutex_)
  std::mutex gone_mutex_;
  std::vector<DiskObjectRef> gone_;  // damaged copies to report; GUARDED_BY(gone_mutex_)
  std::chrono::steady_clock::time_point paused_until_;  // worker thread only
  std::vector<DiskObjectRef> unreported_written_;       // worker thread only
  std::vector<DiskObjectRef> unreported_failed_;        // worker thread only
  std::atomic<bool> accepting_{true};
  std::atomic<bool> need_remount_{false};
  std::atomic<uint64_t> offloaded_{0}, offload_rejected_{0}, offload_failed_{0}, promoted_{0},
      staged_reads_{0}, staging_full_{0}, registered_{0};
  std::mutex mutex_;
  std::condition_variable cv_;
  bool stopping_ = false;  // GUARDED_BY(mutex_)
  std::thread worker_;
};

}  // namespace mooncake::store::tier
