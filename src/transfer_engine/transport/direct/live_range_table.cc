#include "transfer_engine/transport/direct/live_range_table.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>

#include <cerrno>
#include <cstring>
#include <new>
#include <thread>

namespace mooncake::te {
namespace {

using detail::LiveTableEntry;
using detail::LiveTableHeader;

constexpr unsigned kRequiredSeals = F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_FUTURE_WRITE | F_SEAL_SEAL;
// A reader that keeps finding the table mid-rewrite gives up (and the slice goes over TCP)
// rather than spin on a writer that may have died halfway.
constexpr int kReadAttempts = 256;

size_t tableBytes(uint64_t capacity) {
  return detail::kLiveTableHeaderBytes + capacity * sizeof(LiveTableEntry);
}

Status systemError(ErrorCode code, const std::string& what) {
  return Status::error(code, "direct: " + what + ": " + std::strerror(errno));
}

}  // namespace

LiveRangeTable::~LiveRangeTable() {
  if (base_ != nullptr) ::munmap(base_, bytes_);
}

Result<std::unique_ptr<LiveRangeTable>> LiveRangeTable::create(const std::string& segment_name,
                                                               uint64_t capacity) {
  if (segment_name.size() > detail::kLiveTableMaxName) {
    return Status::error(
        ErrorCode::ERR_INVALID_ARGUMENT,
        "direct: segment name longer than " + std::to_string(detail::kLiveTableMaxName) + " bytes");
  }
  std::unique_ptr<LiveRangeTable> table(new LiveRangeTable());
  table->fd_.reset(::memfd_create("mooncake-live-ranges", MFD_CLOEXEC | MFD_ALLOW_SEALING));
  if (!table->fd_.valid()) return systemError(ErrorCode::ERR_MEMORY, "memfd_create");
  table->bytes_ = tableBytes(capacity);
  if (::ftruncate(table->fd_.get(), static_cast<off_t>(table->bytes_)) != 0) {
    return systemError(ErrorCode::ERR_MEMORY, "ftruncate of the live range table");
  }
  void* base =
      ::mmap(nullptr, table->bytes_, PROT_READ | PROT_WRITE, MAP_SHARED, table->fd_.get(), 0);
  if (base == MAP_FAILED) return systemError(ErrorCode::ERR_MEMORY, "mmap of the live range table");
  table->base_ = base;
  // Our own writable mapping stays valid; from here on nobody (a peer holding the fd included)
  // can map it writable, write it, or change its size.
  if (::fcntl(table->fd_.get(), F_ADD_SEALS, kRequiredSeals) != 0) {
    return systemError(ErrorCode::ERR_MEMORY, "sealing the live range table");
  }
  auto* header = new (base) LiveTableHeader{};
  header->magic = detail::kLiveTableMagic;
  header->version = detail::kLiveTableVersion;
  header->capacity = capacity;
  header->name_length = static_cast<uint32_t>(segment_name.size());
  std::memcpy(header->name, segment_name.data(), segment_name.size());
  table->header_ = header;
  table->entries_ =
      reinterpret_cast<LiveTableEntry*>(static_cast<char*>(base) + detail::kLiveTableHeaderBytes);
  return table;
}

void LiveRangeTable::publish(const std::vector<LiveRange>& ranges) {
  const uint64_t sequence = beginWrite();
  const bool overflow = ranges.size() > header_->capacity;
  const size_t count = overflow ? 0 : ranges.size();
  // Release stores (plain stores on x86): a reader's acquire load of one of them synchronizes
  // with it, so the odd sequence written before it is visible to the reader's re-check.
  constexpr auto kData = std::memory_order_release;
  for (size_t i = 0; i < count; ++i) {
    entries_[i].addr.store(ranges[i].addr, kData);
    entries_[i].length.store(ranges[i].length, kData);
  }
  header_->count.store(count, kData);
  header_->overflow.store(overflow ? 1 : 0, kData);
  endWrite(sequence);
}

// Seqlock writer steps shared by publish, add and remove (single writer: callers serialize).
uint64_t LiveRangeTable::beginWrite() {
  // Acquire-release on the odd increment keeps the entry stores after it (no fence:
  // ThreadSanitizer does not model fences).
  return header_->sequence.fetch_add(1, std::memory_order_acq_rel);
}

void LiveRangeTable::endWrite(uint64_t sequence) {
  // Release: pairs with the readers' acquire load of the sequence at the start of a read.
  header_->sequence.store(sequence + 2, std::memory_order_release);
}

// The first entry whose address is not below `addr`.
uint64_t LiveRangeTable::lowerBound(uint64_t addr, uint64_t count) const {
  uint64_t low = 0, high = count;
  while (low < high) {
    uint64_t middle = low + (high - low) / 2;
    if (entries_[middle].addr.load(std::memory_order_relaxed) < addr) {
      low = middle + 1;
    } else {
      high = middle;
    }
  }
  return low;
}

void LiveRangeTable::moveEntry(uint64_t from, uint64_t to) {
  constexpr auto kData = std::memory_order_release;  // see publish
  entries_[to].addr.store(entries_[from].addr.load(std::memory_order_relaxed), kData);
  entries_[to].length.store(entries_[from].length.load(std::memory_order_relaxed), kData);
}

void LiveRangeTable::add(LiveRange range) {
  const uint64_t sequence = beginWrite();
  const uint64_t count = header_->count.load(std::memory_order_relaxed);
  if (count >= header_->capacity) {
    header_->overflow.store(1, std::memory_order_release);  // peers use TCP from now on
  } else {
    const uint64_t at = lowerBound(range.addr, count);
    for (uint64_t i = count; i > at; --i) moveEntry(i - 1, i);
    entries_[at].addr.store(range.addr, std::memory_order_release);
    entries_[at].length.store(range.length, std::memory_order_release);
    header_->count.store(count + 1, std::memory_order_release);
  }
  endWrite(sequence);
}

void LiveRangeTable::remove(uint64_t addr) {
  const uint64_t sequence = beginWrite();
  const uint64_t count = header_->count.load(std::memory_order_relaxed);
  const uint64_t at = lowerBound(addr, count);
  if (at < count && entries_[at].addr.load(std::memory_order_relaxed) == addr) {
    for (uint64_t i = at; i + 1 < count; ++i) moveEntry(i + 1, i);
    header_->count.store(count - 1, std::memory_order_release);
  }
  endWrite(sequence);
}

LiveRangeView::~LiveRangeView() {
  if (base_ != nullptr) ::munmap(const_cast<void*>(base_), bytes_);
}

Result<std::unique_ptr<LiveRangeView>> LiveRangeView::open(net::UniqueFd fd,
                                                           const std::string& segment_name) {
  auto reject = [](const std::string& why) {
    return Status::error(ErrorCode::ERR_REJECT_HANDSHAKE, "direct: peer's live range table " + why);
  };
  const int seals = ::fcntl(fd.get(), F_GET_SEALS);
  if (seals < 0 || (static_cast<unsigned>(seals) & kRequiredSeals) != kRequiredSeals) {
    return reject("is not sealed (it could change under us)");
  }
  struct stat info {};
  if (::fstat(fd.get(), &info) != 0 ||
      static_cast<size_t>(info.st_size) < detail::kLiveTableHeaderBytes) {
    return reject("is too small");
  }
  std::unique_ptr<LiveRangeView> view(new LiveRangeView());
  view->bytes_ = static_cast<size_t>(info.st_size);
  void* base = ::mmap(nullptr, view->bytes_, PROT_READ, MAP_SHARED, fd.get(), 0);
  if (base == MAP_FAILED)
    return systemError(ErrorCode::ERR_REJECT_HANDSHAKE, "mmap of a peer table");
  view->base_ = base;
  view->header_ = static_cast<const LiveTableHeader*>(base);
  const LiveTableHeader& header = *view->header_;
  if (header.magic != detail::kLiveTableMagic || header.version != detail::kLiveTableVersion) {
    return reject("has an unknown format");
  }
  if (header.capacity == 0 || tableBytes(header.capacity) > view->bytes_) {
    return reject("claims more entries than it holds");
  }
  if (header.name_length > detail::kLiveTableMaxName ||
      std::string(header.name, header.name_length) != segment_name) {
    return reject("belongs to another segment than '" + segment_name + "'");
  }
  view->capacity_ = header.capacity;
  view->entries_ = reinterpret_cast<const LiveTableEntry*>(static_cast<const char*>(base) +
                                                           detail::kLiveTableHeaderBytes);
  return view;
}

bool LiveRangeView::covers(uint64_t addr, uint64_t length) const {
  if (addr + length < addr) return false;
  // Seqlock reader. The data loads are acquire loads, so the second sequence load cannot be done
  // before them: a rewrite that overlapped them shows as a changed sequence (no fence needed).
  constexpr auto kData = std::memory_order_acquire;
  for (int attempt = 0; attempt < kReadAttempts; ++attempt) {
    // Acquire: pairs with the writer's release store of an even sequence, so the entries read
    // below are at least that version's.
    const uint64_t before = header_->sequence.load(std::memory_order_acquire);
    if (before & 1) {
      std::this_thread::yield();
      continue;
    }
    uint64_t count = header_->count.load(kData);
    bool overflow = header_->overflow.load(kData) != 0;
    bool inside = false;
    if (!overflow && count <= capacity_) {
      // The last range starting at or below addr is the only one that can hold it.
      uint64_t low = 0;
      uint64_t high = count;
      while (low < high) {
        uint64_t middle = low + (high - low) / 2;
        if (entries_[middle].addr.load(kData) <= addr) {
          low = middle + 1;
        } else {
          high = middle;
        }
      }
      if (low > 0) {
        uint64_t start = entries_[low - 1].addr.load(kData);
        uint64_t size = entries_[low - 1].length.load(kData);
        inside = addr >= start && addr + length <= start + size && start + size >= start;
      }
    }
    if (header_->sequence.load(std::memory_order_relaxed) == before) return inside && !overflow;
  }
  return false;
}

}  // namespace mooncake::te
