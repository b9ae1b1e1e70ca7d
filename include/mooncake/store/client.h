// Mooncake Store client: contributes memory to the cluster (a mounted segment) and puts/gets
// objects by moving bytes directly between clients' segments with the Transfer Engine; the
// master only hands out addresses.
//
// Thread-safe: any number of threads may call one Client. The destructor unmounts the segment
// and stops the heartbeat.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "mooncake/common/status.h"
#include "mooncake/store/replicate_config.h"

namespace mooncake {
class TransferEngine;
}  // namespace mooncake

namespace mooncake::store {

struct ClientOptions {
  std::string local_hostname;   // Transfer Engine local_server_name (host[:port])
  std::string metadata_server;  // P2PHANDSHAKE, http://..., etcd://..., redis://...
  std::string protocol = "tcp";
  // host:port of mooncake_master, or etcd://h1:2379;h2:2379 to follow the HA leader
  std::string master_server_address = "127.0.0.1:50051";
  // Memory this client contributes to the cluster (0 = pure client).
  uint64_t global_segment_size = 16ull << 20;
  // Registered staging memory for the copying API put/get (0 = zero-copy API only).
  uint64_t local_buffer_size = 16ull << 20;
  std::chrono::milliseconds ping_interval{1000};
  std::chrono::milliseconds rpc_timeout{5000};
  std::chrono::seconds transfer_timeout{60};
  // Keys whose replica location this client remembers (0 = none). A get of a remembered key
  // reads that replica while it asks the master, and keeps the bytes only if the master answers
  // with the same object version and replica, so gets of keys read before take about one round
  // trip instead of two. Environment: MC_STORE_REMEMBERED_LOCATIONS.
  size_t remembered_locations = 65536;
  // Single puts of values up to reserved_put_max_bytes use space the master reserved ahead for this
  // client (each commit brings the next reservation), so such a put is its write plus one round
  // trip instead of PutStart, write, PutEnd. A put of a key that exists then costs the write before
  // the master says so. Environment: MC_STORE_RESERVED_PUTS (0 = off).
  bool reserved_puts = true;
  // The largest value a reserved put takes (single puts, and batches of up to 32 values; 1 MiB:
  // 1 MiB puts over TCP +15-18%, docs/BENCHMARKS.md; plus 4 KiB, so that a 1 MiB value with a
  // small header, such as put_tensor's 304 bytes, qualifies). Larger values save a round trip too,
  // but a put of an existing key costs a whole write before the master says it exists, and idle
  // reservations hold more memory. Environment: MC_STORE_RESERVED_PUT_MAX_BYTES (0-64 MiB).
  uint64_t reserved_put_max_bytes = (1 << 20) + (4 << 10);
  // An initialized Transfer Engine to share (upstream's setup(engine=...)): the client
  // registers its segment and staging memory on it instead of starting its own, and takes
  // them out again when it goes. Not owned; must outlive the client. Null: own engine.
  TransferEngine* engine = nullptr;
  // The cluster secret this client proves to the master and to other clients' Transfer Engines
  // (docs/SECURITY.md). nullopt: the environment's (MC_AUTH_SECRET_FILE, else MC_AUTH_SECRET;
  // neither: none); "": none. A shared engine keeps its own.
  std::optional<std::string> auth_secret;
  // A disk tier under this client's segment (docs/STORE.md "Disk tier"; upstream's
  // setup(enable_ssd_offload=True, ssd_offload_path=...)): objects the master offloads here are
  // kept in `disk_tier_path` ("": MOONCAKE_OFFLOAD_FILE_STORAGE_PATH) and served to readers from
  // there. Needs a segment and a master with --enable_offload; sizes and intervals come from
  // MOONCAKE_OFFLOAD_* variables.
  bool enable_disk_tier = false;
  std::string disk_tier_path;
};

// A client's disk tier, for metrics (Client::diskTierStats).
struct ClientDiskTierStats {
  uint64_t objects = 0;
  uint64_t bytes = 0;
  uint64_t capacity = 0;
  uint64_t file_bytes = 0;
  uint64_t written_objects = 0;
  uint64_t written_bytes = 0;
  uint64_t read_objects = 0;
  uint64_t read_bytes = 0;
  uint64_t checksum_failures = 0;
  uint64_t evicted_objects = 0;
  uint64_t recovered_objects = 0;
  uint64_t offloaded = 0;
  uint64_t offload_rejected = 0;
  uint64_t offload_failed = 0;
  uint64_t promoted = 0;
  uint64_t staged_reads = 0;
  bool accepting = true;
  bool direct_io = false;
  std::string path;
  std::string endpoint;
};

// How the single puts went (Client::writeStats).
struct ClientWriteStats {
  uint64_t reserved = 0;  // puts committed onto reserved space (write + one round trip)
  uint64_t fallback = 0;  // puts that went through PutStart/PutEnd after a reservation failed
};

// How the single-key reads went (Client::readStats).
struct ClientReadStats {
  uint64_t overlapped = 0;  // gets served from a remembered replica (lookup and read overlapped)
  uint64_t stale = 0;       // remembered replica had changed: read again from the master's list
};

// An object's bytes in the client's registered local buffer (getBuffer). The space returns to
// the local buffer when the last reference goes; the memory stays valid even after the client
// is destroyed.
class ObjectBuffer {
 public:
  ObjectBuffer(const char* data, uint64_t size, std::shared_ptr<void> owner,
               std::function<void()> release)
      : data_(data), size_(size), owner_(std::move(owner)), release_(std::move(release)) {}
  ~ObjectBuffer() {
    if (release_) release_();
  }
  ObjectBuffer(const ObjectBuffer&) = delete;
  ObjectBuffer& operator=(const ObjectBuffer&) = delete;
  const char* data() const { return data_; }
  uint64_t size() const { return size_; }

 private:
  const char* data_;
  uint64_t size_;
  std::shared_ptr<void> owner_;  // keeps the local buffer mapped
  std::function<void()> release_;
};

// A run of caller memory (registered with Client::registerBuffer or the local buffer). In the
// multi-buffer calls an object is the concatenation of its runs, in order.
struct MemoryRun {
  void* buffer = nullptr;
  size_t size = 0;
};

// Where one complete replica of an object lives (getReplicaDescriptors).
struct ReplicaLocation {
  std::string transport_endpoint;  // the holder's Transfer Engine segment name
  uint64_t buffer_address = 0;     // in the holder's segment
  uint64_t size = 0;               // the object's size
  // A disk tier copy: the holder's disk service (host:port); buffer_address is 0 then.
  std::string disk_endpoint;
};

class Client {
 public:
  // Starts the Transfer Engine, allocates and mounts the segment, starts the heartbeat.
  static Result<std::unique_ptr<Client>> create(const ClientOptions& options);
  ~Client();
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  // Copying API. An existing key is left as it is (OK). Values below 64 KiB are copied into the
  // local buffer first; larger ones (and all when local_buffer_size is 0) are written from the
  // caller's memory, registered with the Transfer Engine for the call. get() reads straight into
  // the returned string. Errors: NO_AVAILABLE_HANDLE, TRANSFER_FAIL, BUFFER_OVERFLOW (a small
  // value finds no room in the local buffer), RPC_FAIL.
  Status put(const std::string& key, const void* data, size_t size,
             const ReplicateConfig& config = {});
  // Errors: OBJECT_NOT_FOUND, LEASE_EXPIRED (the read outlived its lease; data not trusted),
  // TRANSFER_FAIL (every replica failed), BUFFER_OVERFLOW.
  Result<std::string> get(const std::string& key);
  // Insert-or-update: replaces the value of an existing key (in place when the size is the
  // same and no reader holds a lease). Readers see REPLICA_IS_NOT_READY while it is written.
  // Errors as put, plus OBJECT_ALREADY_EXISTS when another put of the key is in progress.
  Status upsert(const std::string& key, const void* data, size_t size,
                const ReplicateConfig& config = {});
  // One object made of the parts in order (one staging copy, no concatenation by the caller).
  Status putParts(const std::string& key, const std::vector<std::string_view>& parts,
                  const ReplicateConfig& config = {});
  Status upsertParts(const std::string& key, const std::vector<std::string_view>& parts,
                     const ReplicateConfig& config = {});
  // Batch copying forms: per-key results in request order, one master round trip per phase.
  std::vector<Status> batchPut(const std::vector<std::string>& keys,
                               const std::vector<std::string_view>& values,
                               const ReplicateConfig& config = {});
  std::vector<Status> batchUpsert(const std::vector<std::string>& keys,
                                  const std::vector<std::string_view>& values,
                                  const ReplicateConfig& config = {});
  std::vector<Result<std::string>> batchGet(const std::vector<std::string>& keys);
  // Reads objects into the local buffer without a further copy (the Python BufferHandle).
  // Errors as get(), plus BUFFER_OVERFLOW when the local buffer has no room.
  Result<std::shared_ptr<ObjectBuffer>> getBuffer(const std::string& key);
  std::vector<Result<std::shared_ptr<ObjectBuffer>>> batchGetBuffer(
      const std::vector<std::string>& keys);
  // Memory for object `index` of a getIntoRoom/batchGetIntoRooms call once its size is known:
  // `size` writable bytes (any memory of the process) that stay valid until the call returns.
  // Called again for the same index if the object's size changed meanwhile; the memory it gave
  // before is then no longer used. An error fails that key.
  using RoomFor = std::function<Result<void*>(size_t index, uint64_t size)>;
  // Reads objects straight into memory the caller makes for them (e.g. a Python bytes object):
  // no staging copy. The memory is registered with the Transfer Engine, local only, for the read.
  // Returns each object's size, which can be below the size asked for if it shrank. Errors as
  // get(), plus the room's own.
  Result<uint64_t> getIntoRoom(const std::string& key, const RoomFor& room);
  std::vector<Result<uint64_t>> batchGetIntoRooms(const std::vector<std::string>& keys,
                                                  const RoomFor& room);

  // Zero-copy API over memory registered with registerBuffer.
  Status registerBuffer(void* buffer, size_t size);
  Status unregisterBuffer(void* buffer);
  Status putFrom(const std::string& key, const void* buffer, size_t size,
                 const ReplicateConfig& config = {});
  Status upsertFrom(const std::string& key, const void* buffer, size_t size,
                    const ReplicateConfig& config = {});
  // Returns the object's size. Errors as get(), plus BUFFER_OVERFLOW when size < object size.
  Result<uint64_t> getInto(const std::string& key, void* buffer, size_t size);
  // Reads byte ranges of one object straight into registered memory (one lease, one replica,
  // one Transfer Engine batch). Returns the bytes read. INVALID_PARAMS for a range past the end.
  struct Range {
    uint64_t offset = 0;  // within the object
    uint64_t length = 0;
    void* buffer = nullptr;
  };
  Result<uint64_t> getIntoRanges(const std::string& key, const std::vector<Range>& ranges);
  // Byte ranges of many objects (ranges[i] are keys[i]'s; a key may repeat): one master round
  // trip and one Transfer Engine batch. A status per range: OK, INVALID_PARAMS for a range past
  // its object's end (that range only), the key's error for each of its ranges
  // (OBJECT_NOT_FOUND, ...), TRANSFER_FAIL when every replica failed, LEASE_EXPIRED.
  std::vector<std::vector<Status>> batchGetIntoRanges(
      const std::vector<std::string>& keys, const std::vector<std::vector<Range>>& ranges);

  // Batch zero-copy forms: one master round trip and one Transfer Engine batch for all keys.
  // Results are per key, in request order; one key's failure does not fail the others.
  std::vector<Status> batchPutFrom(const std::vector<std::string>& keys,
                                   const std::vector<const void*>& buffers,
                                   const std::vector<size_t>& sizes,
                                   const ReplicateConfig& config = {});
  std::vector<Result<uint64_t>> batchGetInto(const std::vector<std::string>& keys,
                                             const std::vector<void*>& buffers,
                                             const std::vector<size_t>& sizes);
  std::vector<Status> batchUpsertFrom(const std::vector<std::string>& keys,
                                      const std::vector<const void*>& buffers,
                                      const std::vector<size_t>& sizes,
                                      const ReplicateConfig& config = {});
  // Multi-buffer forms (KV cache laid out per layer): key i's object is the concatenation of
  // runs[i] (put), or is scattered over runs[i] in order (get; their total must hold it, and
  // the result is the object's size). One master round trip per phase and one Transfer Engine
  // batch for the whole call. INVALID_PARAMS for every key when the lists differ in length.
  std::vector<Status> batchPutFromMultiBuffers(const std::vector<std::string>& keys,
                                               const std::vector<std::vector<MemoryRun>>& runs,
                                               const ReplicateConfig& config = {});
  std::vector<Result<uint64_t>> batchGetIntoMultiBuffers(
      const std::vector<std::string>& keys, const std::vector<std::vector<MemoryRun>>& runs);
  std::vector<Result<bool>> batchIsExist(const std::vector<std::string>& keys);
  std::vector<Status> batchRemove(const std::vector<std::string>& keys, bool force = false);

  // The object's complete replicas (this grants a read lease, as a get's lookup does).
  // Errors: OBJECT_NOT_FOUND, RPC_FAIL. The batch form answers per key.
  Result<std::vector<ReplicaLocation>> getReplicaLocations(const std::string& key);
  std::vector<Result<std::vector<ReplicaLocation>>> batchGetReplicaLocations(
      const std::vector<std::string>& keys);
  Result<bool> isExist(const std::string& key);
  Result<uint64_t> getSize(const std::string& key);
  Status remove(const std::string& key, bool force = false);
  Result<uint64_t> removeAll(bool force = false);
  Result<uint64_t> removeByRegex(const std::string& pattern, bool force = false);
  // Drops the replicas of keys this client wrote that no reader holds a lease on: those on
  // `segment_name`, or all of them when it is empty (an object without replicas is removed).
  // Returns the keys cleared; the others are left as they are. Errors: RPC_FAIL.
  Result<std::vector<std::string>> batchReplicaClear(const std::vector<std::string>& keys,
                                                     const std::string& segment_name = "");

  // False when the heartbeat has not reached the master for three intervals (at least 3 s).
  bool masterReachable() const;
  // The Transfer Engine segment name of this client (what replicas on it report).
  std::string segmentName() const;
  ClientReadStats readStats() const;
  // nullopt: this client has no disk tier.
  std::optional<ClientDiskTierStats> diskTierStats() const;
  // Prometheus text of the disk tier (mooncake_disk_tier_*); "" without one.
  std::string diskTierMetrics() const;
  ClientWriteStats writeStats() const;

 private:
  struct Impl;
  explicit Client(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace mooncake::store
