// Client: running Transfer Engine batches, replica reading order, staging memory.
#include <thread>

#include "common/logging.h"
#include "store/client/client_impl.h"

namespace mooncake::store {

Result<Client::Impl::TasksInFlight> Client::Impl::startTasks(
    const std::vector<TransferRequest>& requests) {
  TasksInFlight tasks;
  tasks.count = requests.size();
  for (const TransferRequest& request : requests) tasks.bytes += request.length;
  MC_ASSIGN_OR_RETURN(tasks.batch, engine.allocateBatchID(requests.size()));
  Status submitted = engine.submitTransfer(tasks.batch, requests);
  if (!submitted.ok()) {
    (void)engine.freeBatchID(tasks.batch);
    return submitted;
  }
  return tasks;
}

Result<std::vector<bool>> Client::Impl::finishTasks(const TasksInFlight& tasks) {
  auto deadline = std::chrono::steady_clock::now() + options.transfer_timeout;
  TransferStatus status;
  status.s = WAITING;  // the engine's wait looks briefly before it sleeps
  bool timed_out = false;
  while (status.s == WAITING) {
    auto left = std::chrono::duration_cast<std::chrono::microseconds>(
        deadline - std::chrono::steady_clock::now());
    // Past the deadline the engine gives the slices up (closing their connections), so the call
    // returns within moments of it (the batch cannot be freed while they are in flight).
    if (left.count() <= 0) {
      timed_out = true;
      (void)engine.abortBatch(tasks.batch);
    }
    auto wait = timed_out ? std::chrono::microseconds(std::chrono::milliseconds(100)) : left;
    if (!engine.waitBatchTransferStatus(tasks.batch, status, wait).ok() || status.s != WAITING) {
      break;
    }
  }
  std::vector<bool> completed(tasks.count, false);
  for (size_t i = 0; i < tasks.count; ++i) {
    TransferStatus task;
    completed[i] = engine.getTransferStatus(tasks.batch, i, task).ok() && task.s == COMPLETED;
  }
  MC_RETURN_IF_ERROR(engine.freeBatchID(tasks.batch));
  if (timed_out) {
    return transferFailed("Failed to complete transfers after " +
                          std::to_string(options.transfer_timeout.count()) + " seconds");
  }
  return completed;
}

Result<std::vector<bool>> Client::Impl::runTasks(const std::vector<TransferRequest>& requests) {
  if (requests.empty()) return std::vector<bool>{};
  MC_ASSIGN_OR_RETURN(TasksInFlight tasks, startTasks(requests));
  return finishTasks(tasks);
}

Status Client::Impl::runBatch(const std::vector<TransferRequest>& requests) {
  MC_ASSIGN_OR_RETURN(std::vector<bool> completed, runTasks(requests));
  bool all = std::all_of(completed.begin(), completed.end(), [](bool ok) { return ok; });
  return all ? Status::OK() : transferFailed("a transfer FAILED (see log)");
}

Result<size_t> Client::Impl::readFromReplicas(const std::vector<Range>& ranges,
                                              const std::vector<ReplicaDescriptor>& replicas) {
  for (size_t i = 0; i < replicas.size(); ++i) {
    const ReplicaDescriptor& replica = replicas[i];
    auto target = engine.openSegment(replica.te_endpoint);
    Status read = target.status();
    if (target.ok()) {
      std::vector<TransferRequest> requests;
      for (const Range& range : ranges) {
        if (range.length == 0) continue;
        requests.push_back({TransferRequest::READ, range.buffer, *target,
                            replica.address + range.offset, range.length,
                            retriesUsedWithFallback(i + 1 < replicas.size())});
      }
      read = runBatch(requests);
    }
    if (read.ok()) return i;
    markFailed(replica.te_endpoint);
    LOG(WARNING) << "store client: replica at " << replica.te_endpoint
                 << " failed, trying the next: " << read.toString();
  }
  return transferFailed("every replica failed to read");
}

void Client::Impl::orderForReading(std::vector<ReplicaDescriptor>& replicas) {
  std::stable_partition(replicas.begin(), replicas.end(), [this](const ReplicaDescriptor& r) {
    return !recentlyFailed(r.te_endpoint);
  });
  std::stable_partition(replicas.begin(), replicas.end(), [this](const ReplicaDescriptor& r) {
    return r.te_endpoint == engine.getLocalSegmentName();
  });
}

bool Client::Impl::recentlyFailed(const std::string& endpoint) {
  std::lock_guard lock(failed_mutex);
  auto it = failed_holders.find(endpoint);
  return it != failed_holders.end() &&
         std::chrono::steady_clock::now() - it->second < kFailedHolderMemory;
}

std::vector<std::string> Client::Impl::recentlyFailedHolders() {
  std::lock_guard lock(failed_mutex);
  std::vector<std::string> out;
  auto now = std::chrono::steady_clock::now();
  for (const auto& [endpoint, when] : failed_holders) {
    if (now - when < kFailedHolderMemory) out.push_back(endpoint);
  }
  return out;
}

void Client::Impl::markFailed(const std::string& endpoint) {
  const auto now = std::chrono::steady_clock::now();
  bool news = false;
  {
    std::lock_guard lock(failed_mutex);
    auto& when = failed_holders[endpoint];
    news = now - when >= kFailedHolderMemory;  // not reported within the memory yet
    when = now;
  }
  // The master declares a reported holder dead as soon as it also misses its pings, instead of
  // after --client_ttl (MasterService::reportUnreachable).
  if (news) (void)master.reportUnreachable(client_id, {endpoint});
}

Result<char*> Client::Impl::allocateStaging(size_t size, SegmentAllocator::Allocation& out) {
  if (options.local_buffer_size == 0) {
    return Status::storeError(StoreErrorCode::INVALID_PARAMS,
                              "this client has no local buffer (local_buffer_size = 0): use the "
                              "zero-copy API with registerBuffer");
  }
  std::lock_guard lock(staging->mutex);
  auto allocation = staging->allocator.allocate(std::max<size_t>(size, 1));
  if (!allocation) {
    return Status::storeError(StoreErrorCode::BUFFER_OVERFLOW,
                              std::to_string(size) + " bytes do not fit in the free part of the " +
                                  std::to_string(options.local_buffer_size) +
                                  "-byte local buffer (raise local_buffer_size, or use the "
                                  "zero-copy API with registerBuffer)");
  }
  out = *allocation;
  return reinterpret_cast<char*>(allocation->address);
}

void Client::Impl::freeStaging(const SegmentAllocator::Allocation& allocation) {
  std::lock_guard lock(staging->mutex);
  staging->allocator.free(allocation);
}

CallerMemory::~CallerMemory() {
  for (size_t slot = 0; slot < registered_.size(); ++slot) release(slot);
}

bool CallerMemory::use(size_t slot, const void* memory, uint64_t size) {
  release(slot);
  if (memory == nullptr || size == 0) return false;
  void* address = const_cast<void*>(memory);
  if (engine_
          .registerLocalMemory(address, size, "cpu:0", /*remote_accessible=*/false,
                               /*update_metadata=*/false)
          .ok()) {
    registered_[slot] = {address, size};
    return true;
  }
  const auto start = reinterpret_cast<uintptr_t>(address);
  for (const Registered& other : registered_) {
    const auto begin = reinterpret_cast<uintptr_t>(other.address);
    if (other.address != nullptr && start >= begin && start - begin <= other.size &&
        size <= other.size - (start - begin)) {
      return true;
    }
  }
  return false;
}

void CallerMemory::release(size_t slot) {
  if (registered_[slot].address == nullptr) return;
  (void)engine_.unregisterLocalMemory(registered_[slot].address, /*update_metadata=*/false);
  registered_[slot] = {};
}

}  // namespace mooncake::store
