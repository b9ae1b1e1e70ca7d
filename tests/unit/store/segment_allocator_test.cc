#include "store/master/segment_allocator.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <random>

namespace mooncake::store {
namespace {

TEST(SegmentAllocatorTest, AllocationsStayInsideTheSegmentAndNeverOverlap) {
  const uint64_t base = 0x10000003;  // unaligned on purpose
  SegmentAllocator allocator(base, 1 << 20);
  std::map<uint64_t, uint64_t> live;  // address -> size
  std::vector<SegmentAllocator::Allocation> handles;
  std::mt19937_64 random(7);
  for (int step = 0; step < 20000; ++step) {
    if (!handles.empty() && random() % 3 == 0) {
      size_t pick = random() % handles.size();
      live.erase(handles[pick].address);
      allocator.free(handles[pick]);
      handles[pick] = handles.back();
      handles.pop_back();
      continue;
    }
    auto allocation = allocator.allocate(1 + random() % 20000);
    if (!allocation) continue;
    EXPECT_EQ(allocation->address % SegmentAllocator::kAlignment, 0u);
    EXPECT_GE(allocation->address, base);
    EXPECT_LE(allocation->address + allocation->size, base + (1 << 20));
    auto next = live.lower_bound(allocation->address);
    if (next != live.end()) {
      EXPECT_LE(allocation->address + allocation->size, next->first);
    }
    if (next != live.begin()) {
      auto prev = std::prev(next);
      EXPECT_LE(prev->first + prev->second, allocation->address);
    }
    live[allocation->address] = allocation->size;
    handles.push_back(*allocation);
  }
  uint64_t used = 0;
  for (auto& [address, size] : live) used += size;
  EXPECT_EQ(allocator.usedBytes(), used);
}

TEST(SegmentAllocatorTest, FreeingEverythingCoalescesBackToOneBlock) {
  SegmentAllocator allocator(0x1000, 1 << 24);
  std::vector<SegmentAllocator::Allocation> handles;
  while (auto allocation = allocator.allocate(3000 + handles.size() % 7 * 1000)) {
    handles.push_back(*allocation);
  }
  std::shuffle(handles.begin(), handles.end(), std::mt19937(3));
  for (const auto& allocation : handles) allocator.free(allocation);
  EXPECT_EQ(allocator.usedBytes(), 0u);
  EXPECT_EQ(allocator.freeBlockCount(), 1u);
  EXPECT_EQ(allocator.largestFreeBlock(), allocator.capacity());
}

TEST(SegmentAllocatorTest, UniformObjectsFillTheSegmentAndReuseFreedSlotsExactly) {
  const uint64_t object = 3198 * 1024;  // a KV block size seen in practice
  const uint64_t capacity = 1024ull << 20;
  SegmentAllocator allocator(0x40000000, capacity);
  std::vector<SegmentAllocator::Allocation> handles;
  while (auto allocation = allocator.allocate(object)) handles.push_back(*allocation);
  EXPECT_EQ(handles.size(), capacity / object);  // no object lost to rounding
  // Churn: free every other object and allocate again; all freed slots must be reusable.
  for (int round = 0; round < 5; ++round) {
    size_t freed = 0;
    for (size_t i = round % 2; i < handles.size(); i += 2, ++freed) allocator.free(handles[i]);
    for (size_t i = round % 2; i < handles.size(); i += 2) {
      auto allocation = allocator.allocate(object);
      ASSERT_TRUE(allocation.has_value()) << "round " << round;
      handles[i] = *allocation;
    }
    EXPECT_GT(freed, 0u);
  }
  EXPECT_GE(static_cast<double>(allocator.usedBytes()) / capacity, 0.99);
}

TEST(SegmentAllocatorTest, RefusesZeroOversizedAndExhaustedRequests) {
  SegmentAllocator allocator(0, 4096);
  EXPECT_FALSE(allocator.allocate(0).has_value());
  EXPECT_FALSE(allocator.allocate(4097).has_value());
  auto all = allocator.allocate(4096);
  ASSERT_TRUE(all.has_value());
  EXPECT_FALSE(allocator.allocate(1).has_value());
  allocator.free(*all);
  EXPECT_TRUE(allocator.allocate(1).has_value());
  SegmentAllocator tiny(0, 10);
  EXPECT_EQ(tiny.capacity(), 0u);
  EXPECT_FALSE(tiny.allocate(1).has_value());
}

}  // namespace
}  // namespace mooncake::store
