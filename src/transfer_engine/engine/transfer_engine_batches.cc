// Batch and slice paths of TransferEngineImpl: validation, slicing, dispatch, completion and
// retry. Steady state allocates a few times per submitTransfer call (slice array, index vectors),
// never per slice.
#include <algorithm>
#include <chrono>
#include <cstring>
#include <mutex>
#include <sstream>
#include <thread>

#include "common/logging.h"
#include "common/wait_look.h"
#include "transfer_engine/engine/transfer_engine_impl.h"

namespace mooncake::te {
namespace {

// How soon a waiter looks again at a drivable task it could not drive.
constexpr std::chrono::microseconds kDriveRetry{1000};

std::string rangeText(uint64_t addr, size_t length) {
  std::ostringstream out;
  out << "[0x" << std::hex << addr << ", 0x" << addr + length << ")";
  return out.str();
}

// The one classification of slice errors: transient ones are retried on a fresh connection;
// address and argument errors would fail the same way again.
bool isRetryable(const Status& status) {
  switch (status.code()) {
    case ErrorCode::ERR_SOCKET:
    case ErrorCode::ERR_ENDPOINT:
    case ErrorCode::ERR_CONTEXT:
      return true;
    default:
      return false;
  }
}

}  // namespace

Result<BatchID> TransferEngineImpl::allocateBatchID(size_t capacity) {
  if (capacity == 0) {
    return Status::error(ErrorCode::ERR_INVALID_ARGUMENT, "allocateBatchID: batch size is 0");
  }
  auto batch = std::make_unique<Batch>(capacity);
  std::unique_lock lock(batches_mutex_);
  BatchID id = next_batch_id_++;
  batches_.emplace(id, std::move(batch));
  return id;
}

Batch* TransferEngineImpl::findBatch(BatchID batch_id) const {
  std::shared_lock lock(batches_mutex_);
  auto it = batches_.find(batch_id);
  return it == batches_.end() ? nullptr : it->second.get();
}

static Status unknownBatch(BatchID batch_id) {
  return Status::error(ErrorCode::ERR_INVALID_ARGUMENT,
                       "unknown batch id " + std::to_string(batch_id) +
                           " (freed already, or not from allocateBatchID)");
}

Status TransferEngineImpl::freeBatchID(BatchID batch_id) {
  std::unique_lock lock(batches_mutex_);
  auto it = batches_.find(batch_id);
  if (it == batches_.end()) return unknownBatch(batch_id);
  Batch& batch = *it->second;
  size_t count = batch.task_count.load();
  for (size_t i = 0; i < count; ++i) {
    if (!batch.tasks[i].finished()) {
      return Status::error(ErrorCode::ERR_BATCH_BUSY, "batch " + std::to_string(batch_id) +
                                                          " has task " + std::to_string(i) +
                                                          " in flight; wait for it to finish");
    }
  }
  // A completer may still be between its final decrement and its unlock.
  { std::lock_guard drain(batch.wait_mutex); }
  batches_.erase(it);
  return Status::OK();
}

Status TransferEngineImpl::abortBatch(BatchID batch_id) {
  Batch* batch = findBatch(batch_id);
  if (batch == nullptr) return unknownBatch(batch_id);
  batch->aborted.store(true);
  std::lock_guard lock(batch->submit_mutex);
  for (const Batch::SliceChunk& chunk : batch->slice_chunks) {
    for (size_t i = 0; i < chunk.count; ++i) transport_->abandon(&chunk.slices[i]);
  }
  return Status::OK();
}

Status TransferEngineImpl::getTransferStatus(BatchID batch_id, size_t task_id,
                                             TransferStatus& status) {
  Batch* batch = findBatch(batch_id);
  if (batch == nullptr) return unknownBatch(batch_id);
  if (task_id >= batch->task_count.load()) {
    return Status::error(
        ErrorCode::ERR_INVALID_ARGUMENT,
        "task " + std::to_string(task_id) + " not submitted in batch " + std::to_string(batch_id));
  }
  driveTask(batch->tasks[task_id], std::chrono::steady_clock::now());
  status = batch->tasks[task_id].status();
  return Status::OK();
}

bool TransferEngineImpl::driveTask(Task& task, std::chrono::steady_clock::time_point until) {
  if (task.drivable == nullptr || task.finished()) return false;
  transport_->drive(task.drivable, until, [&task] { return task.finished(); });
  return !task.finished();
}

bool TransferEngineImpl::driveTasks(Batch& batch, std::chrono::steady_clock::time_point until) {
  bool pending = false;
  size_t count = batch.task_count.load();
  for (size_t i = 0; i < count; ++i) pending = driveTask(batch.tasks[i], until) || pending;
  return pending;
}

Status TransferEngineImpl::waitBatchTransferStatus(BatchID batch_id, TransferStatus& status,
                                                   std::chrono::microseconds timeout) {
  Batch* batch = findBatch(batch_id);
  if (batch == nullptr) return unknownBatch(batch_id);
  const auto start = std::chrono::steady_clock::now();
  const auto deadline = start + timeout;
  // A small transfer finishes within tens of microseconds; looking (and yielding the core) for
  // that long before sleeping saves the wake-up of this thread, which on a busy host costs as
  // much as the transfer itself. A large one would only take CPU from the transport threads.
  const bool small = batch->requested_bytes.load(std::memory_order_relaxed) <= kLookBytesLimit;
  const auto look_until =
      start + (small ? std::min(timeout, waitLookBeforeSleep()) : std::chrono::microseconds(0));
  while (!batch->allFinished()) {
    // Drivable tasks: this thread reads their replies itself (it sleeps in the socket's poll).
    bool undriven = driveTasks(*batch, deadline);
    if (batch->allFinished()) break;
    auto now = std::chrono::steady_clock::now();
    if (now >= deadline) break;
    if (now < look_until) {
      std::this_thread::yield();
      continue;
    }
    // A drivable task someone else was reading (or that was between connections after a retry)
    // is looked at again soon; the rest complete through the transport's threads.
    auto nap = std::chrono::duration_cast<std::chrono::microseconds>(deadline - now);
    if (undriven) nap = std::min(nap, kDriveRetry);
    std::unique_lock lock(batch->wait_mutex);
    batch->finished_cv.wait_for(lock, nap, [batch] { return batch->allFinished(); });
  }
  return getBatchTransferStatus(batch_id, status);
}

Status TransferEngineImpl::getBatchTransferStatus(BatchID batch_id, TransferStatus& status) {
  Batch* batch = findBatch(batch_id);
  if (batch == nullptr) return unknownBatch(batch_id);
  driveTasks(*batch, std::chrono::steady_clock::now());
  TransferStatus total;
  total.s = COMPLETED;
  bool any_failed = false;
  bool all_finished = true;
  size_t count = batch->task_count.load();
  for (size_t i = 0; i < count; ++i) {
    TransferStatus task = batch->tasks[i].status();
    total.transferred_bytes += task.transferred_bytes;
    all_finished = all_finished && task.s != WAITING;
    any_failed = any_failed || task.s == FAILED;
    if (total.error_code == 0) total.error_code = task.error_code;
  }
  total.s = !all_finished ? WAITING : any_failed ? FAILED : COMPLETED;
  status = total;
  return Status::OK();
}

Result<SegmentCache::Entry> TransferEngineImpl::validate(const TransferRequest& request,
                                                         size_t index) const {
  const auto source = reinterpret_cast<uintptr_t>(request.source);
  const std::string which = "request " + std::to_string(index) + ": ";
  if (request.opcode != TransferRequest::READ && request.opcode != TransferRequest::WRITE) {
    return Status::error(ErrorCode::ERR_INVALID_ARGUMENT, which + "unknown opcode");
  }
  if (request.length > 0 && !registry_.contains(source, request.length, false)) {
    return Status::error(ErrorCode::ERR_ADDRESS_NOT_REGISTERED,
                         which + "local range " + rangeText(source, request.length) +
                             " is not inside a registered buffer (registerLocalMemory it first)");
  }
  if (request.target_id == LOCAL_SEGMENT_ID) {
    if (request.length > 0 && !registry_.contains(request.target_offset, request.length, false)) {
      return Status::error(ErrorCode::ERR_ADDRESS_NOT_REGISTERED,
                           which + "target range " +
                               rangeText(request.target_offset, request.length) +
                               " is not inside a registered buffer of the local segment");
    }
    return SegmentCache::Entry();
  }
  SegmentCache::Entry entry = segments_.get(request.target_id);
  if (!entry) {
    return Status::error(ErrorCode::ERR_INVALID_ARGUMENT,
                         which + "unknown segment id " + std::to_string(request.target_id) +
                             " (use the handle openSegment returned)");
  }
  if (request.length > 0 &&
      !entry->descriptor.containsRange(request.target_offset, request.length)) {
    return Status::error(
        ErrorCode::ERR_ADDRESS_NOT_REGISTERED,
        which + "target range " + rangeText(request.target_offset, request.length) +
            " is not inside a buffer of segment " + entry->descriptor.name + " (it publishes " +
            std::to_string(entry->descriptor.buffers.size()) +
            " buffers; syncSegmentCache picks up buffers registered after openSegment)");
  }
  return entry;
}

Status TransferEngineImpl::submitTransfer(BatchID batch_id,
                                          const std::vector<TransferRequest>& requests) {
  Batch* batch = findBatch(batch_id);
  if (batch == nullptr) return unknownBatch(batch_id);
  std::lock_guard submit_lock(batch->submit_mutex);
  const size_t first_task = batch->task_count.load();
  if (first_task + requests.size() > batch->capacity) {
    return Status::error(ErrorCode::ERR_TOO_MANY_REQUESTS,
                         "batch " + std::to_string(batch_id) + " holds " +
                             std::to_string(batch->capacity) + " requests; " +
                             std::to_string(first_task) + " submitted, " +
                             std::to_string(requests.size()) + " more requested");
  }
  std::vector<SegmentCache::Entry> targets;
  targets.reserve(requests.size());
  uint64_t total_slices = 0;
  for (size_t i = 0; i < requests.size(); ++i) {
    MC_ASSIGN_OR_RETURN(SegmentCache::Entry entry, validate(requests[i], i));
    targets.push_back(std::move(entry));
    total_slices += sliceCount(requests[i].length, slice_size_);
  }
  auto slices = std::make_unique<Slice[]>(total_slices);
  std::vector<size_t> slice_request(total_slices);
  size_t next = 0;
  for (size_t i = 0; i < requests.size(); ++i) {
    const TransferRequest& request = requests[i];
    batch->requested_bytes.fetch_add(request.length, std::memory_order_relaxed);
    Task& task = batch->tasks[first_task + i];
    task.failed_slices.store(0);
    task.first_error.store(0);
    task.transferred_bytes.store(0);
    task.pending_slices.store(static_cast<uint32_t>(sliceCount(request.length, slice_size_)));
    forEachSlice(request.length, slice_size_, [&](uint64_t offset, uint64_t length) {
      Slice& slice = slices[next];
      slice.opcode = request.opcode;
      slice.local = static_cast<char*>(request.source) + offset;
      slice.remote = request.target_offset + offset;
      slice.length = length;
      slice.target_id = request.target_id;
      slice.task = &task;
      slice.attempts = request.advise_retry_cnt;
      slice_request[next++] = i;
    });
  }
  // One small slice for one request: its waiter reads the reply itself (see Transport::drive).
  if (requests.size() == 1 && total_slices == 1 && requests[0].length <= kLookBytesLimit &&
      targets[0]) {
    slices[0].drivable = true;
    batch->tasks[first_task].drivable = &slices[0];
  }
  batch->task_count.store(first_task + requests.size());
  Slice* base = slices.get();
  batch->slice_chunks.push_back({std::move(slices), total_slices});
  dispatch(base, total_slices, targets, slice_request);
  return Status::OK();
}

void TransferEngineImpl::dispatch(Slice* slices, size_t count,
                                  const std::vector<SegmentCache::Entry>& targets,
                                  const std::vector<size_t>& slice_request) {
  size_t begin = 0;
  while (begin < count) {
    const SegmentCache::Entry& target = targets[slice_request[begin]];
    size_t end = begin + 1;
    while (end < count && targets[slice_request[end]] == target) ++end;
    if (!target) {
      // Own segment: one memcpy, no transport.
      for (size_t i = begin; i < end; ++i) {
        Slice& slice = slices[i];
        auto* remote = reinterpret_cast<char*>(slice.remote);
        if (slice.opcode == TransferRequest::WRITE) {
          std::memmove(remote, slice.local, slice.length);
        } else {
          std::memmove(slice.local, remote, slice.length);
        }
        onSliceDone(&slice, Status::OK());
      }
    } else {
      std::vector<Slice*> batch(end - begin);
      for (size_t i = begin; i < end; ++i) batch[i - begin] = &slices[i];
      transportFor(*target).submit(*target, batch.data(), batch.size());
    }
    begin = end;
  }
}

Transport& TransferEngineImpl::transportFor(const RemoteSegment& target) {
  if (direct_ && direct_->reaches(target.descriptor)) return *direct_;
  return *transport_;
}

void TransferEngineImpl::onSliceDone(Slice* slice, const Status& status) {
  Task* task = slice->task;
  if (status.ok()) {
    task->transferred_bytes.fetch_add(slice->length);
    Batch::finishSlice(*task);  // last touch of the task
    return;
  }
  if (isRetryable(status) && !stopping_.load() && !task->batch->aborted.load() &&
      slice->attempts + 1 < options_.retry_count) {
    ++slice->attempts;
    if (SegmentCache::Entry entry = segments_.get(slice->target_id)) {
      VLOG(2) << "transfer_engine: retrying slice (attempt " << slice->attempts + 1
              << "): " << status.message();
      transportFor(*entry).submit(*entry, &slice, 1);
      return;
    }
  }
  LOG_EVERY_N(WARNING, 64) << "Worker: Process failed for slice (opcode: "
                           << (slice->opcode == TransferRequest::WRITE ? "WRITE" : "READ")
                           << ", source: " << static_cast<void*>(slice->local)
                           << ", target_offset: 0x" << std::hex << slice->remote << std::dec
                           << ", length: " << slice->length << ", segment id: " << slice->target_id
                           << ", attempts: " << slice->attempts + 1 << "): " << status.toString()
                           << " [" << google::COUNTER << " failed slices so far]";
  int32_t none = 0;
  task->first_error.compare_exchange_strong(none, static_cast<int32_t>(status.value()));
  task->failed_slices.fetch_add(1);
  Batch::finishSlice(*task);  // last touch of the task
}

}  // namespace mooncake::te
