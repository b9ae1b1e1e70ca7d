#include "transfer_engine/engine/batch.h"

#include <gtest/gtest.h>

#include <vector>

namespace mooncake::te {
namespace {

std::vector<std::pair<uint64_t, uint64_t>> slices(uint64_t length, uint64_t slice_size) {
  std::vector<std::pair<uint64_t, uint64_t>> out;
  forEachSlice(length, slice_size, [&](uint64_t o, uint64_t l) { out.emplace_back(o, l); });
  return out;
}

TEST(BatchTest, SlicesCoverTheRequestExactlyOnce) {
  for (uint64_t length :
       {1ull, 7ull, 65535ull, 65536ull, 65537ull, 81920ull, 81921ull, 1048576ull, 3000001ull}) {
    auto cut = slices(length, 65536);
    uint64_t expected_offset = 0;
    for (auto [offset, size] : cut) {
      EXPECT_EQ(offset, expected_offset);
      EXPECT_GT(size, 0u);
      EXPECT_LE(size, 65536u + 16384u);
      expected_offset += size;
    }
    EXPECT_EQ(expected_offset, length);
    EXPECT_EQ(cut.size(), sliceCount(length, 65536));
  }
}

TEST(BatchTest, ShortTailIsMergedIntoThePreviousSlice) {
  auto cut = slices(65536 + 16384, 65536);  // tail of a quarter slice: merged
  ASSERT_EQ(cut.size(), 1u);
  cut = slices(65536 + 16385, 65536);  // larger tail: its own slice
  ASSERT_EQ(cut.size(), 2u);
  EXPECT_EQ(cut[1].second, 16385u);
  EXPECT_TRUE(slices(0, 65536).empty());
}

TEST(BatchTest, TaskStatusFollowsSliceCounters) {
  Task task;
  EXPECT_EQ(task.status().s, COMPLETED);  // nothing pending: a zero-length request
  task.pending_slices = 2;
  EXPECT_EQ(task.status().s, WAITING);
  task.transferred_bytes += 10;
  task.pending_slices -= 1;
  EXPECT_EQ(task.status().s, WAITING);
  task.failed_slices += 1;
  task.pending_slices -= 1;
  EXPECT_EQ(task.status().s, FAILED);
  EXPECT_EQ(task.status().transferred_bytes, 10u);
}

}  // namespace
}  // namespace mooncake::te
