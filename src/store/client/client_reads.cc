// Client: the read paths (single key, batched, byte ranges).
#include <deque>
#include <future>

#include "common/wait_look.h"
#include "store/client/client_impl.h"

namespace mooncake::store {
namespace {

Status bufferTooSmall(const std::string& key, uint64_t object_size, size_t capacity) {
  return Status::storeError(StoreErrorCode::BUFFER_OVERFLOW,
                            "key '" + key + "' holds " + std::to_string(object_size) +
                                " bytes; the buffer has " + std::to_string(capacity));
}

Status noReplica(const std::string& key) {
  return Status::storeError(StoreErrorCode::REPLICA_IS_GONE, "key '" + key + "' has no replica");
}

}  // namespace

Status Client::Impl::checkLease(const std::string& key,
                                std::chrono::steady_clock::time_point started,
                                uint64_t lease_ttl_ms) {
  if (std::chrono::steady_clock::now() - started < std::chrono::milliseconds(lease_ttl_ms)) {
    return Status::OK();
  }
  return Status::storeError(StoreErrorCode::LEASE_EXPIRED,
                            "key '" + key + "': the read took longer than its " +
                                std::to_string(lease_ttl_ms) + " ms lease");
}

Result<uint64_t> Client::Impl::readInto(const std::string& key, char* buffer, size_t capacity) {
  auto started = std::chrono::steady_clock::now();
  if (auto remembered = locations.find(key); remembered && capacity >= remembered->replica.size &&
                                             !recentlyFailed(remembered->replica.te_endpoint)) {
    if (auto outcome = readRemembered(key, *remembered, buffer, capacity, started)) {
      return std::move(*outcome);
    }
  }
  MC_ASSIGN_OR_RETURN(ReplicaList list, master.getReplicaList(key));
  return readListed(key, std::move(list), buffer, capacity, started);
}

std::optional<Result<uint64_t>> Client::Impl::readRemembered(
    const std::string& key, const RememberedReplica& remembered, char* buffer, size_t capacity,
    std::chrono::steady_clock::time_point started) {
  const ReplicaDescriptor& replica = remembered.replica;
  auto target_segment = engine.openSegment(replica.te_endpoint);
  if (!target_segment.ok()) return std::nullopt;
  char* target = buffer;
  // One attempt only: if this read fails, the master's list says where else to read.
  constexpr int kNoRetries = 127;
  auto read = startTasks({{TransferRequest::READ, target, *target_segment, replica.address,
                           replica.size, kNoRetries}});
  Result<ReplicaList> list = master.getReplicaList(key);
  // The read must be over before the buffer is used again, whatever the master said.
  bool read_ok = false;
  if (read.ok()) {
    auto completed = finishTasks(*read);
    read_ok = completed.ok() && completed->front();
    if (!read_ok) markFailed(replica.te_endpoint);  // read the master's other replicas first
  }
  if (list.ok() && read_ok && stillValid(remembered, *list)) {
    Status status = checkLease(key, started, list->lease_ttl_ms);
    if (!status.ok()) return Result<uint64_t>(status);
    overlapped_reads.fetch_add(1, std::memory_order_relaxed);
    return Result<uint64_t>(replica.size);
  }
  stale_overlapped_reads.fetch_add(1, std::memory_order_relaxed);
  locations.forget(key);
  if (!list.ok()) return Result<uint64_t>(list.status());
  return readListed(key, std::move(*list), buffer, capacity, started);
}

Result<uint64_t> Client::Impl::readListed(const std::string& key, ReplicaList list, char* buffer,
                                          size_t capacity,
                                          std::chrono::steady_clock::time_point started) {
  if (list.replicas.empty()) return noReplica(key);
  MC_ASSIGN_OR_RETURN(auto disk, stageDiskReplica(key, list));
  uint64_t size = list.replicas.front().size;
  orderForReading(list.replicas);
  if (capacity < size) return bufferTooSmall(key, size, capacity);
  auto used = readFromReplicas({{0, size, buffer}}, list.replicas);
  Status status = used.status();
  if (status.ok()) status = checkLease(key, started, list.lease_ttl_ms);
  if (!status.ok()) return status;
  locations.remember(key, list.version, list.replicas[*used]);
  return size;
}

// Requests reading the first `size` bytes of the object at `address` in `target` into the runs,
// in order. The runs must hold `size` bytes.
static void appendReads(std::span<const MemoryRun> runs, uint64_t size, SegmentHandle target,
                        uint64_t address, int retries_used,
                        std::vector<TransferRequest>& requests) {
  uint64_t offset = 0;
  for (const MemoryRun& run : runs) {
    if (offset >= size) break;
    uint64_t length = std::min<uint64_t>(run.size, size - offset);
    if (length > 0) {
      requests.push_back(
          {TransferRequest::READ, run.buffer, target, address + offset, length, retries_used});
    }
    offset += length;
  }
}

Result<uint64_t> Client::Impl::readScattered(const std::string& key,
                                             std::span<const MemoryRun> runs) {
  if (runs.size() == 1) {
    return readInto(key, static_cast<char*>(runs[0].buffer), runs[0].size);
  }
  auto started = std::chrono::steady_clock::now();
  MC_ASSIGN_OR_RETURN(ReplicaList list, master.getReplicaList(key));
  if (list.replicas.empty()) return noReplica(key);
  MC_ASSIGN_OR_RETURN(auto disk, stageDiskReplica(key, list));
  const uint64_t size = list.replicas.front().size;
  const uint64_t capacity = totalSize(runs);
  if (capacity < size) return bufferTooSmall(key, size, capacity);
  std::vector<Range> ranges;
  uint64_t offset = 0;
  for (const MemoryRun& run : runs) {
    if (offset >= size) break;
    uint64_t length = std::min<uint64_t>(run.size, size - offset);
    ranges.push_back({offset, length, run.buffer});
    offset += length;
  }
  orderForReading(list.replicas);
  MC_RETURN_IF_ERROR(readFromReplicas(ranges, list.replicas).status());
  MC_RETURN_IF_ERROR(checkLease(key, started, list.lease_ttl_ms));
  return size;
}

std::vector<Result<uint64_t>> Client::Impl::readBatch(
    const std::vector<std::string>& keys, std::vector<Result<ReplicaList>>& lists,
    const Scatter& targets, std::chrono::steady_clock::time_point started) {
  using Outcome = Result<uint64_t>;
  std::vector<Outcome> out(keys.size(), Status::storeError(StoreErrorCode::RPC_FAIL, "no reply"));
  std::vector<size_t> memory_keys, disk_keys;
  for (size_t i = 0; i < keys.size() && i < lists.size(); ++i) {
    bool disk = lists[i].ok() && !lists[i]->replicas.empty() && lists[i]->replicas.front().isDisk();
    (disk ? disk_keys : memory_keys).push_back(i);
  }
  if (disk_keys.empty()) {
    readSelected(keys, lists, targets, started, memory_keys, out);
    return out;
  }
  // Disk objects go in waves of about kDiskWaveBytes: their holders stage the next
  // kDiskWaveDepth waves while one is read, so disk reads overlap the transfers.
  std::vector<std::vector<size_t>> waves;
  uint64_t wave_bytes = 0;
  for (size_t i : disk_keys) {
    if (waves.empty() || wave_bytes >= kDiskWaveBytes) {
      waves.emplace_back();
      wave_bytes = 0;
    }
    waves.back().push_back(i);
    wave_bytes += lists[i]->replicas.front().size;
  }
  std::deque<StagingJob> jobs;
  size_t launched = 0;
  auto launch = [&] {
    if (launched < waves.size()) jobs.push_back(startStaging(keys, lists, waves[launched++]));
  };
  for (size_t depth = 0; depth < kDiskWaveDepth; ++depth) launch();
  readSelected(keys, lists, targets, started, memory_keys, out);  // while the disks read
  std::vector<size_t> busy;  // no staging memory free at their holder yet
  bool progress = false;
  while (!jobs.empty()) {
    StagingJob job = std::move(jobs.front());
    jobs.pop_front();
    std::unique_ptr<DiskStagings> staged = job.staging.get();
    std::vector<bool> deferred(job.data->indices.size(), false);
    if (staged) {
      for (size_t j : staged->deferred) deferred[j] = true;
    }
    std::vector<size_t> ready;
    for (size_t j = 0; j < job.data->indices.size(); ++j) {
      const size_t i = job.data->indices[j];
      lists[i] = std::move(job.data->lists[j]);
      (deferred[j] ? busy : ready).push_back(i);
    }
    launch();
    progress = progress || !ready.empty();
    readSelected(keys, lists, targets, started, ready, out);
    if (staged) staged->release();  // read: its stagings go
  }
  if (busy.empty()) return out;
  if (!progress) {
    // Nothing could be staged at all: the holders' staging memory is full of other reads.
    for (size_t i : busy) {
      out[i] = Status::storeError(
          StoreErrorCode::NO_AVAILABLE_HANDLE,
          "key '" + keys[i] + "': its disk tier holder has no staging memory free; retry");
    }
    return out;
  }
  readSubset(keys, lists, targets, started, busy, out);  // the busy ones, once more
  return out;
}

Client::Impl::StagingJob Client::Impl::startStaging(const std::vector<std::string>& keys,
                                                    std::vector<Result<ReplicaList>>& lists,
                                                    const std::vector<size_t>& indices) {
  StagingJob job;
  job.data = std::make_shared<StagingJob::Data>();
  job.data->indices = indices;
  for (size_t i : indices) {
    job.data->keys.push_back(keys[i]);
    job.data->lists.push_back(std::move(lists[i]));  // back into `lists` once staged
  }
  job.staging = std::async(std::launch::async, [this, data = job.data] {
    return stageDiskReplicas(data->keys, data->lists);
  });
  return job;
}

void Client::Impl::readSelected(const std::vector<std::string>& keys,
                                std::vector<Result<ReplicaList>>& lists, const Scatter& targets,
                                std::chrono::steady_clock::time_point started,
                                const std::vector<size_t>& selected,
                                std::vector<Result<uint64_t>>& out) {
  std::vector<TransferRequest> requests;
  std::vector<size_t> owner;                // request -> key index
  std::vector<const std::string*> holders;  // request -> replica holder (in `lists`)
  for (size_t i : selected) {
    auto& list = lists[i];
    if (!list.ok()) {
      out[i] = list.status();
      continue;
    }
    if (list->replicas.empty()) {
      out[i] = noReplica(keys[i]);
      continue;
    }
    orderForReading(list->replicas);
    const ReplicaDescriptor& replica = list->replicas.front();
    const uint64_t capacity = totalSize(targets.of(i));
    if (capacity < replica.size) {
      out[i] = bufferTooSmall(keys[i], replica.size, capacity);
      continue;
    }
    auto target = engine.openSegment(replica.te_endpoint);
    if (!target.ok()) {
      markFailed(replica.te_endpoint);
      out[i] = readScattered(keys[i], targets.of(i));
      continue;
    }
    out[i] = replica.size;
    appendReads(targets.of(i), replica.size, *target, replica.address,
                retriesUsedWithFallback(list->replicas.size() > 1), requests);
    owner.resize(requests.size(), i);
    holders.resize(requests.size(), &replica.te_endpoint);
  }
  if (requests.empty()) return;
  auto completed = runTasks(requests);
  std::vector<bool> key_failed(keys.size(), false);
  for (size_t r = 0; r < requests.size(); ++r) {
    if (!completed.ok() || !(*completed)[r]) key_failed[owner[r]] = true;
  }
  for (size_t r = 0; r < requests.size(); ++r) {
    size_t i = owner[r];
    if (r + 1 < requests.size() && owner[r + 1] == i) continue;  // once per key, at its last
    if (!key_failed[i]) {
      Status lease = checkLease(keys[i], started, lists[i]->lease_ttl_ms);
      if (!lease.ok()) out[i] = lease;
      if (lease.ok()) locations.remember(keys[i], lists[i]->version, lists[i]->replicas.front());
    } else {
      // This replica failed: remember its holder, and the single-key path tries the others.
      markFailed(*holders[r]);
      out[i] = readScattered(keys[i], targets.of(i));
    }
  }
}

void Client::Impl::readSubset(const std::vector<std::string>& keys,
                              std::vector<Result<ReplicaList>>& lists, const Scatter& targets,
                              std::chrono::steady_clock::time_point started,
                              const std::vector<size_t>& indices,
                              std::vector<Result<uint64_t>>& out) {
  if (indices.empty()) return;
  if (indices.size() == keys.size()) {
    out = readBatch(keys, lists, targets, started);
    return;
  }
  std::vector<std::string> sub_keys;
  std::vector<Result<ReplicaList>> sub_lists;
  Scatter sub_targets;
  for (size_t i : indices) {
    sub_keys.push_back(keys[i]);
    sub_lists.push_back(std::move(lists[i]));
    for (const MemoryRun& run : targets.of(i)) sub_targets.runs.push_back(run);
    sub_targets.first.push_back(sub_targets.runs.size());
  }
  auto read = readBatch(sub_keys, sub_lists, sub_targets, started);
  for (size_t j = 0; j < indices.size(); ++j) out[indices[j]] = std::move(read[j]);
}

Client::Impl::OverlappedLookup Client::Impl::lookupOverlapped(
    const std::vector<std::string>& keys, const Scatter& targets,
    std::chrono::steady_clock::time_point started) {
  OverlappedLookup result{Status::OK(), std::vector<std::optional<Result<uint64_t>>>(keys.size())};
  std::vector<std::optional<RememberedReplica>> remembered(keys.size());
  std::vector<TransferRequest> requests;
  std::vector<size_t> owner;       // request -> key index
  constexpr int kNoRetries = 127;  // one attempt: the master's list says where else to read
  for (size_t i = 0; i < keys.size(); ++i) {
    auto found = locations.find(keys[i]);
    if (!found || recentlyFailed(found->replica.te_endpoint) ||
        totalSize(targets.of(i)) < found->replica.size) {
      continue;
    }
    auto segment = engine.openSegment(found->replica.te_endpoint);
    if (!segment.ok()) continue;
    appendReads(targets.of(i), found->replica.size, *segment, found->replica.address, kNoRetries,
                requests);
    owner.resize(requests.size(), i);
    remembered[i] = std::move(found);
  }
  auto flight = requests.empty() ? Result<TasksInFlight>(Status::storeError(
                                       StoreErrorCode::INVALID_PARAMS, "nothing remembered"))
                                 : startTasks(requests);
  {
    // A large read outlasts the master's answer: waiting for it without a look leaves the cores
    // to the read's copies, and the wake-up is hidden behind the read.
    uint64_t in_flight = 0;
    for (const TransferRequest& request : requests) in_flight += request.length;
    SleepAtOnceScope no_look(flight.ok() && in_flight > kLookBytesLimit);
    result.lists = master.batchGetReplicaList(keys);
  }
  // Every read must be over before its memory is used again, whatever the master said.
  std::vector<bool> read_ok(keys.size(), false);
  if (flight.ok()) {
    auto completed = finishTasks(*flight);
    for (size_t r = 0; r < requests.size(); ++r) read_ok[owner[r]] = true;
    for (size_t r = 0; r < requests.size(); ++r) {
      if (!completed.ok() || !(*completed)[r]) read_ok[owner[r]] = false;
    }
  }
  for (size_t i = 0; i < keys.size(); ++i) {
    if (!remembered[i]) continue;
    const bool listed = result.lists.ok() && i < result.lists->size() && (*result.lists)[i].ok();
    if (read_ok[i] && listed && stillValid(*remembered[i], *(*result.lists)[i])) {
      Status lease = checkLease(keys[i], started, (*result.lists)[i]->lease_ttl_ms);
      result.settled[i] =
          lease.ok() ? Result<uint64_t>(remembered[i]->replica.size) : Result<uint64_t>(lease);
      overlapped_reads.fetch_add(1, std::memory_order_relaxed);
      continue;
    }
    if (flight.ok() && !read_ok[i]) markFailed(remembered[i]->replica.te_endpoint);
    stale_overlapped_reads.fetch_add(1, std::memory_order_relaxed);
    locations.forget(keys[i]);
  }
  return result;
}

std::vector<Result<uint64_t>> Client::Impl::lookupAndReadBatch(const std::vector<std::string>& keys,
                                                               const Scatter& targets) {
  using Outcome = Result<uint64_t>;
  auto started = std::chrono::steady_clock::now();
  auto lookup = lookupOverlapped(keys, targets, started);
  if (!lookup.lists.ok()) return std::vector<Outcome>(keys.size(), lookup.lists.status());
  std::vector<Outcome> out(keys.size(), Status::storeError(StoreErrorCode::RPC_FAIL, "no reply"));
  std::vector<size_t> rest;
  for (size_t i = 0; i < keys.size(); ++i) {
    if (lookup.settled[i]) {
      out[i] = std::move(*lookup.settled[i]);
    } else {
      rest.push_back(i);
    }
  }
  readSubset(keys, *lookup.lists, targets, started, rest, out);
  return out;
}

std::shared_ptr<ObjectBuffer> Client::Impl::wrapStaged(char* area, uint64_t size,
                                                       SegmentAllocator::Allocation allocation) {
  std::shared_ptr<StagingArea> area_owner = staging;
  return std::make_shared<ObjectBuffer>(area, size, area_owner, [area_owner, allocation] {
    std::lock_guard lock(area_owner->mutex);
    area_owner->allocator.free(allocation);
  });
}

Result<uint64_t> Client::Impl::readOneIntoRoom(const std::string& key, const Rooms& rooms) {
  auto started = std::chrono::steady_clock::now();
  auto remembered = locations.find(key);
  if (remembered && !recentlyFailed(remembered->replica.te_endpoint)) {
    uint64_t size = remembered->replica.size;
    if (auto area = rooms(0, size); area.ok()) {
      auto outcome = readRemembered(key, *remembered, *area, size, started);
      if (outcome && outcome->ok()) return std::move(*outcome);
      // The object grew since it was remembered: read it again into room of its new size.
      if (outcome && !outcome->status().is(StoreErrorCode::BUFFER_OVERFLOW)) {
        return outcome->status();
      }
    }
  }
  return std::move(readIntoRooms({key}, rooms).front());
}

std::vector<Result<uint64_t>> Client::Impl::readIntoRooms(const std::vector<std::string>& keys,
                                                          const Rooms& rooms) {
  using Outcome = Result<uint64_t>;
  if (keys.empty()) return {};
  auto started = std::chrono::steady_clock::now();
  std::vector<void*> buffers(keys.size(), nullptr);
  std::vector<size_t> sizes(keys.size(), 0);
  auto make = [&](size_t i, uint64_t size) -> Status {
    buffers[i] = nullptr;
    sizes[i] = 0;
    MC_ASSIGN_OR_RETURN(char* area, rooms(i, size));
    buffers[i] = area;
    sizes[i] = size;
    return Status::OK();
  };
  // Room for the remembered keys first, so they are read while the master is asked.
  for (size_t i = 0; i < keys.size(); ++i) {
    if (auto found = locations.find(keys[i])) (void)make(i, found->replica.size);
  }
  auto lookup = lookupOverlapped(keys, Scatter::single(buffers, sizes), started);
  if (!lookup.lists.ok()) return std::vector<Outcome>(keys.size(), lookup.lists.status());
  auto& lists = *lookup.lists;
  // Then room for the rest, sized by the master's lists; one Transfer Engine batch reads them.
  std::vector<size_t> rest;
  for (size_t i = 0; i < keys.size(); ++i) {
    if (lookup.settled[i]) continue;
    rest.push_back(i);
    if (i >= lists.size() || !lists[i].ok() || lists[i]->replicas.empty()) continue;
    const uint64_t size = lists[i]->replicas.front().size;
    if (buffers[i] != nullptr && sizes[i] == size) continue;  // remembered room of the right size
    if (Status room = make(i, size); !room.ok()) lists[i] = room;
  }
  std::vector<Outcome> read(keys.size(), Status::storeError(StoreErrorCode::RPC_FAIL, "no reply"));
  for (size_t i = 0; i < keys.size(); ++i) {
    if (lookup.settled[i]) read[i] = std::move(*lookup.settled[i]);
  }
  readSubset(keys, lists, Scatter::single(buffers, sizes), started, rest, read);
  return read;
}

namespace {

// Staging space made for one key by readOneIntoStaging/readIntoStaging.
struct StagedRoom {
  char* area = nullptr;
  SegmentAllocator::Allocation allocation{};
  bool held = false;
};

}  // namespace

Result<std::shared_ptr<ObjectBuffer>> Client::Impl::readOneIntoStaging(const std::string& key) {
  StagedRoom room;
  auto read = readOneIntoRoom(key, [&](size_t, uint64_t size) -> Result<char*> {
    if (room.held) freeStaging(room.allocation);
    room.held = false;
    MC_ASSIGN_OR_RETURN(room.area, allocateStaging(size, room.allocation));
    room.held = true;
    return room.area;
  });
  if (read.ok() && room.held) return wrapStaged(room.area, *read, room.allocation);
  if (room.held) freeStaging(room.allocation);
  return read.ok() ? Status::storeError(StoreErrorCode::INTERNAL_ERROR, "read without room")
                   : read.status();
}

std::vector<Result<std::shared_ptr<ObjectBuffer>>> Client::Impl::readIntoStaging(
    const std::vector<std::string>& keys) {
  std::vector<StagedRoom> rooms(keys.size());
  auto read = readIntoRooms(keys, [&](size_t i, uint64_t size) -> Result<char*> {
    StagedRoom& room = rooms[i];
    if (room.held) freeStaging(room.allocation);
    room.held = false;
    MC_ASSIGN_OR_RETURN(room.area, allocateStaging(size, room.allocation));
    room.held = true;
    return room.area;
  });
  std::vector<Result<std::shared_ptr<ObjectBuffer>>> out;
  out.reserve(keys.size());
  for (size_t i = 0; i < keys.size(); ++i) {
    StagedRoom& room = rooms[i];
    if (i < read.size() && read[i].ok() && room.held) {
      out.emplace_back(wrapStaged(room.area, *read[i], room.allocation));
      continue;
    }
    if (room.held) freeStaging(room.allocation);
    out.emplace_back(i < read.size() && !read[i].ok()
                         ? read[i].status()
                         : Status::storeError(StoreErrorCode::INTERNAL_ERROR, "read without room"));
  }
  return out;
}

}  // namespace mooncake::store
