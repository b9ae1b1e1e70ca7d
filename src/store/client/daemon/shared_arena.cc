#include "store/client/daemon/shared_arena.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>

#include "common/net/socket.h"

namespace mooncake::store::daemon {
namespace {

Status memoryError(const std::string& what) {
  return Status::error(ErrorCode::ERR_MEMORY, what + ": " + net::errnoText(errno));
}

}  // namespace

Result<std::shared_ptr<SharedArena>> SharedArena::create(uint64_t pool_size,
                                                         uint64_t staging_size) {
  // Whole pages, so the pool's end (the staging start) and the file are page aligned.
  auto pages = [](uint64_t bytes) { return (bytes + 4095) / 4096 * 4096; };
  pool_size = pages(pool_size);
  staging_size = pages(staging_size);
  const uint64_t size = pool_size + staging_size;
  if (size == 0) {
    return Status::storeError(StoreErrorCode::INVALID_PARAMS,
                              "setup_dummy: mem_pool_size and local_buffer_size are both 0");
  }
  net::UniqueFd fd(::memfd_create("mooncake_dummy_client", MFD_CLOEXEC | MFD_ALLOW_SEALING));
  if (!fd.valid()) return memoryError("memfd_create");
  if (::ftruncate(fd.get(), static_cast<off_t>(size)) != 0) {
    return memoryError("sizing the shared memory file to " + std::to_string(size) + " bytes");
  }
  // The daemon maps this file: it must never shrink under that mapping.
  if (::fcntl(fd.get(), F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL) != 0) {
    return memoryError("sealing the shared memory file");
  }
  void* mapped =
      ::mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, fd.get(), 0);
  if (mapped == MAP_FAILED) return memoryError("mmap of " + std::to_string(size) + " bytes");
  return std::shared_ptr<SharedArena>(
      new SharedArena(std::move(fd), static_cast<char*>(mapped), pool_size, staging_size));
}

SharedArena::SharedArena(net::UniqueFd fd, char* base, uint64_t pool_size, uint64_t staging_size)
    : fd_(std::move(fd)),
      base_(base),
      pool_size_(pool_size),
      staging_size_(staging_size),
      pool_(reinterpret_cast<uint64_t>(base), pool_size),
      staging_(reinterpret_cast<uint64_t>(base) + pool_size, staging_size) {}

SharedArena::~SharedArena() { ::munmap(base_, size()); }

uint64_t SharedArena::allocateFromPool(uint64_t size) {
  std::lock_guard lock(mutex_);
  auto allocation = pool_.allocate(size);
  return allocation ? allocation->address : 0;
}

std::optional<uint64_t> SharedArena::offsetOf(const void* address, uint64_t size) const {
  auto start = reinterpret_cast<uint64_t>(address);
  auto base = reinterpret_cast<uint64_t>(base_);
  if (start < base || start - base > this->size() || size > this->size() - (start - base)) {
    return std::nullopt;
  }
  return start - base;
}

Result<SharedArena::Block> SharedArena::allocateStaging(uint64_t size) {
  std::optional<SegmentAllocator::Allocation> allocation;
  {
    std::lock_guard lock(mutex_);
    allocation = staging_.allocate(std::max<uint64_t>(size, 1));
  }
  if (!allocation) {
    return Status::storeError(StoreErrorCode::BUFFER_OVERFLOW,
                              std::to_string(size) + " bytes do not fit in the free part of the " +
                                  std::to_string(staging_size_) +
                                  "-byte local buffer (raise local_buffer_size, or use memory "
                                  "from alloc_from_mem_pool)");
  }
  Block block;
  block.arena_ = shared_from_this();
  block.allocation_ = *allocation;
  block.data_ = reinterpret_cast<char*>(allocation->address);
  block.offset_ = allocation->address - reinterpret_cast<uint64_t>(base_);
  return block;
}

SharedArena::Block& SharedArena::Block::operator=(Block&& other) noexcept {
  if (this != &other) {
    release();
    arena_ = std::move(other.arena_);
    allocation_ = other.allocation_;
    data_ = std::exchange(other.data_, nullptr);
    offset_ = other.offset_;
  }
  return *this;
}

void SharedArena::Block::release() {
  if (!arena_) return;
  {
    std::lock_guard lock(arena_->mutex_);
    arena_->staging_.free(allocation_);
  }
  arena_.reset();
  data_ = nullptr;
}

}  // namespace mooncake::store::daemon
