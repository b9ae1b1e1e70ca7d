// The Store client's internals, shared by its translation units: lifecycle and heartbeat
// (client.cc), transfers and staging (client_transfers.cc), the write paths (client_writes.cc)
// and the read paths (client_reads.cc).
#pragma once

#include <sys/mman.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <future>
#include <map>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <thread>
#include <vector>

#include "mooncake/store/client.h"
#include "mooncake/transfer_engine/transfer_engine.h"
#include "store/client/location_cache.h"
#include "store/client/master_client.h"
#include "store/client/reservation_pool.h"
#include "store/master/segment_allocator.h"
#include "store/tier/disk_service.h"
#include "store/tier/disk_tier.h"

namespace mooncake::store {

// Anonymous memory for the segment and the staging buffer; released with the client. Populated
// up front: a storage client's memory is real from the start, so the first put into each page
// does not pay a page fault (measured: 1 MiB puts into a fresh 4 GiB segment ran at 0.8x).
class Mapping {
 public:
  explicit Mapping(size_t length) : length_(length) {
    if (length == 0) return;
    void* p = ::mmap(nullptr, length, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) return;
    data_ = static_cast<char*>(p);
    // Huge pages where the kernel has them (THP in "madvise" mode needs the hint): the socket
    // copies of every transfer walk this memory, and 4 KiB pages cost them TLB misses.
    (void)::madvise(p, length, MADV_HUGEPAGE);
    if (::madvise(p, length, MADV_POPULATE_WRITE) != 0) {
      // Kernels before 5.14: touch every page instead.
      for (size_t offset = 0; offset < length; offset += 4096) data_[offset] = 0;
    }
  }
  ~Mapping() {
    if (data_ != nullptr) ::munmap(data_, length_);
  }
  Mapping(const Mapping&) = delete;
  Mapping& operator=(const Mapping&) = delete;
  char* data() const { return data_; }

 private:
  size_t length_;
  char* data_ = nullptr;
};

// The registered local buffer for the copying API. Shared with the ObjectBuffers handed out by
// getBuffer, so a buffer that outlives its client still points at mapped memory.
struct StagingArea {
  explicit StagingArea(uint64_t size)
      : memory(size), allocator(reinterpret_cast<uint64_t>(memory.data()), size) {}
  Mapping memory;
  std::mutex mutex;
  SegmentAllocator allocator;  // GUARDED_BY(mutex)
};

inline Status transferFailed(const std::string& what) {
  return Status::storeError(StoreErrorCode::TRANSFER_FAIL, what);
}

// Transfer Engine retry budget for a transfer that has a fallback (another replica to read, or a
// put that is written again elsewhere): TransferRequest::advise_retry_cnt marks this many of the
// MC_RETRY_CNT (default 9) attempts as used, leaving two, so a dead holder costs ~0.2 s instead of
// the full budget (~1 s of refused connects) before the fallback runs.
inline int retriesUsedWithFallback(bool has_fallback) { return has_fallback ? 7 : 0; }

// Holders whose reads failed within this long are tried after the others, so a dead client
// costs one slow read (its retries), not one per object.
inline constexpr std::chrono::seconds kFailedHolderMemory{30};

// The memory of several objects, each a list of runs, in one flat list (no allocation per key):
// object i is runs[first[i]] .. runs[first[i + 1] - 1].
struct Scatter {
  std::vector<MemoryRun> runs;
  std::vector<size_t> first{0};

  size_t objects() const { return first.size() - 1; }
  std::span<const MemoryRun> of(size_t i) const {
    return {runs.data() + first[i], first[i + 1] - first[i]};
  }
  // One run per object.
  static Scatter single(const std::vector<const void*>& buffers, const std::vector<size_t>& sizes);
  static Scatter single(const std::vector<void*>& buffers, const std::vector<size_t>& sizes);
  static Scatter multi(const std::vector<std::vector<MemoryRun>>& runs);
};

inline uint64_t totalSize(std::span<const MemoryRun> runs) {
  uint64_t total = 0;
  for (const MemoryRun& run : runs) total += run.size;
  return total;
}

class DiskStagings;

struct Client::Impl {
  Impl(const ClientOptions& o, std::string id, auth::SecretRef secret)
      : options(o),
        client_id(std::move(id)),
        engine(o.engine != nullptr ? *o.engine : own_engine),
        master(o.master_server_address, o.rpc_timeout, secret),
        segment_memory(o.global_segment_size),
        staging(std::make_shared<StagingArea>(o.local_buffer_size)),
        locations(o.remembered_locations),
        secret(secret),
        disk_reads(secret, o.rpc_timeout) {}

  // A shared engine keeps running: take our memory out of it before the memory goes.
  ~Impl();
  Impl(const Impl&) = delete;
  Impl& operator=(const Impl&) = delete;
  bool sharesEngine() const { return options.engine != nullptr; }

  // Lifecycle (client.cc).
  Status start();
  Status initEngine();
  void heartbeat();
  SegmentInfo segmentInfo() const {
    return {engine.getLocalSegmentName(), reinterpret_cast<uint64_t>(segment_memory.data()),
            options.global_segment_size, engine.getLocalSegmentName()};
  }

  // Transfers (client_transfers.cc). runTasks runs the requests as one batch and says, per
  // request, whether it COMPLETED; runBatch wants all of them to. startTasks/finishTasks are its
  // two halves, for callers that do something else while the batch runs.
  struct TasksInFlight {
    BatchID batch = 0;
    size_t count = 0;
    uint64_t bytes = 0;
  };
  Result<TasksInFlight> startTasks(const std::vector<TransferRequest>& requests);
  Result<std::vector<bool>> finishTasks(const TasksInFlight& tasks);
  Result<std::vector<bool>> runTasks(const std::vector<TransferRequest>& requests);
  Status runBatch(const std::vector<TransferRequest>& requests);
  // Reads the byte ranges of one object (one Transfer Engine batch per replica tried) from the
  // first replica that answers, in reading order; returns that replica's index.
  Result<size_t> readFromReplicas(const std::vector<Range>& ranges,
                                  const std::vector<ReplicaDescriptor>& replicas);
  // Reading order: a replica in this process's own segment first (one memcpy, no network),
  // holders that failed recently last.
  void orderForReading(std::vector<ReplicaDescriptor>& replicas);
  bool recentlyFailed(const std::string& endpoint);
  void markFailed(const std::string& endpoint);
  std::vector<std::string> recentlyFailedHolders();
  Result<char*> allocateStaging(size_t size, SegmentAllocator::Allocation& allocation);
  void freeStaging(const SegmentAllocator::Allocation& allocation);

  // Writes (client_writes.cc): two-phase put or upsert of caller-registered memory. startPut
  // asks the master to avoid holders that failed lately.
  Result<std::vector<ReplicaDescriptor>> startPut(const std::string& key, size_t size,
                                                  const ReplicateConfig& config, WriteKind kind);
  // The object is the concatenation of `runs`.
  Status writeOne(const std::string& key, std::span<const MemoryRun> runs,
                  const ReplicateConfig& config, WriteKind kind);
  Status writeOne(const std::string& key, const void* buffer, size_t size,
                  const ReplicateConfig& config, WriteKind kind) {
    MemoryRun run{const_cast<void*>(buffer), size};
    return writeOne(key, {&run, 1}, config, kind);
  }
  // Writes the runs to every replica; holders whose write failed are appended to `failed` (and
  // marked). An error only when the transfer could not run at all (not the holders' fault).
  Status writeReplicas(std::span<const MemoryRun> runs,
                       const std::vector<ReplicaDescriptor>& replicas, bool has_fallback,
                       std::vector<std::string>& failed);
  // A put on reserved space: write, then commit (which brings the next reservation). nullopt:
  // the reserved path could not be used and nothing of the key changed; put it two-phase.
  std::optional<Status> writeReserved(const std::string& key, std::span<const MemoryRun> runs,
                                      const ReplicateConfig& config);
  // Batched writes: puts of up to ReservationPool::kPerShape values of up to
  // ClientOptions::reserved_put_max_bytes take the
  // reserved path (writeReservedBatch); the rest, and what that path leaves, the two-phase one.
  std::vector<Status> writeBatch(const std::vector<std::string>& keys, const Scatter& sources,
                                 const ReplicateConfig& config, WriteKind kind);
  // One Transfer Engine batch writes every key onto a reservation (the pool's, else ones one
  // BatchCommitReserved without commits grants), then one BatchCommitReserved commits them all
  // and reserves the next batch's space: a steady stream of small batches costs the writes plus
  // one round trip. nullopt for keys left to the two-phase batch (a failed write, a reservation
  // the master does not know, no space, an older master).
  std::vector<std::optional<Status>> writeReservedBatch(const std::vector<std::string>& keys,
                                                        const Scatter& sources,
                                                        const ReplicateConfig& config);
  // BatchPutStart, one Transfer Engine batch, BatchPutEnd.
  std::vector<Status> writeTwoPhaseBatch(const std::vector<std::string>& keys,
                                         const Scatter& sources, const ReplicateConfig& config,
                                         WriteKind kind);
  // Each value from the caller's memory or staging memory, as writeParts; one batch.
  std::vector<Status> writeStagedBatch(const std::vector<std::string>& keys,
                                       const std::vector<std::string_view>& values,
                                       const ReplicateConfig& config, WriteKind kind);
  // Values of at least this many bytes are written from the caller's memory, registered for the
  // write (CallerMemory), rather than copied into staging memory first; below it the copy costs
  // less than the registration. Every size when there is no staging memory.
  static constexpr uint64_t kCallerMemoryMinBytes = 64 << 10;
  bool writesFromCallerMemory(uint64_t size) const;
  // The parts (in order) as one object: from the caller's memory (writesFromCallerMemory), or
  // copied into staging memory.
  Status writeParts(const std::string& key, const std::vector<std::string_view>& parts,
                    const ReplicateConfig& config, WriteKind kind);

  // Reads (client_reads.cc) straight into `buffer`, which must hold the object.
  // A key this client read before is read from the remembered replica while the master is
  // asked (readRemembered); the bytes count only if the master vouches for them.
  Result<uint64_t> readInto(const std::string& key, char* buffer, size_t capacity);
  Result<uint64_t> readListed(const std::string& key, ReplicaList list, char* buffer,
                              size_t capacity, std::chrono::steady_clock::time_point started);
  // nullopt: the remembered replica could not be used; the caller reads the usual way.
  std::optional<Result<uint64_t>> readRemembered(const std::string& key,
                                                 const RememberedReplica& remembered, char* buffer,
                                                 size_t capacity,
                                                 std::chrono::steady_clock::time_point started);
  // The body of the batched reads once the replica lists are known: one Transfer Engine batch,
  // per-key fallback to the single-key path for keys whose first replica failed.
  // Reads the objects into staging memory (one master round trip, one Transfer Engine batch;
  // remembered keys are read while the master is asked, as lookupOverlapped).
  std::vector<Result<std::shared_ptr<ObjectBuffer>>> readIntoStaging(
      const std::vector<std::string>& keys);
  // A batch's lookup overlapped with reads of the replicas this client remembers (readRemembered
  // for many keys): every remembered key whose target can hold it is read while the master is
  // asked about all the keys, and such a read counts only if the master vouches for it (same
  // version and replica, lease not outlived). settled[i] holds those keys' outcomes; the others
  // are for the caller to read with `lists`. One master round trip either way.
  struct OverlappedLookup {
    Result<std::vector<Result<ReplicaList>>> lists;
    std::vector<std::optional<Result<uint64_t>>> settled;
  };
  OverlappedLookup lookupOverlapped(const std::vector<std::string>& keys, const Scatter& targets,
                                    std::chrono::steady_clock::time_point started);
  // The batched read into caller memory: lookupOverlapped, then readBatch for the rest.
  std::vector<Result<uint64_t>> lookupAndReadBatch(const std::vector<std::string>& keys,
                                                   const Scatter& targets);
  // readBatch over the keys at `indices` only; their outcomes go to out[indices[j]].
  void readSubset(const std::vector<std::string>& keys, std::vector<Result<ReplicaList>>& lists,
                  const Scatter& targets, std::chrono::steady_clock::time_point started,
                  const std::vector<size_t>& indices, std::vector<Result<uint64_t>>& out);
  // One key into staging memory, overlapping the lookup when the key is remembered.
  Result<std::shared_ptr<ObjectBuffer>> readOneIntoStaging(const std::string& key);
  // Memory for key `index` of `size` bytes (staging, or the caller's: Client::RoomFor).
  using Rooms = std::function<Result<char*>(size_t index, uint64_t size)>;
  // readIntoStaging and readOneIntoStaging into memory `rooms` makes; the objects' sizes.
  std::vector<Result<uint64_t>> readIntoRooms(const std::vector<std::string>& keys,
                                              const Rooms& rooms);
  Result<uint64_t> readOneIntoRoom(const std::string& key, const Rooms& rooms);
  // Hands staging memory holding an object to the caller; it returns when the buffer is dropped.
  std::shared_ptr<ObjectBuffer> wrapStaged(char* area, uint64_t size,
                                           SegmentAllocator::Allocation allocation);
  std::vector<Result<uint64_t>> readBatch(const std::vector<std::string>& keys,
                                          std::vector<Result<ReplicaList>>& lists,
                                          const Scatter& targets,
                                          std::chrono::steady_clock::time_point started);
  // readBatch's transfers for the `selected` keys (one Transfer Engine batch; per-key fallback
  // to the single-key path for keys whose first replica failed).
  void readSelected(const std::vector<std::string>& keys, std::vector<Result<ReplicaList>>& lists,
                    const Scatter& targets, std::chrono::steady_clock::time_point started,
                    const std::vector<size_t>& selected, std::vector<Result<uint64_t>>& out);
  // One wave of disk objects being staged by their holders (readBatch): their lists are moved
  // out meanwhile and back once staged.
  struct StagingJob {
    struct Data {
      std::vector<size_t> indices;
      std::vector<std::string> keys;
      std::vector<Result<ReplicaList>> lists;
    };
    std::shared_ptr<Data> data;
    std::future<std::unique_ptr<DiskStagings>> staging;
  };
  StagingJob startStaging(const std::vector<std::string>& keys,
                          std::vector<Result<ReplicaList>>& lists,
                          const std::vector<size_t>& indices);
  // Disk bytes per wave of a batched read, and waves staged ahead of the one being read.
  static constexpr uint64_t kDiskWaveBytes = 4ull << 20;
  static constexpr size_t kDiskWaveDepth = 2;
  // The part of batchGetIntoRanges after the lookup: `wanted` are the ranges inside each
  // object (the others are already marked in `out`).
  void readRangeBatch(const std::vector<std::string>& keys, std::vector<Result<ReplicaList>>& lists,
                      const std::vector<std::vector<Range>>& wanted,
                      const std::vector<std::vector<size_t>>& wanted_index,
                      std::vector<std::vector<Status>>& out,
                      std::chrono::steady_clock::time_point started);
  // One key scattered over `runs` (the single-key path: every replica tried in turn).
  Result<uint64_t> readScattered(const std::string& key, std::span<const MemoryRun> runs);
  // Fails with LEASE_EXPIRED when a read that began at `started` outlived its lease.
  static Status checkLease(const std::string& key, std::chrono::steady_clock::time_point started,
                           uint64_t lease_ttl_ms);

  // Disk tier (client_disk_tier.cc). Starts this client's own tier when options ask for one.
  Status startDiskTier();
  // Replaces the disk replicas in `lists` (those whose only replicas are on a disk) by the
  // memory their holders staged them in; a list whose staging failed becomes that error. The
  // stagings stay until the returned guard goes (read the bytes before).
  std::unique_ptr<DiskStagings> stageDiskReplicas(const std::vector<std::string>& keys,
                                                  std::vector<Result<ReplicaList>>& lists);
  Result<std::unique_ptr<DiskStagings>> stageDiskReplica(const std::string& key, ReplicaList& list);

  const ClientOptions options;
  const std::string client_id;
  TransferEngine own_engine;  // unused when options.engine is given
  TransferEngine& engine;     // options.engine, or own_engine
  bool staging_registered = false;
  bool segment_registered = false;
  MasterClient master;
  Mapping segment_memory;
  std::shared_ptr<StagingArea> staging;
  LocationCache locations;
  ReservationPool reserved;
  std::atomic<uint64_t> reserved_puts{0};
  std::atomic<uint64_t> reserved_fallbacks{0};
  // When the heartbeat last reached the master (steady clock, ms): health().
  std::atomic<int64_t> last_ping_ok_ms{0};
  std::atomic<uint64_t> overlapped_reads{0};
  std::atomic<uint64_t> stale_overlapped_reads{0};
  SegmentId segment_id = 0;
  std::mutex failed_mutex;
  std::map<std::string, std::chrono::steady_clock::time_point>
      failed_holders;  // GUARDED_BY(failed_mutex)
  auth::SecretRef secret;
  tier::DiskServiceClient disk_reads;  // stages other clients' disk replicas
  class DiskHost;
  std::unique_ptr<DiskHost> disk_host;
  std::unique_ptr<tier::DiskTier> disk_tier;  // this client's own, when it has one
  std::mutex heartbeat_mutex;
  std::condition_variable heartbeat_cv;
  bool stopping = false;  // GUARDED_BY(heartbeat_mutex)
  std::thread heartbeat_thread;
};

// Caller memory (a Python bytes object, say) registered with the Transfer Engine, local only,
// for one call, so transfers use it without a staging copy; each slot is unregistered when it is
// reused or this goes (client_transfers.cc). Memory that cannot be registered (it overlaps a
// registered buffer) is left as it is: use() says so, and the caller stages it instead.
class CallerMemory {
 public:
  CallerMemory(TransferEngine& engine, size_t slots) : engine_(engine), registered_(slots) {}
  ~CallerMemory();
  CallerMemory(const CallerMemory&) = delete;
  CallerMemory& operator=(const CallerMemory&) = delete;
  // Registers [memory, +size) as slot `slot`, after unregistering what the slot held. True if
  // registered now, or inside memory another slot registered (the same value twice in a batch);
  // false if it overlaps other registered memory or is empty.
  bool use(size_t slot, const void* memory, uint64_t size);
  void release(size_t slot);

 private:
  struct Registered {
    void* address = nullptr;
    uint64_t size = 0;
  };
  TransferEngine& engine_;
  std::vector<Registered> registered_;
};

// Stagings held on disk tier holders for one read; released when it goes (client_disk_tier.cc).
class DiskStagings {
 public:
  // `own`: this client's tier (its stagings are released without a call), or null.
  DiskStagings(tier::DiskTier* own, tier::DiskServiceClient& reads) : own_(own), reads_(reads) {}
  ~DiskStagings() { release(); }
  DiskStagings(const DiskStagings&) = delete;
  DiskStagings& operator=(const DiskStagings&) = delete;
  void hold(const std::string& endpoint, uint64_t id) {
    if (id != 0) held_.emplace_back(endpoint, id);
  }
  void release();
  // Keys (indexes) a holder had no staging memory for yet: read them after these stagings are
  // released. Their lists still name the disk replica.
  std::vector<size_t> deferred;

 private:
  tier::DiskTier* own_;
  tier::DiskServiceClient& reads_;
  std::vector<std::pair<std::string, uint64_t>> held_;
};

// What this client's disk tier asks of it (client_disk_tier.cc).
class Client::Impl::DiskHost final : public tier::DiskTierHost {
 public:
  explicit DiskHost(Client::Impl& impl) : impl_(impl) {}
  Result<bool> mountDiskTier(const DiskTierInfo& info) override;
  Result<OffloadWork> offloadHeartbeat(const DiskUsage& usage, uint32_t max_tasks) override;
  Result<std::vector<Status>> offloadDone(const std::vector<DiskObjectRef>& written,
                                          const std::vector<DiskObjectRef>& failed) override;
  Result<std::vector<Status>> registerDiskObjects(
      const std::vector<DiskObjectRef>& objects) override;
  Status evictDiskReplicas(const std::vector<DiskObjectRef>& objects) override;
  Status promotionDone(const std::string& key, uint64_t version, bool ok) override;
  Status writeTo(const char* data, uint64_t size, const ReplicaDescriptor& target) override;

 private:
  Client::Impl& impl_;
};

}  // namespace mooncake::store
