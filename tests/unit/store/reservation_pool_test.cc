#include "store/client/reservation_pool.h"

#include <gtest/gtest.h>

#include <thread>

namespace mooncake::store {
namespace {

ReservedSpace space(uint64_t id) { return {id, {{"node:1", 0x1000 * id, 4096, {}}}}; }

TEST(ReservationPoolTest, ShapesSeparateSizesAndConfigs) {
  ReplicateConfig one;
  ReplicateConfig two;
  two.replica_num = 2;
  ReplicateConfig preferred;
  preferred.preferred_segments = {"a"};
  EXPECT_NE(ReservationPool::shapeOf(4096, one), ReservationPool::shapeOf(8192, one));
  EXPECT_NE(ReservationPool::shapeOf(4096, one), ReservationPool::shapeOf(4096, two));
  EXPECT_NE(ReservationPool::shapeOf(4096, one), ReservationPool::shapeOf(4096, preferred));
  EXPECT_EQ(ReservationPool::shapeOf(4096, two), ReservationPool::shapeOf(4096, two));
}

TEST(ReservationPoolTest, HandsOutFreshReservationsOfTheShapeAndEpochOnly) {
  ReservationPool pool;
  std::vector<uint64_t> give_back;
  pool.keep("a", space(1), /*epoch=*/7, give_back);
  pool.keep("b", space(2), 7, give_back);
  EXPECT_FALSE(pool.take("c", 7, give_back));
  auto taken = pool.take("a", 7, give_back);
  ASSERT_TRUE(taken);
  EXPECT_EQ(taken->id, 1u);
  EXPECT_FALSE(pool.take("a", 7, give_back));  // used up
  // Another master (epoch) does not know reservation 2: dropped, nothing to give back.
  EXPECT_FALSE(pool.take("b", 8, give_back));
  EXPECT_TRUE(give_back.empty());
  // Too old to write to: given back instead.
  pool.keep("a", space(3), 7, give_back);
  std::this_thread::sleep_for(ReservationPool::kMaxAge + std::chrono::milliseconds(20));
  EXPECT_FALSE(pool.take("a", 7, give_back));
  EXPECT_EQ(give_back, std::vector<uint64_t>{3});
}

TEST(ReservationPoolTest, BoundsWhatItHoldsAndDrains) {
  ReservationPool pool;
  std::vector<uint64_t> give_back;
  for (uint64_t id = 1; id <= ReservationPool::kPerShape + 2; ++id)
    pool.keep("a", space(id), 1, give_back);
  EXPECT_EQ(give_back, (std::vector<uint64_t>{1, 2}));  // the oldest go back
  give_back.clear();
  for (size_t shape = 0; shape < ReservationPool::kMaxShapes; ++shape) {
    pool.keep("s" + std::to_string(shape), space(100 + shape), 1, give_back);
  }
  EXPECT_FALSE(give_back.empty());  // one shape made room for the others
  std::vector<uint64_t> held = pool.drain();
  EXPECT_EQ(held.size() + give_back.size(),
            ReservationPool::kPerShape + ReservationPool::kMaxShapes);
  EXPECT_TRUE(pool.drain().empty());
}

}  // namespace
}  // namespace mooncake::store
