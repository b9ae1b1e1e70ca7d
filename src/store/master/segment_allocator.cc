#include "store/master/segment_allocator.h"

#include <bit>

namespace mooncake::store {

SegmentAllocator::SegmentAllocator(uint64_t base, uint64_t size) {
  bin_heads_.fill(kNone);
  uint64_t aligned_base = (base + kAlignment - 1) / kAlignment * kAlignment;
  uint64_t usable = size > aligned_base - base ? size - (aligned_base - base) : 0;
  base_ = aligned_base;
  uint64_t units = usable / kAlignment;
  capacity_ = units * kAlignment;
  if (units == 0) return;
  uint32_t first = newBlock();
  blocks_[first].offset = 0;
  blocks_[first].units = units;
  insertFree(first);
  adopt_cursor_ = first;
}

// Bins: units below 8 map to bins 0..7 exactly; above, bin = 8 * (exponent - 2) + the three
// bits below the leading one, so each power of two is split into 8 classes.
int SegmentAllocator::binFloor(uint64_t units) {
  if (units < 8) return static_cast<int>(units);
  int exponent = 63 - std::countl_zero(units);
  auto mantissa = static_cast<int>((units >> (exponent - kMantissaBits)) & 7);
  return 8 * (exponent - 2) + mantissa;
}

int SegmentAllocator::binCeil(uint64_t units) {
  int bin = binFloor(units);
  if (units < 8) return bin;
  int exponent = 63 - std::countl_zero(units);
  uint64_t below_mantissa = units & ((uint64_t{1} << (exponent - kMantissaBits)) - 1);
  return below_mantissa != 0 ? bin + 1 : bin;
}

uint32_t SegmentAllocator::newBlock() {
  if (!spare_blocks_.empty()) {
    uint32_t index = spare_blocks_.back();
    spare_blocks_.pop_back();
    blocks_[index] = Block();
    return index;
  }
  blocks_.emplace_back();
  return static_cast<uint32_t>(blocks_.size() - 1);
}

void SegmentAllocator::insertFree(uint32_t index) {
  Block& block = blocks_[index];
  int bin = binFloor(block.units);
  block.free = true;
  block.prev_in_bin = kNone;
  block.next_in_bin = bin_heads_[bin];
  if (block.next_in_bin != kNone) blocks_[block.next_in_bin].prev_in_bin = index;
  bin_heads_[bin] = index;
  bin_bitmap_[bin / 64] |= uint64_t{1} << (bin % 64);
  ++free_blocks_;
}

void SegmentAllocator::removeFree(uint32_t index) {
  Block& block = blocks_[index];
  int bin = binFloor(block.units);
  if (block.prev_in_bin != kNone) {
    blocks_[block.prev_in_bin].next_in_bin = block.next_in_bin;
  } else {
    bin_heads_[bin] = block.next_in_bin;
    if (block.next_in_bin == kNone) bin_bitmap_[bin / 64] &= ~(uint64_t{1} << (bin % 64));
  }
  if (block.next_in_bin != kNone) blocks_[block.next_in_bin].prev_in_bin = block.prev_in_bin;
  block.free = false;
  --free_blocks_;
}

int SegmentAllocator::findNonEmptyBin(int from) const {
  for (int word = from / 64; word < kBinCount / 64; ++word) {
    uint64_t bits = bin_bitmap_[word];
    if (word == from / 64) bits &= ~uint64_t{0} << (from % 64);
    if (bits != 0) return word * 64 + std::countr_zero(bits);
  }
  return -1;
}

uint32_t SegmentAllocator::splitAfter(uint32_t index, uint64_t units) {
  uint32_t tail = newBlock();
  Block& block = blocks_[index];  // newBlock may have reallocated blocks_
  Block& rest = blocks_[tail];
  rest.offset = block.offset + units;
  rest.units = block.units - units;
  rest.prev_physical = index;
  rest.next_physical = block.next_physical;
  if (block.next_physical != kNone) blocks_[block.next_physical].prev_physical = tail;
  block.next_physical = tail;
  block.units = units;
  return tail;
}

std::optional<SegmentAllocator::Allocation> SegmentAllocator::adopt(uint64_t address,
                                                                    uint64_t size) {
  if (adopt_cursor_ == kNone || size == 0 || address < base_ || (address - base_) % kAlignment ||
      size % kAlignment) {
    return std::nullopt;
  }
  const uint64_t offset = (address - base_) / kAlignment;
  const uint64_t units = size / kAlignment;
  uint32_t index = adopt_cursor_;
  const Block& free_block = blocks_[index];
  if (offset < free_block.offset || offset + units > free_block.offset + free_block.units) {
    return std::nullopt;
  }
  removeFree(index);
  if (offset > blocks_[index].offset) {
    uint32_t rest = splitAfter(index, offset - blocks_[index].offset);
    insertFree(index);  // the gap before the range stays free
    index = rest;
  }
  adopt_cursor_ = kNone;
  if (blocks_[index].units > units) {
    adopt_cursor_ = splitAfter(index, units);
    insertFree(adopt_cursor_);
  }
  used_ += units * kAlignment;
  return Allocation{address, units * kAlignment, index};
}

std::optional<SegmentAllocator::Allocation> SegmentAllocator::allocate(uint64_t size) {
  adopt_cursor_ = kNone;
  if (size == 0 || size > capacity_) return std::nullopt;
  uint64_t units = (size + kAlignment - 1) / kAlignment;
  // Exact-size reuse first: the head of the request's own class may already fit.
  uint32_t index = bin_heads_[binFloor(units)];
  if (index == kNone || blocks_[index].units < units) {
    int bin = findNonEmptyBin(binCeil(units));
    if (bin < 0) return std::nullopt;
    index = bin_heads_[bin];
  }
  removeFree(index);
  if (blocks_[index].units > units) insertFree(splitAfter(index, units));
  used_ += units * kAlignment;
  return Allocation{base_ + blocks_[index].offset * kAlignment, units * kAlignment, index};
}

void SegmentAllocator::absorbNext(uint32_t index) {
  uint32_t next = blocks_[index].next_physical;
  blocks_[index].units += blocks_[next].units;
  blocks_[index].next_physical = blocks_[next].next_physical;
  if (blocks_[next].next_physical != kNone) {
    blocks_[blocks_[next].next_physical].prev_physical = index;
  }
  spare_blocks_.push_back(next);
}

void SegmentAllocator::free(const Allocation& allocation) {
  adopt_cursor_ = kNone;
  uint32_t index = allocation.block;
  used_ -= blocks_[index].units * kAlignment;
  // Merge with a free successor, then into a free predecessor.
  uint32_t next = blocks_[index].next_physical;
  if (next != kNone && blocks_[next].free) {
    removeFree(next);
    absorbNext(index);
  }
  uint32_t prev = blocks_[index].prev_physical;
  if (prev != kNone && blocks_[prev].free) {
    removeFree(prev);
    absorbNext(prev);
    index = prev;
  }
  insertFree(index);
}

uint64_t SegmentAllocator::largestFreeBlock() const {
  for (int word = kBinCount / 64 - 1; word >= 0; --word) {
    if (bin_bitmap_[word] == 0) continue;
    int bin = word * 64 + 63 - std::countl_zero(bin_bitmap_[word]);
    uint64_t largest = 0;
    for (uint32_t i = bin_heads_[bin]; i != kNone; i = blocks_[i].next_in_bin) {
      largest = std::max(largest, blocks_[i].units);
    }
    return largest * kAlignment;
  }
  return 0;
}

}  // namespace mooncake::store
