#include "common/wait_look.h"

#include <gtest/gtest.h>

#include <thread>

namespace mooncake {
namespace {

using std::chrono::microseconds;

TEST(ConnectionLookTest, NewConnectionLooks) {
  ConnectionLook look(microseconds(200));
  EXPECT_EQ(look.next(), microseconds(200));
}

TEST(ConnectionLookTest, StopsLookingOnceRequestsKeepComingLater) {
  ConnectionLook look(microseconds(200));
  // Seven requests later than four looks (800 us) leave one of the last eight soon enough: not
  // enough.
  for (int i = 0; i < 6; ++i) {
    look.arrivedAfter(microseconds(900));
    EXPECT_EQ(look.next(), microseconds(200)) << "after " << i + 1 << " late requests";
  }
  look.arrivedAfter(microseconds(900));
  EXPECT_EQ(look.next(), microseconds(0));
  // It stays asleep while they stay late, however long that lasts.
  for (int i = 0; i < 100; ++i) look.arrivedAfter(microseconds(5000));
  EXPECT_EQ(look.next(), microseconds(0));
}

TEST(ConnectionLookTest, LooksAgainWhenTwoRecentRequestsCameSoon) {
  ConnectionLook look(microseconds(200));
  for (int i = 0; i < 8; ++i) look.arrivedAfter(microseconds(900));
  ASSERT_EQ(look.next(), microseconds(0));
  look.arrivedAfter(microseconds(30));  // the client sped up (sleeping still sees it)
  EXPECT_EQ(look.next(), microseconds(0));
  look.arrivedAfter(microseconds(800));  // exactly four looks still counts
  EXPECT_EQ(look.next(), microseconds(200));
}

TEST(ConnectionLookTest, RequestsJustAfterTheLookStillKeepIt) {
  // A request 300 us after a 100 us look began was not caught, but the core had been idle for
  // only 200 us: the look is kept.
  ConnectionLook look(microseconds(100));
  for (int i = 0; i < 50; ++i) look.arrivedAfter(microseconds(300));
  EXPECT_EQ(look.next(), microseconds(100));
  look = ConnectionLook(microseconds(100));
  for (int i = 0; i < 50; ++i) look.arrivedAfter(microseconds(401));
  EXPECT_EQ(look.next(), microseconds(0));
}

TEST(ConnectionLookTest, OneQuickRequestInEightKeepsNothingButTwoDo) {
  ConnectionLook look(microseconds(100));
  for (int round = 0; round < 4; ++round) {  // 1 quick, 7 late, repeated
    look.arrivedAfter(microseconds(10));
    for (int i = 0; i < 7; ++i) look.arrivedAfter(microseconds(1000));
  }
  EXPECT_EQ(look.next(), microseconds(0));
  for (int round = 0; round < 4; ++round) {  // 2 quick, 6 late: looks throughout
    look.arrivedAfter(microseconds(10));
    look.arrivedAfter(microseconds(10));
    for (int i = 0; i < 6; ++i) {
      look.arrivedAfter(microseconds(1000));
      EXPECT_EQ(look.next(), microseconds(100));
    }
  }
}

TEST(ConnectionLookTest, ZeroLookNeverLooks) {
  ConnectionLook look(microseconds(0));
  EXPECT_EQ(look.next(), microseconds(0));
  for (int i = 0; i < 8; ++i) look.arrivedAfter(microseconds(0));
  EXPECT_EQ(look.next(), microseconds(0));
}

TEST(SleepAtOnceScopeTest, ZeroesThisThreadsAnswerLookWhileAlive) {
  const microseconds configured = waitLookBeforeSleep();
  EXPECT_EQ(lookForAnswer(), configured);
  {
    SleepAtOnceScope outer;
    EXPECT_EQ(lookForAnswer(), microseconds(0));
    {
      SleepAtOnceScope inner;
      EXPECT_EQ(lookForAnswer(), microseconds(0));
    }
    EXPECT_EQ(lookForAnswer(), microseconds(0)) << "the outer scope still holds";
    // Only this thread sleeps at once: another thread's waits still look.
    microseconds other{-1};
    std::thread([&other] { other = lookForAnswer(); }).join();
    EXPECT_EQ(other, configured);
  }
  EXPECT_EQ(lookForAnswer(), configured);
}

TEST(SleepAtOnceScopeTest, AnInactiveScopeChangesNothing) {
  SleepAtOnceScope inactive(false);
  EXPECT_EQ(lookForAnswer(), waitLookBeforeSleep());
}

}  // namespace
}  // namespace mooncake
