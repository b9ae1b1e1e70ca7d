// The same-host direct path's source of truth: a table of the ranges a process has registered as
// remote-accessible, kept in a sealed memfd that the process itself rewrites on every
// registration change and hands (read-only) to same-host peers that ask for it (TableOffer).
// A peer checks every direct slice against the live table of the process it writes to, never
// against the descriptor it fetched from the metadata service (which anyone may write).
//
// Layout (one 4 KiB header, then `capacity` entries of {addr, length}, sorted by addr; all
// 64-bit words native-endian, the header's fixed fields written once before the fd is shared):
//   magic "MCLIVRT1", version, segment name, capacity, sequence (odd while being rewritten),
//   count, overflow (more buffers than entries: peers must use TCP).
// The file is ftruncate'd to its full size once (pages stay unallocated until written) and
// sealed against growing, shrinking and new writable mappings before anyone else sees it.
#pragma once

#include <atomic>
#include <cstdint>
#include <string>
#include <vector>

#include "common/net/unique_fd.h"
#include "mooncake/common/status.h"

namespace mooncake::te {

struct LiveRange {
  uint64_t addr = 0;
  uint64_t length = 0;
};

namespace detail {
inline constexpr uint64_t kLiveTableMagic = 0x31545256494c434dull;  // "MCLIVRT1"
inline constexpr uint32_t kLiveTableVersion = 1;
inline constexpr size_t kLiveTableHeaderBytes = 4096;
inline constexpr size_t kLiveTableMaxName = 3900;

struct LiveTableHeader {
  uint64_t magic;
  uint32_t version;
  uint32_t name_length;
  uint64_t capacity;
  std::atomic<uint64_t> sequence;
  std::atomic<uint64_t> count;
  std::atomic<uint64_t> overflow;
  char name[kLiveTableMaxName];
};
static_assert(sizeof(LiveTableHeader) <= kLiveTableHeaderBytes);
static_assert(std::atomic<uint64_t>::is_always_lock_free, "shared between processes");

struct LiveTableEntry {
  std::atomic<uint64_t> addr;
  std::atomic<uint64_t> length;
};
}  // namespace detail

// The owner's side. publish() is externally synchronized (the buffer registry calls it under its
// own lock, so the table never lags a removal that has returned).
class LiveRangeTable {
 public:
  // Entries the table holds: 1 Mi ranges (16 MiB of address space, only touched pages count).
  static constexpr uint64_t kDefaultCapacity = 1ull << 20;

  ~LiveRangeTable();
  LiveRangeTable(const LiveRangeTable&) = delete;
  LiveRangeTable& operator=(const LiveRangeTable&) = delete;

  // Errors: ERR_INVALID_ARGUMENT (name too long), ERR_MEMORY (memfd, mmap or sealing failed).
  static Result<std::unique_ptr<LiveRangeTable>> create(const std::string& segment_name,
                                                        uint64_t capacity = kDefaultCapacity);

  // Replaces the table's content with `ranges` (sorted by addr, non-overlapping). More ranges
  // than the capacity mark the table overflowed: peers then go over TCP for everything.
  void publish(const std::vector<LiveRange>& ranges);
  // One range more / less (it must not overlap / must be in the table). O(1) at the end of the
  // address order, else O(entries after it): registering buffers one by one in address order
  // costs no more than registering them at once.
  void add(LiveRange range);
  void remove(uint64_t addr);

  // The sealed memfd, for handing to peers (they can only map it read-only).
  int fd() const { return fd_.get(); }

 private:
  LiveRangeTable() = default;
  uint64_t beginWrite();
  void endWrite(uint64_t sequence);
  uint64_t lowerBound(uint64_t addr, uint64_t count) const;
  void moveEntry(uint64_t from, uint64_t to);

  net::UniqueFd fd_;
  void* base_ = nullptr;
  size_t bytes_ = 0;
  detail::LiveTableHeader* header_ = nullptr;
  detail::LiveTableEntry* entries_ = nullptr;
};

// A peer's table as this process sees it (read-only mapping). Thread-safe; lock-free.
class LiveRangeView {
 public:
  ~LiveRangeView();
  LiveRangeView(const LiveRangeView&) = delete;
  LiveRangeView& operator=(const LiveRangeView&) = delete;

  // Maps a table fd handed over by its owner and checks it: the seals that keep its size and
  // content the owner's, the magic and version, and that it describes `segment_name`.
  // Errors: ERR_REJECT_HANDSHAKE naming what did not match.
  static Result<std::unique_ptr<LiveRangeView>> open(net::UniqueFd fd,
                                                     const std::string& segment_name);

  // True when [addr, addr+length) lies inside one range the owner has registered right now.
  // False while the owner is mid-rewrite for too long, or when its table overflowed.
  bool covers(uint64_t addr, uint64_t length) const;

 private:
  LiveRangeView() = default;

  const void* base_ = nullptr;
  size_t bytes_ = 0;
  uint64_t capacity_ = 0;
  const detail::LiveTableHeader* header_ = nullptr;
  const detail::LiveTableEntry* entries_ = nullptr;
};

}  // namespace mooncake::te
