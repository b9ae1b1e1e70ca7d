// Tasks and batches: the bookkeeping behind allocateBatchID / submitTransfer / getTransferStatus.
//
// A Task counts its outstanding slices; a slice's completer updates the byte and failure counts
// first and decrements `pending_slices` last, so a reader that sees zero pending also sees the
// final counts. The decrement (and, when it finishes the task, the wake-up of waiters) happens
// under the batch's `wait_mutex`, and freeBatchID takes that mutex before releasing the batch,
// so no completer can still be inside a batch that is being freed.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <vector>

#include "mooncake/transfer_engine/transfer_request.h"
#include "transfer_engine/transport/transport.h"

namespace mooncake::te {

struct Batch;

struct Task {
  Batch* batch = nullptr;  // set once when the batch is built
  std::atomic<uint32_t> pending_slices{0};
  std::atomic<uint32_t> failed_slices{0};
  std::atomic<uint64_t> transferred_bytes{0};
  std::atomic<int32_t> first_error{0};  // ErrorCode of the first slice that failed for good
  // The task's only slice, when its waiter may read the reply itself (Slice::drivable); set
  // before the task is published through Batch::task_count.
  Slice* drivable = nullptr;

  bool finished() const { return pending_slices.load() == 0; }
  TransferStatus status() const {
    TransferStatus out;
    if (!finished()) {
      out.s = WAITING;
    } else {
      out.s = failed_slices.load() > 0 ? FAILED : COMPLETED;
      if (out.s == FAILED) out.error_code = first_error.load();
    }
    out.transferred_bytes = transferred_bytes.load();
    return out;
  }
};

// Externally synchronized for submissions (submit_mutex); task status reads are lock-free.
struct Batch {
  explicit Batch(size_t capacity_in)
      : capacity(capacity_in), tasks(std::make_unique<Task[]>(capacity_in)) {
    for (size_t i = 0; i < capacity; ++i) tasks[i].batch = this;
  }

  bool allFinished() const {
    size_t count = task_count.load();
    for (size_t i = 0; i < count; ++i) {
      if (!tasks[i].finished()) return false;
    }
    return true;
  }
  // A slice of `task` is done: the last touch of the task, and of the batch.
  static void finishSlice(Task& task) {
    Batch& batch = *task.batch;
    std::lock_guard lock(batch.wait_mutex);
    if (task.pending_slices.fetch_sub(1) == 1) batch.finished_cv.notify_all();
  }

  const size_t capacity;
  std::unique_ptr<Task[]> tasks;             // fixed at allocation, so task pointers stay valid
  std::atomic<size_t> task_count{0};         // tasks published to status readers
  std::atomic<uint64_t> requested_bytes{0};  // sum of submitted request lengths
  // The caller gave up (abortBatch): failed slices are not retried.
  std::atomic<bool> aborted{false};
  std::mutex submit_mutex;  // serializes submitTransfer calls on this batch
  struct SliceChunk {
    std::unique_ptr<Slice[]> slices;
    size_t count = 0;
  };
  std::vector<SliceChunk> slice_chunks;  // one per submit; GUARDED_BY(submit_mutex)
  std::mutex wait_mutex;  // orders final decrements with waiters and with freeBatchID
  std::condition_variable finished_cv;
};

// Cuts `length` bytes into slices of `slice_size`, merging a short tail (at most a quarter
// slice) into the previous slice so no request ends with a tiny slice. Calls fn(offset, len).
template <typename Fn>
void forEachSlice(uint64_t length, uint64_t slice_size, Fn&& fn) {
  const uint64_t tail_limit = slice_size + slice_size / 4;
  uint64_t offset = 0;
  while (length - offset > tail_limit) {
    fn(offset, slice_size);
    offset += slice_size;
  }
  if (length > offset) fn(offset, length - offset);
}

inline uint64_t sliceCount(uint64_t length, uint64_t slice_size) {
  uint64_t count = 0;
  forEachSlice(length, slice_size, [&count](uint64_t, uint64_t) { ++count; });
  return count;
}

}  // namespace mooncake::te
