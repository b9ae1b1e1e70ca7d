// Block I/O for the disk tier: aligned buffers (O_DIRECT wants the memory, the offset and the
// length on 4 KiB boundaries) and batched reads through io_uring, so a batched get of many disk
// objects costs one system call for all of them rather than one read each.
#pragma once

#include <sys/types.h>

#include <cstddef>
#include <cstdint>
#include <span>

namespace mooncake::store::tier {

// Heap memory aligned to 4 KiB; freed with the object. Movable.
class AlignedBuffer {
 public:
  AlignedBuffer() = default;
  explicit AlignedBuffer(size_t size);
  ~AlignedBuffer();
  AlignedBuffer(AlignedBuffer&& other) noexcept;
  AlignedBuffer& operator=(AlignedBuffer&& other) noexcept;
  AlignedBuffer(const AlignedBuffer&) = delete;
  AlignedBuffer& operator=(const AlignedBuffer&) = delete;
  char* data() const { return data_; }
  size_t size() const { return size_; }
  // Grows (dropping the contents) to at least `size`.
  void reserve(size_t size);

 private:
  char* data_ = nullptr;
  size_t size_ = 0;
};

struct ReadOp {
  int fd = -1;
  uint64_t offset = 0;
  uint64_t length = 0;
  char* dest = nullptr;
  ssize_t result = 0;  // bytes read, or -errno
};

// Runs every read, many at once: io_uring (a ring per thread, made on first use) where the
// kernel allows it, else one pread each.
void readAll(std::span<ReadOp> ops);

// pwrite of the whole range (retried on short writes); 0 or -errno.
int writeAll(int fd, const char* data, size_t length, uint64_t offset);

}  // namespace mooncake::store::tier
