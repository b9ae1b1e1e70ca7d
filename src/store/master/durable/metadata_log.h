// The master's metadata log: records appended to memory-mapped chunk files in a directory, and
// snapshots that make older chunks unnecessary (docs/STORE.md "Durable metadata").
//
// An append is a copy into a shared file mapping, so it is in the kernel's page cache when the
// call returns: a killed master (kill -9, a crash) loses nothing. A background thread makes the
// next chunk of each stream ahead of time and flushes full chunks to disk (and a chunk being
// written once it is a second old; Redis's "appendfsync everysec"), so a machine that loses
// power loses about the last second. Records go to one of several streams (each a sequence of
// chunk files with its own lock), one per writing thread as far as they go, so threads writing
// at once share no lock and no cache line; replay keeps per entity the record with the highest
// sequence number (durable/recovered_state.h), so the order across streams does not matter.
//
// Thread-safe.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "mooncake/common/status.h"
#include "store/master/durable/recovered_state.h"

namespace mooncake::store::durable {

struct MetadataLogOptions {
  std::string dir;
  size_t streams = 8;
  uint64_t chunk_bytes = 4 << 20;
  std::chrono::milliseconds sync_interval{1000};
};

struct RecoveryStats {
  uint64_t snapshot_records = 0;
  uint64_t log_records = 0;
  uint64_t log_bytes = 0;
  uint64_t malformed = 0;
  uint64_t torn_tails = 0;  // chunks whose last record was cut short (a crash mid-append)
  double seconds = 0;
};

// Receives every record appended to a log, inside append (so under the writer's entity lock:
// records of one entity reach it in change order). The HA leader's replication (ha/).
class RecordTap {
 public:
  virtual ~RecordTap() = default;
  virtual void publish(RecordType type, uint64_t lsn, std::string_view payload) = 0;
};

// Appends one frame (the log's format: length, type, lsn, CRC-32C, payload) to `out`.
void appendFrame(std::string& out, RecordType type, uint64_t lsn, std::string_view payload);
// Applies every whole frame of `data` to `state` (snapshot headers are skipped). Returns the
// bytes consumed; less than data.size() when the rest is not a whole valid frame.
size_t applyFrames(std::string_view data, RecoveredState& state);

// Frames buffered for a snapshot file (MetadataLog::snapshot).
class SnapshotSink {
 public:
  void add(RecordType type, uint64_t lsn, std::string_view payload);
  std::string& buffer() { return buffer_; }

 private:
  std::string buffer_;
};

class MetadataLog {
 public:
  // Locks `dir` (created if missing) and reads its snapshot and log into `state`.
  // Errors: ERR_INVALID_ARGUMENT (the directory cannot be created or written, or another
  // master holds it), ERR_INVALID_ARGUMENT for a damaged snapshot (named; nothing is deleted).
  static Result<std::unique_ptr<MetadataLog>> open(const MetadataLogOptions& options,
                                                   RecoveredState& state, RecoveryStats& stats);
  // A log without a directory: records only go to `tap` (an HA leader without
  // --metadata_dir). `run` numbers its records as open() would (above every recovered one).
  static std::unique_ptr<MetadataLog> inMemory(uint64_t run, RecordTap* tap);
  ~MetadataLog();
  MetadataLog(const MetadataLog&) = delete;
  MetadataLog& operator=(const MetadataLog&) = delete;

  // Appends one record with sequence number `lsn` (see lsnOf) and returns it. Never fails:
  // when a chunk cannot be created (disk full), the log is marked failed, the record is
  // counted as lost and the next snapshot repairs the log (see failed()).
  uint64_t append(RecordType type, uint64_t lsn, std::string_view payload);
  // Sequence numbers are (run << 40 | count): each start of the master on the directory is a
  // new run, above every recovered record. Within a run the writer counts per entity under the
  // entity's lock (a shard's objects, the reservations, ...), so records of one entity are in
  // change order while appends share no counter; replay compares numbers of one entity only.
  uint64_t lsnOf(uint64_t count) const { return (run_ << 40) | count; }

  // Writes a snapshot: rotates every stream to a new chunk, lets `dump` add every entity (each
  // stamped with the lsnOf its counter's next value, read under the entity's lock, and flushed
  // through `write` in pieces), then replaces the old snapshot and deletes the chunks it covers.
  using Dump = std::function<Status(const std::function<Status(SnapshotSink&)>& write)>;
  Status snapshot(const Dump& dump);
  // True when a snapshot is due: the log has grown past max(128 MiB, 4 x the last snapshot) or
  // `interval` has passed with records in the log, or the log failed.
  bool snapshotDue(std::chrono::seconds interval) const;

  // Every record appended from now on also goes to `tap` (set before serving; null: none).
  void setTap(RecordTap* tap) { tap_ = tap; }

  bool failed() const { return failed_.load(std::memory_order_relaxed); }
  uint64_t lostRecords() const { return lost_records_.load(std::memory_order_relaxed); }
  uint64_t logBytes() const;
  uint64_t snapshotBytes() const { return snapshot_bytes_.load(std::memory_order_relaxed); }
  uint64_t snapshots() const { return snapshots_.load(std::memory_order_relaxed); }
  const std::string& dir() const { return options_.dir; }

 private:
  struct Chunk;
  struct Stream {
    std::mutex mutex;
    std::shared_ptr<Chunk> current;               // GUARDED_BY(mutex); null until the first append
    std::vector<std::shared_ptr<Chunk>> retired;  // full chunks not yet flushed; GUARDED_BY(mutex)
    uint64_t next_seq = 0;                        // GUARDED_BY(mutex)
    // The next chunk, made ahead by the background thread (creating and pre-faulting a chunk
    // takes milliseconds). GUARDED_BY(mutex)
    std::shared_ptr<Chunk> spare;
    uint64_t preparing_seq = 0;  // a spare's seq being made now (0: none); GUARDED_BY(mutex)
    // Written under mutex; read without it (relaxed) by logBytes.
    std::atomic<uint64_t> bytes{0};  // appended since the last snapshot
  };

  explicit MetadataLog(const MetadataLogOptions& options);
  Status readAll(RecoveredState& state, RecoveryStats& stats);
  // Requires stream.mutex. Makes room for `bytes`; false when the log has failed.
  bool ensureRoom(size_t index, Stream& stream, size_t bytes);
  Result<std::shared_ptr<Chunk>> createChunk(size_t index, uint64_t seq, size_t size) const;
  // Gives every stream a spare chunk (the background thread, when asked and every second).
  void prepareSpares();
  std::string chunkPath(size_t stream, uint64_t seq) const;
  void syncLoop();
  void syncOnce();

  const MetadataLogOptions options_;
  RecordTap* tap_ = nullptr;
  int lock_fd_ = -1;
  std::vector<std::unique_ptr<Stream>> streams_;
  uint64_t run_ = 1;                    // set by open(), then constant
  std::atomic<size_t> next_stream_{0};  // hands streams to writing threads
  std::atomic<bool> failed_{false};
  std::atomic<uint64_t> lost_records_{0};
  std::atomic<uint64_t> recovered_log_bytes_{0};  // read at start, until the first snapshot
  std::atomic<uint64_t> snapshot_bytes_{0};
  std::atomic<uint64_t> snapshots_{0};
  std::atomic<int64_t> last_snapshot_ms_{0};  // steady clock
  std::mutex snapshot_mutex_;                 // one snapshot at a time
  std::mutex sync_mutex_;
  std::condition_variable sync_cv_;
  bool stopping_ = false;      // GUARDED_BY(sync_mutex_)
  bool spares_wanted_ = true;  // GUARDED_BY(sync_mutex_)
  std::thread sync_thread_;
};

}  // namespace mooncake::store::durable
