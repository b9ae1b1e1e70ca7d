#include "store/tier/disk_io.h"

#include <liburing.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <memory>
#include <utility>

#include "store/tier/disk_record.h"

namespace mooncake::store::tier {

AlignedBuffer::AlignedBuffer(size_t size) { reserve(size); }

AlignedBuffer::~AlignedBuffer() { std::free(data_); }

AlignedBuffer::AlignedBuffer(AlignedBuffer&& other) noexcept
    : data_(std::exchange(other.data_, nullptr)), size_(std::exchange(other.size_, 0)) {}

AlignedBuffer& AlignedBuffer::operator=(AlignedBuffer&& other) noexcept {
  if (this != &other) {
    std::free(data_);
    data_ = std::exchange(other.data_, nullptr);
    size_ = std::exchange(other.size_, 0);
  }
  return *this;
}

void AlignedBuffer::reserve(size_t size) {
  if (size <= size_) return;
  std::free(data_);
  data_ = nullptr;
  size_ = 0;
  size_t rounded = alignUp(size);
  void* p = nullptr;
  if (::posix_memalign(&p, kBlock, rounded) != 0) throw std::bad_alloc();
  data_ = static_cast<char*>(p);
  size_ = rounded;
}

namespace {

constexpr unsigned kRingDepth = 64;

// A thread's ring, or none when the kernel refuses io_uring (seccomp, old kernels).
struct Ring {
  io_uring ring{};
  bool ready = false;
  Ring() { ready = io_uring_queue_init(kRingDepth, &ring, 0) == 0; }
  ~Ring() {
    if (ready) io_uring_queue_exit(&ring);
  }
};

void preadOne(ReadOp& op) {
  uint64_t done = 0;
  while (done < op.length) {
    ssize_t n =
        ::pread(op.fd, op.dest + done, op.length - done, static_cast<off_t>(op.offset + done));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      op.result = -errno;
      return;
    }
    if (n == 0) break;
    done += static_cast<uint64_t>(n);
  }
  op.result = static_cast<ssize_t>(done);
}

}  // namespace

void readAll(std::span<ReadOp> ops) {
  if (ops.size() == 1) {
    preadOne(ops[0]);
    return;
  }
  thread_local Ring ring;
  if (!ring.ready) {
    for (ReadOp& op : ops) preadOne(op);
    return;
  }
  for (size_t first = 0; first < ops.size(); first += kRingDepth) {
    size_t count = std::min<size_t>(kRingDepth, ops.size() - first);
    for (size_t i = 0; i < count; ++i) {
      ReadOp& op = ops[first + i];
      io_uring_sqe* sqe = io_uring_get_sqe(&ring.ring);
      io_uring_prep_read(sqe, op.fd, op.dest, static_cast<unsigned>(op.length), op.offset);
      io_uring_sqe_set_data64(sqe, first + i);
    }
    int submitted = io_uring_submit(&ring.ring);
    if (submitted < 0) {
      for (size_t i = 0; i < count; ++i) preadOne(ops[first + i]);
      continue;
    }
    for (size_t i = 0; i < count; ++i) {
      io_uring_cqe* cqe = nullptr;
      int rc = io_uring_wait_cqe(&ring.ring, &cqe);
      if (rc < 0) {
        if (rc == -EINTR) {
          --i;
          continue;
        }
        break;
      }
      ops[io_uring_cqe_get_data64(cqe)].result = cqe->res;
      io_uring_cqe_seen(&ring.ring, cqe);
    }
  }
  // Short reads (a signal, or a file that ended early) are finished or judged one by one.
  for (ReadOp& op : ops) {
    if (op.result >= 0 && static_cast<uint64_t>(op.result) < op.length) preadOne(op);
  }
}

int writeAll(int fd, const char* data, size_t length, uint64_t offset) {
  size_t done = 0;
  while (done < length) {
    ssize_t n = ::pwrite(fd, data + done, length - done, static_cast<off_t>(offset + done));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return -errno;
    if (n == 0) return -EIO;
    done += static_cast<size_t>(n);
  }
  return 0;
}

}  // namespace mooncake::store::tier
