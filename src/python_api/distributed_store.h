// MooncakeDistributedStore's semantics in C++, for the Python binding (which only converts
// types): setup from arguments or a config map, close and setup again, upstream's integer
// results (0 / bytes / 1-0 on success, a negative StoreErrorCode or TE ErrorCode on failure),
// and buffer handles over the client's local buffer.
//
// Thread-safe: any number of threads may call one object; setup/close wait for calls in flight.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <vector>

#include "mooncake/store/client.h"
#include "store/client/daemon/dummy_client.h"

namespace mooncake::python_api {

struct StoreSetup {
  std::string local_hostname;
  std::string metadata_server;
  uint64_t global_segment_size = 16ull << 20;
  uint64_t local_buffer_size = 16ull << 20;
  std::string protocol = "tcp";
  std::string rdma_devices;
  std::string master_server_addr = "127.0.0.1:50051";
  // The disk tier (docs/STORE.md "Disk tier"): ssd_offload_path, else
  // MOONCAKE_OFFLOAD_FILE_STORAGE_PATH.
  bool enable_ssd_offload = false;
  std::string ssd_offload_path;
  // Upstream's later arguments. Only their defaults are implemented in this build; any other
  // value fails setup with NOT_SUPPORTED and a message naming the argument.
  std::string tenant_id = "default";
  bool enable_client_http_server = false;
  int64_t client_http_port = 9300;
  // setup(engine=...): an initialized Transfer Engine the store shares (its segment and
  // staging memory are registered on it). Not owned; the binding keeps it alive.
  TransferEngine* engine = nullptr;
};

class DistributedStore {
 public:
  DistributedStore() = default;
  ~DistributedStore() { close(); }
  DistributedStore(const DistributedStore&) = delete;
  DistributedStore& operator=(const DistributedStore&) = delete;

  int setup(const StoreSetup& setup);
  // Keys as upstream's dict form: local_hostname and metadata_server required;
  // global_segment_size / local_buffer_size accept sizes such as "16MB", "16 MB", "1GiB";
  // master_server_addr (or master_server_address), protocol, rdma_devices (or device_name).
  // Unknown keys are ignored with a warning; a bad value fails with INVALID_PARAMS.
  int setupFromConfig(const std::map<std::string, std::string>& config);
  // Upstream's setup_dummy: the store calls go to the node's mooncake_client at
  // `server_address` ("127.0.0.1:50052"), with `mem_pool_size` bytes of shared memory for
  // alloc_from_mem_pool and `local_buffer_size` bytes of shared staging (docs/STORE.md).
  int setupDummy(uint64_t mem_pool_size, uint64_t local_buffer_size,
                 const std::string& server_address);
  // Dummy pool memory (address), or 0 when there is no room or this is not a dummy.
  uint64_t allocFromMemPool(uint64_t size);
  // Unmounts and frees everything; the object can be set up again. 0 also when not set up.
  int close();
  std::string hostname() const;
  // The complete replicas of a key (empty when absent or on error); the batch form leaves out
  // keys that are absent or failed, as upstream.
  std::vector<store::ReplicaLocation> replicaLocations(const std::string& key);
  std::map<std::string, std::vector<store::ReplicaLocation>> batchReplicaLocations(
      const std::vector<std::string>& keys);
  // upstream's health_check(): 0 healthy, 1 not set up (or closed), 2 master unreachable.
  int healthCheck() const;

  // Copying API.
  int put(const std::string& key, std::string_view value, const store::ReplicateConfig& config);
  int upsert(const std::string& key, std::string_view value, const store::ReplicateConfig& config);
  int putParts(const std::string& key, const std::vector<std::string_view>& parts,
               const store::ReplicateConfig& config);
  int upsertParts(const std::string& key, const std::vector<std::string_view>& parts,
                  const store::ReplicateConfig& config);
  // 0 when every key was stored, else the first failure's code.
  int putBatch(const std::vector<std::string>& keys, const std::vector<std::string_view>& values,
               const store::ReplicateConfig& config);
  int upsertBatch(const std::vector<std::string>& keys, const std::vector<std::string_view>& values,
                  const store::ReplicateConfig& config);
  // Zero-copy API over caller memory given as addresses.
  int registerBuffer(uint64_t address, uint64_t size);
  int unregisterBuffer(uint64_t address);
  int putFrom(const std::string& key, uint64_t address, uint64_t size,
              const store::ReplicateConfig& config);
  int upsertFrom(const std::string& key, uint64_t address, uint64_t size,
                 const store::ReplicateConfig& config);
  // Bytes read, or a negative code (BUFFER_OVERFLOW when size < the object).
  int64_t getInto(const std::string& key, uint64_t address, uint64_t size);
  std::vector<int> batchPutFrom(const std::vector<std::string>& keys,
                                const std::vector<uint64_t>& addresses,
                                const std::vector<uint64_t>& sizes,
                                const store::ReplicateConfig& config);
  std::vector<int> batchUpsertFrom(const std::vector<std::string>& keys,
                                   const std::vector<uint64_t>& addresses,
                                   const std::vector<uint64_t>& sizes,
                                   const store::ReplicateConfig& config);
  std::vector<int64_t> batchGetInto(const std::vector<std::string>& keys,
                                    const std::vector<uint64_t>& addresses,
                                    const std::vector<uint64_t>& sizes);
  // Multi-buffer forms: key i's object is the concatenation of the runs (addresses[i][k],
  // sizes[i][k]). INVALID_PARAMS for every key when the outer lists differ in length, for one
  // key when its inner lists do. Get results: bytes read, or a negative code.
  std::vector<int> batchPutFromMultiBuffers(const std::vector<std::string>& keys,
                                            const std::vector<std::vector<uint64_t>>& addresses,
                                            const std::vector<std::vector<uint64_t>>& sizes,
                                            const store::ReplicateConfig& config);
  std::vector<int64_t> batchGetIntoMultiBuffers(const std::vector<std::string>& keys,
                                                const std::vector<std::vector<uint64_t>>& addresses,
                                                const std::vector<std::vector<uint64_t>>& sizes);
  // Upstream's buffer-major form: for buffer i and its keys all_keys[i][j], fragment k reads
  // src_offsets[i][j][k] .. +sizes[i][j][k] of the object into buffer_ptrs[i] + dst_offsets.
  // Result [i][j][k]: bytes read or a negative code. INVALID_PARAMS for everything when the
  // outer lists differ, for a buffer not registered with register_buffer, for a key whose
  // lists differ, and for a fragment past the buffer's or the object's end; the key's error
  // (OBJECT_NOT_FOUND, ...) for each of its fragments. One master round trip for the call.
  using Grid = std::vector<std::vector<std::vector<int64_t>>>;
  using Offsets = std::vector<std::vector<std::vector<uint64_t>>>;
  Grid getIntoRangesByBuffer(const std::vector<uint64_t>& buffer_ptrs,
                             const std::vector<std::vector<std::string>>& all_keys,
                             const Offsets& all_dst_offsets, const Offsets& all_src_offsets,
                             const Offsets& all_sizes);
  // Range i: sizes[i] bytes at object offset offsets[i] into addresses[i]. Total bytes read, or a
  // negative code.
  int64_t getIntoRanges(const std::string& key, const std::vector<uint64_t>& addresses,
                        const std::vector<uint64_t>& offsets, const std::vector<uint64_t>& sizes);
  // The object read into the local buffer; null when absent or on error (the binding builds
  // `get`'s bytes from it: b"" when absent, upstream's contract).
  std::shared_ptr<store::ObjectBuffer> getBuffer(const std::string& key);
  std::vector<std::shared_ptr<store::ObjectBuffer>> batchGetBuffer(
      const std::vector<std::string>& keys);
  // Objects read straight into memory `room(index, size)` gives (`get`'s bytes objects, without
  // a staging copy); null from room fails that key. Each object's size, or a negative code
  // (failures logged as getBuffer's).
  using RoomFor = std::function<void*(size_t index, uint64_t size)>;
  int64_t getIntoRoom(const std::string& key, const RoomFor& room);
  std::vector<int64_t> batchGetIntoRooms(const std::vector<std::string>& keys, const RoomFor& room);

  // Metadata calls.
  int isExist(const std::string& key);  // 1, 0, or negative
  std::vector<int> batchIsExist(const std::vector<std::string>& keys);
  int64_t getSize(const std::string& key);
  int remove(const std::string& key, bool force);
  // Keys cleared; empty when not set up or on error (logged).
  std::vector<std::string> batchReplicaClear(const std::vector<std::string>& keys,
                                             const std::string& segment_name);
  int64_t removeByRegex(const std::string& pattern, bool force);
  int64_t removeAll(bool force);
  std::vector<int> batchRemove(const std::vector<std::string>& keys, bool force);

 private:
  // Runs `call` on the client (a store::Client or a store::DummyClient, which have the same
  // calls) under the shared lock, or returns `not_set_up` when there is none.
  template <typename Call, typename Fallback>
  auto withClient(Call&& call, Fallback&& not_set_up);

  // Bytes registered at [start, start + size) via registerBuffer, for get_into_ranges.
  uint64_t registeredCapacity(uint64_t address) const;

  mutable std::shared_mutex mutex_;            // shared: calls; exclusive: setup/close
  std::unique_ptr<store::Client> client_;      // GUARDED_BY(mutex_)
  std::unique_ptr<store::DummyClient> dummy_;  // GUARDED_BY(mutex_); set instead of client_
  mutable std::mutex regions_mutex_;
  std::map<uint64_t, uint64_t> regions_;  // start -> size; GUARDED_BY(regions_mutex_)
};

}  // namespace mooncake::python_api
