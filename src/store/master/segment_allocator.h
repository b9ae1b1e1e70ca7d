// Space allocation inside one mounted segment (one contiguous range of a client's memory).
//
// A two-level segregated-fit allocator: free blocks sit in size-class bins (8 classes per power
// of two) marked in a bitmap, so finding a block is a couple of bit scans, O(1) in the number of
// blocks. Allocations are exact (rounded to 64 bytes only), and freed blocks merge with free
// neighbours. For the store's typical workload, many objects of one size (KV blocks), a freed
// block of exactly the requested size is found first in its own bin, so uniform workloads pack
// with no per-object waste; the bitmap search that guarantees O(1) otherwise uses the next
// larger class.
//
// Externally synchronized: the master serializes calls per segment.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <vector>

namespace mooncake::store {

class SegmentAllocator {
 public:
  static constexpr uint64_t kAlignment = 64;

  struct Allocation {
    uint64_t address = 0;  // inside [base, base + size)
    uint64_t size = 0;     // bytes reserved (request rounded up to kAlignment)
    uint32_t block = 0;    // internal handle for free()
  };

  // Manages [base, base + size); base and size need not be aligned (the usable range is
  // trimmed to kAlignment).
  SegmentAllocator(uint64_t base, uint64_t size);

  // nullopt when no free block is large enough (or size is 0).
  std::optional<Allocation> allocate(uint64_t size);
  // Returns the allocation's space. Requires: `allocation` came from this allocator and was not
  // freed yet.
  void free(const Allocation& allocation);
  // Rebuilding a segment's state (metadata recovery): marks [address, address + size) as
  // allocated. Calls must come in ascending address order, right after construction (before
  // any allocate or free); nullopt for a range that is unaligned, outside the segment or
  // overlapping an earlier one.
  std::optional<Allocation> adopt(uint64_t address, uint64_t size);

  uint64_t capacity() const { return capacity_; }
  uint64_t usedBytes() const { return used_; }
  uint64_t largestFreeBlock() const;
  size_t freeBlockCount() const { return free_blocks_; }

 private:
  static constexpr uint32_t kNone = UINT32_MAX;
  static constexpr int kMantissaBits = 3;
  static constexpr int kBinCount = 64 * 8;

  struct Block {
    uint64_t offset = 0;  // in kAlignment units from base_
    uint64_t units = 0;
    uint32_t prev_physical = kNone;
    uint32_t next_physical = kNone;
    uint32_t prev_in_bin = kNone;
    uint32_t next_in_bin = kNone;
    bool free = false;
  };

  static int binFloor(uint64_t units);
  static int binCeil(uint64_t units);
  uint32_t newBlock();
  void insertFree(uint32_t index);
  void removeFree(uint32_t index);
  // Merges the physical successor of `index` into it. Requires: neither is in a bin.
  void absorbNext(uint32_t index);
  // Cuts block `index` (not in a bin) after `units`; returns the new tail block (not in a bin).
  uint32_t splitAfter(uint32_t index, uint64_t units);
  int findNonEmptyBin(int from) const;

  uint64_t base_;
  uint64_t capacity_ = 0;
  uint64_t used_ = 0;
  size_t free_blocks_ = 0;
  std::vector<Block> blocks_;
  std::vector<uint32_t> spare_blocks_;  // recycled Block slots
  uint32_t adopt_cursor_ = kNone;       // the free block after the last adopted range
  std::array<uint32_t, kBinCount> bin_heads_;
  std::array<uint64_t, kBinCount / 64> bin_bitmap_{};
};

}  // namespace mooncake::store
