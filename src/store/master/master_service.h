// The Store master's metadata service, independent of any RPC layer: mounted segments, the
// object table (two-phase puts, replicas, leases, pins), eviction and client liveness.
//
// Thread-safe. Objects are spread over MasterOptions::shard_count shards, each with its own
// mutex; a call touches one shard (plus the segment registry), except removeAll/removeByRegex,
// eviction and client expiry, which visit shards one at a time. Lock order: shard, then
// registry, then clients (side_mutex_), then the disk tier holders (disk_mutex_).
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <list>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "common/metrics/latency_histogram.h"
#include "mooncake/common/status.h"
#include "mooncake/store/master_options.h"
#include "mooncake/store/replicate_config.h"
#include "store/master/segment_registry.h"

namespace mooncake::store {
namespace durable {
struct ObjectView;
struct RecoveredState;
class MetadataLog;
class SnapshotSink;
}  // namespace durable

using Clock = std::chrono::steady_clock;

// What restore() rebuilt.
struct RestoreStats {
  size_t segments = 0;
  size_t objects = 0;
  size_t incomplete_objects = 0;  // puts in progress at the crash (their writers may finish)
  size_t reservations = 0;
  size_t quarantined = 0;
  size_t dropped_replicas = 0;  // on unknown segments or overlapping others (should be 0)
};

// What a reader needs to fetch one replica: the Transfer Engine segment and the address there.
// A disk replica (disk_endpoint set) is read by asking its holder's disk service at
// disk_endpoint to stage it (te_endpoint is the holder's segment; address is 0).
struct ReplicaDescriptor {
  std::string te_endpoint;
  uint64_t address = 0;
  uint64_t size = 0;
  std::string disk_endpoint;
  bool isDisk() const { return !disk_endpoint.empty(); }
};

// The disk tier (docs/STORE.md "Disk tier"; master_disk_tier.cc).
struct DiskTierInfo {
  std::string disk_endpoint;  // host:port of the holder's disk service
  std::string te_endpoint;    // the holder's Transfer Engine segment (where staged reads are)
  uint64_t capacity = 0;
};
// What a holder says about its disk in each offload heartbeat.
struct DiskUsage {
  uint64_t capacity = 0;
  uint64_t bytes = 0;
  uint64_t objects = 0;
  uint64_t checksum_failures = 0;
  bool accepting = true;  // false: full (and not evicting) or failing; queue nothing more
};
struct DiskObjectRef {
  std::string key;
  uint64_t version = 0;
  uint64_t size = 0;
};
// An object for the holder to write to its disk: its memory replica in the holder's segment.
struct OffloadTask {
  std::string key;
  uint64_t version = 0;
  uint64_t address = 0;
  uint64_t size = 0;
};
// A disk-only object for the holder to copy back into memory at `target`.
struct PromotionTask {
  std::string key;
  uint64_t version = 0;
  ReplicaDescriptor target;
};
struct OffloadWork {
  std::vector<OffloadTask> offload;
  std::vector<DiskObjectRef> drop;  // copies the master no longer wants (removed, replaced)
  std::vector<PromotionTask> promote;
};
// Per holder, for /metrics.
struct DiskHolderStats {
  std::string client_id;
  std::string disk_endpoint;
  DiskUsage usage;
  size_t offload_queue = 0;
  size_t promotion_queue = 0;
};

struct ReplicaList {
  std::vector<ReplicaDescriptor> replicas;
  uint64_t lease_ttl_ms = 0;
  // Changes whenever the object's bytes may change (put, upsert, remove and put again) and is
  // never reused, also across master restarts. A client that read a replica it remembered may
  // trust those bytes when a later lookup returns the same version and the same replica.
  uint64_t version = 0;
};

// Space held for one future put of a client (MasterService::reserve).
struct ReservedSpace {
  uint64_t id = 0;
  std::vector<ReplicaDescriptor> replicas;
};

struct ReservedShape {
  uint64_t size = 0;
  ReplicateConfig config;
};

enum class ClientStatus { kOk = 1, kNeedRemount = 2 };

// Monotonic counters for /metrics. Relaxed atomics: each is an independent tally.
struct MasterCounters {
  std::atomic<uint64_t> put_starts{0};
  std::atomic<uint64_t> put_ends{0};
  std::atomic<uint64_t> put_revokes{0};
  std::atomic<uint64_t> upsert_starts{0};
  std::atomic<uint64_t> upserts_in_place{0};
  std::atomic<uint64_t> degraded_puts{0};  // completed with fewer replicas than placed
  std::atomic<uint64_t> get_replica_lists{0};
  std::atomic<uint64_t> removes{0};
  std::atomic<uint64_t> evicted_objects{0};
  std::atomic<uint64_t> evicted_bytes{0};
  std::atomic<uint64_t> expired_clients{0};
  std::atomic<uint64_t> returned_clients{0};  // came back within --dead_client_grace_sec
  std::atomic<uint64_t> no_space_errors{0};
  std::atomic<uint64_t> reservations{0};      // reserve() successes
  std::atomic<uint64_t> reserved_commits{0};  // puts completed by commitReserved
  // Disk tier.
  std::atomic<uint64_t> offloads_queued{0};
  std::atomic<uint64_t> offloaded_objects{0};  // disk copies recorded (NotifyOffloadSuccess)
  std::atomic<uint64_t> offloaded_bytes{0};
  std::atomic<uint64_t> offload_failures{0};         // holders could not write them
  std::atomic<uint64_t> offload_rejected{0};         // changed or gone before the write landed
  std::atomic<uint64_t> offload_queue_full{0};       // not queued: the holder's queue was full
  std::atomic<uint64_t> evicted_to_disk{0};          // memory freed, the disk copy stays
  std::atomic<uint64_t> evicted_without_offload{0};  // dropped although offload is on
  std::atomic<uint64_t> disk_replica_reads{0};       // lookups answered with a disk replica
  std::atomic<uint64_t> disk_replicas_registered{0};
  std::atomic<uint64_t> disk_replicas_evicted{0};  // holders dropped them (full, damaged)
  std::atomic<uint64_t> promotions_queued{0};
  std::atomic<uint64_t> promotions{0};
  std::atomic<uint64_t> promotion_failures{0};
};

// Holds replies back until the records behind them are safe elsewhere (an HA leader's
// standbys have them; ha/replication_hub.h).
class ReplicationGate {
 public:
  virtual ~ReplicationGate() = default;
  // Blocks until the records this thread appended are replicated. False: they may never be
  // (the leader is stepping down); the reply must not be sent.
  virtual bool awaitReplicated() = 0;
  // Standbys every reply waits for now (for /metrics).
  virtual size_t inSyncStandbys() const = 0;
};

class MasterService {
 public:
  explicit MasterService(const MasterOptions& options,
                         std::function<Clock::time_point()> now = Clock::now);

  // Segments.
  Result<SegmentId> mountSegment(const std::string& client_id, const SegmentInfo& info);
  // Mounts again after NEED_REMOUNT (a restarted master, or a client it had expired); a segment
  // that is still mounted keeps its id. Registers the client as alive even with no segments.
  Result<std::vector<SegmentId>> remountSegments(const std::string& client_id,
                                                 const std::vector<SegmentInfo>& segments);
  // Drops every replica on the segment (objects left without replicas disappear).
  Status unmountSegment(SegmentId segment, const std::string& client_id);

  // Two-phase put. putStart reserves space for up to config.replica_num replicas and returns
  // where to write. Errors: INVALID_PARAMS, OBJECT_ALREADY_EXISTS (complete, or another put in
  // progress younger than put_start_discard_timeout), NO_AVAILABLE_HANDLE (nothing fits even
  // after eviction).
  // `avoid`: Transfer Engine endpoints the writer could not reach lately; no replica goes there.
  Result<std::vector<ReplicaDescriptor>> putStart(const std::string& client_id,
                                                  const std::string& key, uint64_t size,
                                                  const ReplicateConfig& config,
                                                  const std::vector<std::string>& avoid = {});
  // Makes the object readable. `failed_endpoints`: replicas whose write failed; they are
  // dropped (their space released) and the object keeps the rest. Errors: OBJECT_NOT_FOUND,
  // INVALID_WRITE (already complete, or every replica failed: revoke instead).
  Status putEnd(const std::string& client_id, const std::string& key,
                const std::vector<std::string>& failed_endpoints = {});
  // Undoes a putStart. Errors: OBJECT_NOT_FOUND, INVALID_WRITE (already complete).
  Status putRevoke(const std::string& client_id, const std::string& key);
  // Insert-or-update. For an absent key, as putStart. A complete object of the same size and
  // without a live lease is rewritten in place (same replicas); otherwise new space is
  // allocated and the old replicas are released once their last lease has run out. Either way
  // the object is unreadable (REPLICA_IS_NOT_READY) until putEnd, and putRevoke deletes it (the
  // old value is gone). A put in progress on the key: OBJECT_ALREADY_EXISTS, as putStart.
  Result<std::vector<ReplicaDescriptor>> upsertStart(const std::string& client_id,
                                                     const std::string& key, uint64_t size,
                                                     const ReplicateConfig& config,
                                                     const std::vector<std::string>& avoid = {});

  // Puts in two round trips (docs/STORE.md "Reserved space"): reserve() places space for one
  // future put of `size` bytes with `config` (placement, pins) and holds it for the client; the
  // client writes its value there, then commitReserved() makes a key a complete object on it in
  // one call. A reservation unused for put_start_discard_timeout_sec, or of a client that
  // expires, is quarantined like an abandoned put (its writer may be slow, not gone) and freed
  // after put_start_release_timeout_sec; one on a segment that goes away is dropped.
  // Errors: as putStart, except OBJECT_ALREADY_EXISTS.
  Result<ReservedSpace> reserve(const std::string& client_id, uint64_t size,
                                const ReplicateConfig& config,
                                const std::vector<std::string>& avoid = {});
  // On success the reservation is used up; on OBJECT_ALREADY_EXISTS it stays the client's.
  // Errors: INVALID_PARAMS (the client holds no such reservation: expired, dropped with a
  // segment, or the master restarted; write the value to new space), OBJECT_ALREADY_EXISTS,
  // INVALID_WRITE (every replica write failed; the reservation is gone).
  // `shape`, when given, receives the reservation's size and config (to reserve the next).
  Status commitReserved(const std::string& client_id, const std::string& key,
                        uint64_t reservation_id,
                        const std::vector<std::string>& failed_endpoints = {},
                        ReservedShape* shape = nullptr);
  // Gives reservations back (unknown ids and other clients' are ignored).
  void releaseReserved(const std::string& client_id, const std::vector<uint64_t>& ids);
  size_t reservationCount() const;

  // Replicas of a complete object, granting a read lease. Errors: OBJECT_NOT_FOUND,
  // REPLICA_IS_NOT_READY (put still in progress).
  Result<ReplicaList> getReplicaList(const std::string& key);
  // True for a complete object (and grants a lease, as a read is likely to follow).
  bool existKey(const std::string& key);
  // Errors: OBJECT_NOT_FOUND, OBJECT_HAS_LEASE / REPLICA_IS_NOT_READY unless `force`.
  Status remove(const std::string& key, bool force);
  // Counts of objects removed (leased or incomplete ones are skipped unless `force`).
  size_t removeAll(bool force);
  Result<size_t> removeByRegex(const std::string& pattern, bool force);
  // Upstream's BatchReplicaClear: for each key `client_id` wrote that is complete and not
  // leased, drops its replicas on `segment_name` (every replica when empty; the object goes
  // when none remains). Returns the keys cleared; the others are skipped silently.
  std::vector<std::string> batchReplicaClear(const std::string& client_id,
                                             const std::vector<std::string>& keys,
                                             const std::string& segment_name);
  // Replicas of every complete object whose key matches (no leases granted).
  Result<std::vector<std::pair<std::string, std::vector<ReplicaDescriptor>>>> replicasByRegex(
      const std::string& pattern);

  // The disk tier (docs/STORE.md "Disk tier"; master_disk_tier.cc). A client with a disk
  // registers it after mounting (again after every remount); NOT_SUPPORTED without
  // --enable_offload.
  Status mountDiskTier(const std::string& client_id, const DiskTierInfo& info);
  // A holder's poll: its disk's state in, up to `max_tasks` offloads (and the copies to drop,
  // and promotions) out. Handed-out offloads are running until offloadDone.
  OffloadWork offloadHeartbeat(const std::string& client_id, const DiskUsage& usage,
                               size_t max_tasks);
  // Written: durable on the holder's disk; per item OK, or an error when the object changed or
  // went meanwhile (the holder then deletes its copy). Failed: the object stays as it was.
  std::vector<Status> offloadDone(const std::string& client_id,
                                  const std::vector<DiskObjectRef>& written,
                                  const std::vector<DiskObjectRef>& failed);
  // A holder's objects on disk (after it started or remounted): each becomes (or stays) a disk
  // replica of its key unless the key now holds another version or a put is in progress on it
  // (then OBJECT_ALREADY_EXISTS, and the holder deletes its copy).
  std::vector<Status> registerDiskObjects(const std::string& client_id,
                                          const std::vector<DiskObjectRef>& objects);
  // The holder dropped these copies (its disk was full, or a copy was damaged).
  void evictDiskReplicas(const std::string& client_id, const std::vector<DiskObjectRef>& objects);
  // A promotion ended (the bytes are at the task's target, or could not be put there).
  Status promotionDone(const std::string& client_id, const std::string& key, uint64_t version,
                       bool ok);
  std::vector<DiskHolderStats> diskHolderStats() const;

  // Liveness: OK for a known live client, NEED_REMOUNT for one the master does not know
  // (expired, or the master restarted).
  ClientStatus ping(const std::string& client_id);
  // A client could not reach these holders (their Transfer Engine refused or did not answer).
  // Not trusted on its own: a holder that was reported and has also missed its pings for
  // kSuspectSilence is declared dead at the next tick instead of after --client_ttl, so its
  // replicas stop being handed out in seconds. A holder that keeps pinging is left alone.
  void reportUnreachable(const std::vector<std::string>& te_endpoints);
  static constexpr std::chrono::seconds kSuspectSilence{2};
  // Memory an offload may be reading when its object goes is reused only after this long (or
  // once the holder reports).
  static constexpr std::chrono::seconds kOffloadHold{60};

  // Durable metadata (docs/STORE.md "Durable metadata"). Before serving: rebuilds what a log
  // recovered (segments, objects, reservations, quarantined space), then records every change
  // in `log` (which must outlive the service). The owners of restored segments count as alive
  // from now on; every restored object is leased for --default_kv_lease_ttl, as a reader may
  // have been in the middle of reading it when the old master stopped.
  RestoreStats restore(durable::RecoveredState& state, durable::MetadataLog* log);
  // Adds the whole state to a snapshot, handing it to `write` piece by piece (one lock at a time).
  Status dumpState(const std::function<Status(durable::SnapshotSink&)>& write);
  const durable::MetadataLog* metadataLog() const { return log_; }
  // The RPC layers call awaitReplicated() after each handler, before replying.
  void setReplicationGate(ReplicationGate* gate) { gate_ = gate; }
  bool awaitReplicated() { return gate_ == nullptr || gate_->awaitReplicated(); }
  const ReplicationGate* replicationGate() const { return gate_; }
  const RestoreStats& restoreStats() const { return restore_stats_; }

  // Periodic work: expire silent clients, reclaim abandoned puts, evict above the watermark.
  void tick();
  // Frees about `bytes` of unleased, unpinned objects, least recently used first (a merge of the
  // shards' LRU lists: the cost follows the objects evicted and the pinned ones skipped, not the
  // number of objects stored); returns the bytes freed.
  // With the disk tier, objects whose memory goes only once their disk write lands count as
  // freed; their bytes are also added to `*deferred_bytes` when given.
  uint64_t evict(uint64_t bytes, uint64_t* deferred_bytes = nullptr);

  size_t objectCount() const;
  // Objects a reader's lease protects right now (a scan: for /metrics, not hot paths).
  size_t leasedObjectCount() const;
  size_t liveClientCount();
  size_t detachedSegmentCount() const;
  std::vector<std::string> allKeys() const;
  std::vector<SegmentStats> segmentStats() const { return segments_.stats(); }
  const MasterCounters& counters() const { return counters_; }
  // Latency of one RPC method (as the RPC layer measures it), by its name ("PutStart", ...);
  // unknown names share the "other" histogram.
  LatencyHistogram& latency(std::string_view method);
  // Prometheus lines for every method that has been called.
  void renderLatencies(std::string& out) const;
  // The port of the fast RPC listener, which clients learn through GetFastRpcPort (0: none).
  void setFastRpcPort(uint16_t port) { fast_rpc_port_.store(port, std::memory_order_relaxed); }
  uint16_t fastRpcPort() const { return fast_rpc_port_.load(std::memory_order_relaxed); }
  uint64_t capacityBytes() const { return segments_.capacityBytes(); }
  const MasterOptions& options() const { return options_; }
  uint64_t usedBytes() const { return segments_.usedBytes(); }

 private:
  // getReplicaList; `reading` (not an existence check): a read of a disk-only object counts
  // toward its promotion.
  Result<ReplicaList> lookup(const std::string& key, bool reading);
  // The checks every write (put, upsert, reservation) passes first: INVALID_PARAMS for an empty
  // key, size or replica count, and for a soft-pin TTL without ENABLE or above the cap.
  Status checkWrite(const char* call, const std::string& key, uint64_t size,
                    const ReplicateConfig& config) const;
  // Recency order of a shard's objects, least recently used first. Holds pointers to the map's
  // keys, which stay valid until their element is erased (unordered_map nodes do not move).
  using LruList = std::list<const std::string*>;

  struct Object {
    uint64_t size = 0;
    uint64_t version = 0;
    std::vector<Placement> replicas;
    bool complete = false;
    std::string owner;  // client id of the writer (BatchReplicaClear clears only one's own)
    bool hard_pin = false;
    bool soft_pin = false;
    uint64_t soft_pin_ttl_ms = 0;
    Clock::time_point put_started;
    Clock::time_point lease_until;
    Clock::time_point soft_pin_until;
    Clock::time_point last_access;
    LruList::iterator lru_position;
    // Disk tier (holders by number: DiskHolder::number; 0 is none). The holder of a disk
    // copy; objects with only a disk copy are not in the metadata log (their holder registers
    // them again after a master restart).
    uint32_t disk_holder = 0;
    // The holder an offload is queued or running for (running: handed out, the holder may be
    // reading the memory replica, so that memory is not reused until it reports or
    // kOffloadHold passes).
    uint32_t offload_target = 0;
    enum class Offload : uint8_t { kNone, kQueued, kRunning } offload = Offload::kNone;
    bool offload_evicts = false;  // eviction picked it: free the memory when the write lands
    // A promotion is queued or running (its memory, once placed, is in the holder's
    // DiskHolder::promotion_targets).
    bool promoting = false;
    uint16_t disk_reads = 0;  // lookups answered from disk since it went there (saturating)
  };
  // Objects and their recency order change together: go through insert/erase/touch.
  struct Shard {
    size_t index = 0;
    mutable std::mutex mutex;
    uint64_t lsn_count = 0;  // the metadata log's count for its objects; GUARDED_BY(mutex)
    std::unordered_map<std::string, Object> objects;  // GUARDED_BY(mutex)
    LruList lru;                                      // GUARDED_BY(mutex)

    Object& insert(std::string key, Object object);
    std::unordered_map<std::string, Object>::iterator erase(
        std::unordered_map<std::string, Object>::iterator it);
    void touch(Object& object, Clock::time_point now);
  };
  struct Abandoned {
    std::vector<Placement> replicas;
    Clock::time_point release_at;
  };
  struct Reservation {
    std::string client_id;
    uint64_t size = 0;
    ReplicateConfig config;
    std::vector<Placement> replicas;
    Clock::time_point created;
  };
  // Metadata log records (no-ops without a log). Each requires the lock of what it records (the
  // shard; reservations_mutex_; side_mutex_), so per entity the log order is the change order.
  // A null entity records that it is gone.
  void logObject(Shard& shard, const std::string& key, const Object* object);
  // A put's end that changed nothing but `complete` (half the bytes of a whole record).
  void logCompletion(Shard& shard, const std::string& key, const Object& object);
  void logReservation(uint64_t id, const Reservation* reservation);
  void logAbandoned(uint64_t id, const Abandoned* abandoned);
  // Requires side_mutex_. Keeps `replicas` out of circulation until `release_at`.
  void abandonLocked(std::vector<Placement> replicas, Clock::time_point release_at);
  int64_t wallMs(Clock::time_point at) const;
  durable::ObjectView view(const Object& object) const;

  Shard& shardFor(const std::string& key);
  // putStart's work after validation: reserve space and record the incomplete object.
  Result<std::vector<ReplicaDescriptor>> startWrite(const std::string& client_id,
                                                    const std::string& key, uint64_t size,
                                                    const ReplicateConfig& config,
                                                    const std::vector<std::string>& avoid);
  std::vector<Placement> placeReplicas(const std::string& client_id, uint64_t size,
                                       const ReplicateConfig& config,
                                       const std::vector<std::string>& avoid);
  void applyPins(Object& object, const ReplicateConfig& config) const;
  void releaseAll(const std::vector<Placement>& replicas);
  static std::vector<ReplicaDescriptor> describe(const Object& object);
  // Requires the shard lock. True when the key may be (re)written now; abandoned puts are
  // moved to abandoned_.
  Status checkWritable(Shard& shard, const std::string& key, Clock::time_point now);
  void dropSegmentReplicas(SegmentId segment);
  // A segment another client mounted at the same endpoint and base is that client's past
  // incarnation: unmounted, with its replicas.
  void dropStaleSegment(const std::string& client_id, const SegmentInfo& info);
  static bool evictable(const Object& object, bool take_soft, Clock::time_point now);
  // True when a reader can reach a replica (not every holder is away, or a disk copy).
  static bool available(const Object& object);
  static bool inMemory(const Object& object);
  // Disk tier helpers (master_disk_tier.cc). Require the object's shard lock.
  // Releases the memory replicas; while an offload may be reading them, they are held back
  // (abandoned) for kOffloadHold instead.
  void releaseMemory(Object& object);
  // Everything the object holds: memory (as releaseMemory), its disk copy (the holder is told),
  // a queued promotion's space. Before erasing it or replacing its value.
  void releaseObject(const std::string& key, Object& object);
  // Tells the holder of the object's disk copy to delete it, and forgets the copy.
  void dropDiskCopy(const std::string& key, Object& object);
  // Queues a write of the object to the disk of a holder of one of its memory replicas; false
  // when no such holder takes it.
  bool queueOffload(const std::string& key, Object& object, bool evicts);
  // A disk replica descriptor for the object's disk copy (empty disk_endpoint: holder unknown).
  ReplicaDescriptor describeDisk(const Object& object, uint64_t size) const;
  // Queues a promotion when the object was read from disk often enough.
  void notePromotionHit(const std::string& key, Object& object);
  // Work done on the tick: place memory for queued promotions.
  void placePromotions();
  // A holder that is declared dead or unmounted: its disk copies, pending offloads and
  // promotions go.
  void dropDiskHolder(const std::string& client_id);
  // Sets the detached flag of every replica on `segment`.
  void markSegmentReplicas(SegmentId segment, bool detached);
  // A client declared dead mounting its segment again (same id, endpoint and base): the
  // segment and its replicas come back. nullopt when that is not the case.
  std::optional<SegmentId> reattachIfAway(const std::string& client_id, const SegmentInfo& info);
  // Unmounts (dropping their replicas) segments detached for --dead_client_grace_sec.
  void releaseDetached(Clock::time_point now);
  // Objects (and their bytes) this eviction pass left to free when their disk writes land.
  struct Deferred {
    uint64_t objects = 0;
    uint64_t bytes = 0;
  };
  uint64_t evictRound(uint64_t bytes, bool take_soft, Clock::time_point now, Deferred& deferred);
  // What eviction does with one object it picked: frees its memory, or leaves that to its disk
  // write (queued if need be). Returns the bytes counted as freed; false in `erase` keeps the
  // object.
  uint64_t evictOne(Shard& shard, const std::string& key, Object& object, Deferred& deferred,
                    bool& erase);
  // A put found no room while disk writes that free memory are under way: waits (up to
  // kOffloadWait) for the next one to land. False at the deadline.
  bool awaitOffloadLanding(Clock::time_point deadline);
  static constexpr std::chrono::seconds kOffloadWait{2};
  void expireClients(Clock::time_point now);
  static constexpr SegmentId kNoSegment = ~SegmentId{0};
  // Quarantines (as abandoned) the reservations `drop` selects, minus placements on `gone`.
  void dropReservations(const std::function<bool(const Reservation&)>& drop, Clock::time_point now,
                        SegmentId gone = kNoSegment);
  void quarantine(std::vector<Placement> replicas, Clock::time_point since);
  void reclaimAbandoned(Clock::time_point now);
  size_t removeMatching(const std::function<bool(const std::string&)>& match, bool force);

  const MasterOptions options_;
  const std::function<Clock::time_point()> now_;
  std::vector<std::unique_ptr<Shard>> shards_;
  SegmentRegistry segments_;
  mutable std::mutex side_mutex_;  // guards clients_, abandoned_ and the rest below
  std::unordered_map<std::string, Clock::time_point> clients_;  // last ping
  // Restored clients that have not remounted since: their pings answer NEED_REMOUNT, so they
  // publish their Transfer Engine metadata again (an embedded metadata server forgot it).
  // GUARDED_BY(side_mutex_)
  std::unordered_set<std::string> must_remount_;
  // Segments of clients declared dead, and since when. GUARDED_BY(side_mutex_)
  std::unordered_map<SegmentId, Clock::time_point> detached_since_;
  // Clients reported unreachable, and when (reportUnreachable). GUARDED_BY(side_mutex_)
  std::unordered_map<std::string, Clock::time_point> suspects_;
  std::unordered_map<uint64_t, Abandoned> abandoned_;  // by id; GUARDED_BY(side_mutex_)
  uint64_t next_abandoned_id_ = 1;                     // GUARDED_BY(side_mutex_)
  uint64_t side_lsn_count_ = 0;                        // GUARDED_BY(side_mutex_)
  durable::MetadataLog* log_ = nullptr;                // set once, before serving
  ReplicationGate* gate_ = nullptr;                    // likewise
  RestoreStats restore_stats_;                         // likewise
  // Taken alone (never with a shard or side_mutex_ held).
  mutable std::mutex reservations_mutex_;
  std::unordered_map<uint64_t, Reservation>
      reservations_;                    // by id; GUARDED_BY(reservations_mutex_)
  uint64_t reservation_lsn_count_ = 0;  // GUARDED_BY(reservations_mutex_)
  MasterCounters counters_;
  // Disk tier holders, by number (objects name their holders by it: 4 bytes instead of a
  // client id). Taken last (after shard, registry and side locks).
  struct DiskHolder {
    std::string client_id;
    DiskTierInfo info;
    DiskUsage usage;
    std::deque<std::pair<std::string, uint64_t>> offloads;  // key, version (checked on pop)
    std::vector<DiskObjectRef> drops;
    std::deque<std::pair<std::string, uint64_t>> promotions_wanted;  // need memory placed
    std::vector<PromotionTask> promotions;                           // placed, to hand out
    std::unordered_map<std::string, Placement> promotion_targets;    // by key, until done
  };
  // Requires disk_mutex_. 0 when the client has no disk tier.
  uint32_t holderNumber(const std::string& client_id) const;
  // Takes the promotion target of `key` placed for holder `number` (nullopt: none).
  std::optional<Placement> takePromotionTarget(uint32_t number, const std::string& key);
  // Forgets the promotion target of `key` if it lies on `segment` (which is going); true then.
  bool dropPromotionOn(uint32_t number, const std::string& key, SegmentId segment);
  // Signalled whenever an offload lands or fails (a put waiting for room looks again).
  std::mutex offload_wait_mutex_;
  std::condition_variable offload_landed_;
  uint64_t offload_landings_ = 0;  // GUARDED_BY(offload_wait_mutex_)
  mutable std::mutex disk_mutex_;
  std::unordered_map<uint32_t, DiskHolder> disk_holders_;     // GUARDED_BY(disk_mutex_)
  std::unordered_map<std::string, uint32_t> holder_numbers_;  // GUARDED_BY(disk_mutex_)
  uint32_t next_holder_number_ = 1;                           // GUARDED_BY(disk_mutex_)
  // Seeded with the wall clock in ns, so a restarted master never hands out a version it
  // already gave (it would need more than one write per nanosecond to catch up).
  std::atomic<uint64_t> next_version_;
  std::atomic<uint16_t> fast_rpc_port_{0};
  // Filled in the constructor and never changed, so lookups need no lock.
  std::map<std::string, std::unique_ptr<LatencyHistogram>, std::less<>> latencies_;
};

}  // namespace mooncake::store
