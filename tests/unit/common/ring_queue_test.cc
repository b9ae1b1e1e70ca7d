#include "common/ring_queue.h"

#include <gtest/gtest.h>

namespace mooncake {
namespace {

TEST(RingQueueTest, KeepsFifoOrderAcrossGrowthAndWrap) {
  RingQueue<int> queue(2);
  int next_out = 0;
  int next_in = 0;
  for (int round = 0; round < 50; ++round) {
    for (int i = 0; i < round % 7 + 1; ++i) queue.push(next_in++);
    while (queue.size() > 3) EXPECT_EQ(queue.pop(), next_out++);
  }
  while (!queue.empty()) EXPECT_EQ(queue.pop(), next_out++);
  EXPECT_EQ(next_in, next_out);
}

}  // namespace
}  // namespace mooncake
