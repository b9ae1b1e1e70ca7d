// Request and status types of the Transfer Engine, with upstream's names and values.
#pragma once

#include <cstddef>
#include <cstdint>

namespace mooncake {

// Local handle of an opened segment. LOCAL_SEGMENT_ID is the engine's own segment; remote
// segments get ids from 1 upward the first time their name is opened.
using SegmentID = uint64_t;
using SegmentHandle = SegmentID;
constexpr SegmentID LOCAL_SEGMENT_ID = 0;

// Opaque batch handle from allocateBatchID.
using BatchID = uint64_t;
constexpr BatchID INVALID_BATCH_ID = UINT64_MAX;

struct TransferRequest {
  enum OpCode { READ = 0, WRITE = 1 };
  // READ copies `length` bytes from <target_id, target_offset> into `source`;
  // WRITE copies them from `source` to <target_id, target_offset>.
  OpCode opcode = READ;
  void* source = nullptr;      // inside a locally registered buffer
  SegmentID target_id = 0;     // from openSegment
  uint64_t target_offset = 0;  // remote virtual address inside one remote buffer
  size_t length = 0;
  int advise_retry_cnt = 0;  // retries already consumed (lets a caller shorten the budget)
};

enum TransferStatusEnum {
  WAITING = 0,
  PENDING = 1,
  INVALID = 2,
  CANCELED = 3,
  COMPLETED = 4,
  TIMEOUT = 5,
  FAILED = 6,
};

struct TransferStatus {
  TransferStatusEnum s = WAITING;
  size_t transferred_bytes = 0;  // lower bound while in flight
  // FAILED: the ErrorCode value of the first slice that failed for good (e.g. -3,
  // ERR_ADDRESS_NOT_REGISTERED, when the peer refused the range; -102, ERR_SOCKET, when it could
  // not be reached). 0 otherwise.
  int32_t error_code = 0;
};

// One buffer for registerLocalMemoryBatch.
struct BufferEntry {
  void* addr = nullptr;
  size_t length = 0;
};

}  // namespace mooncake
