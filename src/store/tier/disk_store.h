// The disk tier's storage on one client: objects in bucket files under one directory, an
// in-memory index rebuilt at start (docs/STORE.md "Disk tier").
//
// - Writes are group commits: a batch of values becomes one write per bucket it lands in and one
//   fdatasync each, and the values count as stored (indexed, readable, reportable to the master)
//   only after that returned. That is the durability point: what write() acknowledged survives a
//   crash or power loss; a batch cut short by one is absent after the restart, never torn.
// - Every record carries CRC-32C checksums of its header and of its value. A read that finds
//   different bytes than were written answers CHECKSUM_MISMATCH, drops the object and counts it;
//   wrong bytes are never returned.
// - Space: at most `capacity` bytes of bucket files. When a new bucket does not fit (or the file
//   system is full), the oldest bucket goes with its objects when `evict_when_full`; otherwise
//   writes fail with FILE_WRITE_FAIL until objects are removed.
// - Removal writes a tombstone, so a removed object stays removed after a restart. The oldest
//   buckets are deleted once nothing in them is live (space inside a bucket that still holds a
//   live object is reclaimed when that bucket is evicted or emptied).
// - One process per directory (an flock on LOCK): a second one fails with FILE_LOCK_FAIL.
//
// Thread-safe. Writes are serialized; reads run in parallel with each other and with writes.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <unordered_map>
#include <vector>

#include "common/metrics/latency_histogram.h"
#include "common/net/unique_fd.h"
#include "mooncake/common/status.h"
#include "store/tier/disk_io.h"
#include "store/tier/disk_record.h"

namespace mooncake::store::tier {

struct DiskStoreOptions {
  std::string path;
  uint64_t capacity = 0;  // bytes of bucket files (0: 90% of the file system's free space)
  uint64_t bucket_size = 64ull << 20;  // larger values get a bucket of their own
  bool evict_when_full = true;         // --enable_disk_eviction
};

struct DiskObject {
  std::string key;
  uint64_t version = 0;
  uint64_t size = 0;
};

struct DiskWrite {
  std::string key;
  uint64_t version = 0;
  const char* data = nullptr;
  uint64_t size = 0;
};

struct DiskStats {
  uint64_t objects = 0;
  uint64_t bytes = 0;       // value bytes of the indexed objects
  uint64_t file_bytes = 0;  // bucket files (what counts against the capacity)
  uint64_t capacity = 0;
  uint64_t written_objects = 0;
  uint64_t written_bytes = 0;
  uint64_t write_failures = 0;
  uint64_t read_objects = 0;
  uint64_t read_bytes = 0;
  uint64_t checksum_failures = 0;  // records whose bytes were not what was written (dropped)
  uint64_t evicted_objects = 0;
  uint64_t evicted_bytes = 0;
  uint64_t recovered_objects = 0;  // indexed at start
  uint64_t reclaimed_buckets = 0;  // oldest buckets deleted once nothing in them was live
  bool direct_io = false;          // O_DIRECT (false: the file system refused it; page cache)
};

class DiskStore {
 public:
  struct Bucket;
  // A located record: what read() needs, and the record's span for sizing the destination.
  struct Location {
    std::shared_ptr<Bucket> bucket;
    RecordInfo record;
  };

  // Opens (creating) the directory and indexes what is in it. Errors name the path:
  // FILE_OPEN_FAIL (missing parent, not writable, not a directory), FILE_LOCK_FAIL (in use).
  static Result<std::unique_ptr<DiskStore>> open(DiskStoreOptions options);
  ~DiskStore();
  DiskStore(const DiskStore&) = delete;
  DiskStore& operator=(const DiskStore&) = delete;

  // Stores the values durably (see the header comment); per item OK or FILE_WRITE_FAIL /
  // INVALID_PARAMS. Objects dropped to make room are appended to `evicted`.
  std::vector<Status> write(std::span<const DiskWrite> items, std::vector<DiskObject>& evicted);
  // version 0: whatever version is stored. OBJECT_NOT_FOUND when absent.
  Result<Location> locate(const std::string& key, uint64_t version = 0) const;
  // Reads each located record into its destination (4 KiB aligned, at least record.span()
  // bytes); the value is then at dest + record.valueOffset(). CHECKSUM_MISMATCH: dropped.
  std::vector<Status> read(std::span<const Location> where, std::span<char* const> dests);
  // Forgets the key (only that version; 0: any); false when it was not there. The tombstone
  // is written with the next write() or flush().
  bool remove(const std::string& key, uint64_t version = 0);
  Status flush();
  std::vector<DiskObject> objects() const;
  DiskStats stats() const;
  const std::string& path() const { return options_.path; }
  // The master decides (--enable_disk_eviction); starts as options.evict_when_full.
  void setEvictWhenFull(bool evict) { evict_when_full_ = evict; }
  // Time per group commit (write and fdatasync) and per batched read.
  const LatencyHistogram& writeLatency() const { return write_latency_; }
  const LatencyHistogram& readLatency() const { return read_latency_; }

 private:
  explicit DiskStore(DiskStoreOptions options)
      : options_(std::move(options)), evict_when_full_(options_.evict_when_full) {}
  Status load();
  Status loadBucket(uint32_t id);
  void apply(const std::shared_ptr<Bucket>& bucket, const RecordInfo& record);
  // Requires write_mutex_. A bucket with room for `span` more bytes, evicting to make one.
  Result<std::shared_ptr<Bucket>> bucketFor(uint64_t span, std::vector<DiskObject>& evicted);
  Result<std::shared_ptr<Bucket>> createBucket(uint64_t size, std::vector<DiskObject>& evicted);
  // Requires write_mutex_. Writes the index file of the full bucket.
  void seal(Bucket& bucket);
  // Requires write_mutex_. Deletes the oldest buckets while nothing in them is live.
  void reclaimDeadBuckets();
  // Requires write_mutex_. Drops the oldest bucket that is not `keep`; false when none.
  bool evictOldest(const Bucket* keep, std::vector<DiskObject>& evicted);
  std::string bucketPath(uint32_t id, const char* suffix) const;
  void dropEntry(const std::string& key, uint64_t version);

  const DiskStoreOptions options_;
  net::UniqueFd lock_fd_;
  net::UniqueFd dir_fd_;
  std::atomic<bool> direct_{true};
  std::atomic<bool> evict_when_full_{true};
  std::mutex write_mutex_;                        // appends, bucket creation, sealing, eviction
  std::vector<std::shared_ptr<Bucket>> buckets_;  // oldest first; GUARDED_BY(write_mutex_)
  uint32_t next_bucket_id_ = 1;                   // GUARDED_BY(write_mutex_)
  uint64_t next_seq_ = 1;                         // GUARDED_BY(write_mutex_)
  AlignedBuffer write_buffer_;                    // GUARDED_BY(write_mutex_)
  std::vector<RecordInfo> pending_tombstones_;    // GUARDED_BY(mutex_)
  mutable std::mutex mutex_;                      // the index
  struct Entry {
    std::shared_ptr<Bucket> bucket;
    RecordInfo record;
  };
  std::unordered_map<std::string, Entry> index_;  // GUARDED_BY(mutex_)
  uint64_t indexed_bytes_ = 0;                    // GUARDED_BY(mutex_)
  std::atomic<uint64_t> file_bytes_{0};
  uint64_t capacity_ = 0;
  LatencyHistogram write_latency_;
  LatencyHistogram read_latency_;
  mutable std::mutex stats_mutex_;
  DiskStats counters_;  // the tallies; GUARDED_BY(stats_mutex_)
};

}  // namespace mooncake::store::tier
