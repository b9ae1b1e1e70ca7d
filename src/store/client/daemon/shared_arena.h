// A dummy client's memory: one memfd, sealed against resizing, that the node daemon maps too.
// Its first part is the memory pool (alloc_from_mem_pool: caller buffers the daemon reads and
// writes in place), the rest is the staging buffer (the copying API, and caller memory outside
// the pool, go through it). Shared with the ObjectBuffers handed out, so the memory stays mapped
// while any of them lives.
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>

#include "common/net/unique_fd.h"
#include "mooncake/common/status.h"
#include "store/master/segment_allocator.h"

namespace mooncake::store::daemon {

class SharedArena : public std::enable_shared_from_this<SharedArena> {
 public:
  // Errors: INVALID_PARAMS (both sizes 0), ERR_MEMORY (memfd, seals, mmap) with the cause.
  static Result<std::shared_ptr<SharedArena>> create(uint64_t pool_size, uint64_t staging_size);
  ~SharedArena();
  SharedArena(const SharedArena&) = delete;
  SharedArena& operator=(const SharedArena&) = delete;

  int fd() const { return fd_.get(); }
  uint64_t size() const { return pool_size_ + staging_size_; }
  uint64_t stagingSize() const { return staging_size_; }

  // Pool memory for the caller; 0 when the pool has no room.
  uint64_t allocateFromPool(uint64_t size);
  // The file offset of [address, address + size), when all of it is in this memory.
  std::optional<uint64_t> offsetOf(const void* address, uint64_t size) const;

  // Staging memory, returned when the block goes.
  class Block {
   public:
    Block() = default;
    Block(Block&& other) noexcept { *this = std::move(other); }
    Block& operator=(Block&& other) noexcept;
    ~Block() { release(); }
    char* data() const { return data_; }
    uint64_t offset() const { return offset_; }
    void release();

   private:
    friend class SharedArena;
    std::shared_ptr<SharedArena> arena_;
    SegmentAllocator::Allocation allocation_;
    char* data_ = nullptr;
    uint64_t offset_ = 0;
  };
  // BUFFER_OVERFLOW when the staging buffer has no room for `size` bytes (at least 1 taken).
  Result<Block> allocateStaging(uint64_t size);

 private:
  SharedArena(net::UniqueFd fd, char* base, uint64_t pool_size, uint64_t staging_size);

  net::UniqueFd fd_;
  char* const base_;
  const uint64_t pool_size_;
  const uint64_t staging_size_;
  std::mutex mutex_;
  SegmentAllocator pool_;     // GUARDED_BY(mutex_)
  SegmentAllocator staging_;  // GUARDED_BY(mutex_)
};

}  // namespace mooncake::store::daemon
