// The in-process side of the node daemon split (upstream's "dummy client", setup_dummy): the
// Store calls of store::Client with the same signatures, results and codes, carried out by the
// node's mooncake_client over a local socket. The dummy's memory pool and staging buffer are a
// shared memory file the daemon maps, so zero-copy calls on pool memory move bytes between the
// cluster and this process with no copy at all; the copying calls copy into the staging buffer
// once (as a real client copies into its local buffer), and caller memory outside the pool that
// was registered with registerBuffer takes one more copy through the staging buffer.
//
// Thread-safe: any number of threads may call one DummyClient (each call uses one of a pool of
// connections to the daemon).
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "mooncake/store/client.h"
#include "store/client/daemon/daemon_channel.h"
#include "store/client/daemon/shared_arena.h"

namespace mooncake::store {

struct DummyClientOptions {
  uint64_t mem_pool_size = 0;      // alloc_from_mem_pool memory
  uint64_t local_buffer_size = 0;  // staging for the copying calls
  // The daemon's address as upstream spells it ("127.0.0.1:50052"): its port names the socket.
  std::string server_address = "127.0.0.1:50052";
  // How long a call waits for the daemon's answer (a get may wait for a slow transfer).
  std::chrono::milliseconds reply_timeout{120000};
};

class DummyClient {
 public:
  // Maps the shared memory and says hello to the daemon. Errors: INVALID_PARAMS (address,
  // sizes), ERR_MEMORY, RPC_FAIL when no daemon answers.
  static Result<std::unique_ptr<DummyClient>> create(const DummyClientOptions& options);

  // Pool memory (already visible to the daemon), or 0 when the pool has no room.
  uint64_t allocFromMemPool(uint64_t size) { return arena_->allocateFromPool(size); }
  // Bytes of shared memory from `address` to its end (0 when the address is not in it): such
  // memory needs no register_buffer.
  uint64_t sharedCapacity(uint64_t address) const {
    auto offset = arena_->offsetOf(reinterpret_cast<const void*>(address), 0);
    return offset ? arena_->size() - *offset : 0;
  }

  Status putParts(const std::string& key, const std::vector<std::string_view>& parts,
                  const ReplicateConfig& config = {});
  Status upsertParts(const std::string& key, const std::vector<std::string_view>& parts,
                     const ReplicateConfig& config = {});
  std::vector<Status> batchPut(const std::vector<std::string>& keys,
                               const std::vector<std::string_view>& values,
                               const ReplicateConfig& config = {});
  std::vector<Status> batchUpsert(const std::vector<std::string>& keys,
                                  const std::vector<std::string_view>& values,
                                  const ReplicateConfig& config = {});
  Result<std::shared_ptr<ObjectBuffer>> getBuffer(const std::string& key);
  std::vector<Result<std::shared_ptr<ObjectBuffer>>> batchGetBuffer(
      const std::vector<std::string>& keys);
  // Client's calls of these names: here through the shared buffer and one copy.
  Result<uint64_t> getIntoRoom(const std::string& key, const Client::RoomFor& room);
  std::vector<Result<uint64_t>> batchGetIntoRooms(const std::vector<std::string>& keys,
                                                  const Client::RoomFor& room);

  Status registerBuffer(void* buffer, size_t size);
  Status unregisterBuffer(void* buffer);
  Status putFrom(const std::string& key, const void* buffer, size_t size,
                 const ReplicateConfig& config = {});
  Status upsertFrom(const std::string& key, const void* buffer, size_t size,
                    const ReplicateConfig& config = {});
  Result<uint64_t> getInto(const std::string& key, void* buffer, size_t size);
  Result<uint64_t> getIntoRanges(const std::string& key, const std::vector<Client::Range>& ranges);
  std::vector<std::vector<Status>> batchGetIntoRanges(
      const std::vector<std::string>& keys, const std::vector<std::vector<Client::Range>>& ranges);
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
  std::vector<Status> batchPutFromMultiBuffers(const std::vector<std::string>& keys,
                                               const std::vector<std::vector<MemoryRun>>& runs,
                                               const ReplicateConfig& config = {});
  std::vector<Result<uint64_t>> batchGetIntoMultiBuffers(
      const std::vector<std::string>& keys, const std::vector<std::vector<MemoryRun>>& runs);

  std::vector<Result<bool>> batchIsExist(const std::vector<std::string>& keys);
  std::vector<Status> batchRemove(const std::vector<std::string>& keys, bool force = false);
  Result<std::vector<ReplicaLocation>> getReplicaLocations(const std::string& key);
  std::vector<Result<std::vector<ReplicaLocation>>> batchGetReplicaLocations(
      const std::vector<std::string>& keys);
  Result<bool> isExist(const std::string& key);
  Result<uint64_t> getSize(const std::string& key);
  Status remove(const std::string& key, bool force = false);
  Result<uint64_t> removeAll(bool force = false);
  Result<uint64_t> removeByRegex(const std::string& pattern, bool force = false);
  Result<std::vector<std::string>> batchReplicaClear(const std::vector<std::string>& keys,
                                                     const std::string& segment_name = "");

  // The daemon's view: its heartbeat reaches the master (false also when the daemon is gone).
  bool masterReachable() const;
  // The daemon's segment name: objects a dummy puts with prefer_alloc_in_same_node land there.
  std::string segmentName() const;

 private:
  class Request;  // dummy_client.cc: one call's memory placement and wire encoding

  DummyClient(std::shared_ptr<daemon::SharedArena> arena,
              std::unique_ptr<daemon::DaemonChannel> channel)
      : arena_(std::move(arena)), channel_(std::move(channel)) {}
  std::vector<Status> write(const std::vector<std::string>& keys,
                            const std::vector<std::vector<MemoryRun>>& runs,
                            const ReplicateConfig& config, bool upsert);
  std::vector<Status> writeCopies(const std::vector<std::string>& keys,
                                  const std::vector<std::vector<std::string_view>>& values,
                                  const ReplicateConfig& config, bool upsert);
  // `needed`, when given: per key, the object's size when its room was too small (else 0).
  std::vector<Result<uint64_t>> read(const std::vector<std::string>& keys,
                                     const std::vector<std::vector<MemoryRun>>& runs,
                                     std::vector<uint64_t>* needed = nullptr);
  // Reads keys into staging blocks sized from size_guess_ (again at their size when the guess
  // was short).
  std::vector<Result<std::shared_ptr<ObjectBuffer>>> readStaged(
      const std::vector<std::string>& keys);
  // A meta call's reply, or the call's error.
  Result<std::string> call(daemon::Op op, const std::string& payload) {
    return channel_->call(op, payload);
  }
  // Registered caller memory outside the pool that holds [buffer, buffer + size).
  bool registeredOutsidePool(const void* buffer, size_t size) const;

  const std::shared_ptr<daemon::SharedArena> arena_;
  const std::unique_ptr<daemon::DaemonChannel> channel_;
  // The size of the last object read: how much room a get of an unknown size starts with.
  std::atomic<uint64_t> size_guess_{64 * 1024};
  mutable std::mutex regions_mutex_;
  std::map<uint64_t, uint64_t> regions_;  // start -> size; GUARDED_BY(regions_mutex_)
};

}  // namespace mooncake::store
