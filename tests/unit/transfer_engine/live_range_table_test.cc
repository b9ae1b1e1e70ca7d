// The same-host direct path's live range table and how it is handed to peers: what a reader
// sees after each publish, and what it refuses (unsealed files, another segment's table,
// another process answering on the socket).
#include "transfer_engine/transport/direct/live_range_table.h"

#include <gtest/gtest.h>
#include <sys/mman.h>
#include <unistd.h>

#include <thread>

#include "transfer_engine/transport/direct/table_offer.h"

namespace mooncake::te {
namespace {

std::unique_ptr<LiveRangeView> viewOf(const LiveRangeTable& table, const std::string& name) {
  auto view = LiveRangeView::open(net::UniqueFd(::dup(table.fd())), name);
  EXPECT_TRUE(view.ok()) << view.status().toString();
  return view.ok() ? std::move(view).value() : nullptr;
}

TEST(LiveRangeTableTest, ReaderSeesEachPublishedListAndNothingOutsideIt) {
  auto table = LiveRangeTable::create("seg-a", /*capacity=*/16);
  ASSERT_TRUE(table.ok()) << table.status().toString();
  auto view = viewOf(**table, "seg-a");
  ASSERT_NE(view, nullptr);
  EXPECT_FALSE(view->covers(0x1000, 1));  // nothing published yet
  (*table)->publish({{0x1000, 0x1000}, {0x4000, 0x2000}});
  EXPECT_TRUE(view->covers(0x1000, 0x1000));
  EXPECT_TRUE(view->covers(0x4800, 0x800));
  EXPECT_TRUE(view->covers(0x5fff, 1));
  EXPECT_FALSE(view->covers(0x1800, 0x1000));  // runs past the first range
  EXPECT_FALSE(view->covers(0x2000, 1));       // between ranges
  EXPECT_FALSE(view->covers(0x3fff, 2));       // starts before the second
  EXPECT_FALSE(view->covers(0x6000, 1));
  EXPECT_FALSE(view->covers(0xfff, 1));
  EXPECT_FALSE(view->covers(0x4000, ~0ull));  // wraps
  (*table)->publish({{0x4000, 0x2000}});      // the first buffer was removed
  EXPECT_FALSE(view->covers(0x1000, 1));
  EXPECT_TRUE(view->covers(0x4000, 0x2000));
}

TEST(LiveRangeTableTest, SingleAddsAndRemovesKeepTheTableSortedAndCurrent) {
  auto table = LiveRangeTable::create("seg-g", /*capacity=*/200000);
  ASSERT_TRUE(table.ok());
  auto view = viewOf(**table, "seg-g");
  ASSERT_NE(view, nullptr);
  // 100,000 in address order (appends), then a few out of order.
  for (uint64_t i = 1; i <= 100000; ++i) (*table)->add({i << 16, 4096});
  (*table)->add({(3ull << 16) + 8192, 100});
  (*table)->add({1024, 100});
  EXPECT_TRUE(view->covers(1ull << 16, 4096));
  EXPECT_TRUE(view->covers(100000ull << 16, 4096));
  EXPECT_TRUE(view->covers((3ull << 16) + 8192, 100));
  EXPECT_TRUE(view->covers(1024, 100));
  EXPECT_FALSE(view->covers((3ull << 16) + 4096, 1));
  (*table)->remove(50000ull << 16);
  EXPECT_FALSE(view->covers(50000ull << 16, 1));
  EXPECT_TRUE(view->covers(49999ull << 16, 1));
  EXPECT_TRUE(view->covers(50001ull << 16, 1));
  (*table)->remove(12345);  // not in the table: nothing changes
  EXPECT_TRUE(view->covers(1024, 1));
}

TEST(LiveRangeTableTest, AnOverflowedTableCoversNothing) {
  auto table = LiveRangeTable::create("seg-b", /*capacity=*/2);
  ASSERT_TRUE(table.ok());
  auto view = viewOf(**table, "seg-b");
  ASSERT_NE(view, nullptr);
  (*table)->publish({{0x1000, 0x10}, {0x2000, 0x10}, {0x3000, 0x10}});
  EXPECT_FALSE(view->covers(0x1000, 1));
  (*table)->publish({{0x1000, 0x10}});
  EXPECT_TRUE(view->covers(0x1000, 1));
  (*table)->add({0x2000, 0x10});
  (*table)->add({0x3000, 0x10});  // one more than the capacity
  EXPECT_FALSE(view->covers(0x1000, 1));
}

TEST(LiveRangeTableTest, RefusesAnotherSegmentsTableAndAnUnsealedFile) {
  auto table = LiveRangeTable::create("seg-c", 4);
  ASSERT_TRUE(table.ok());
  EXPECT_TRUE(LiveRangeView::open(net::UniqueFd(::dup((*table)->fd())), "seg-other")
                  .status()
                  .is(ErrorCode::ERR_REJECT_HANDSHAKE));
  // A look-alike anyone could write to: same bytes, no seals.
  net::UniqueFd fake(::memfd_create("fake", MFD_CLOEXEC));
  ASSERT_TRUE(fake.valid());
  std::vector<char> bytes(detail::kLiveTableHeaderBytes + 4 * sizeof(detail::LiveTableEntry));
  ASSERT_EQ(::pread((*table)->fd(), bytes.data(), bytes.size(), 0),
            static_cast<ssize_t>(bytes.size()));
  ASSERT_EQ(::write(fake.get(), bytes.data(), bytes.size()), static_cast<ssize_t>(bytes.size()));
  EXPECT_TRUE(
      LiveRangeView::open(std::move(fake), "seg-c").status().is(ErrorCode::ERR_REJECT_HANDSHAKE));
}

TEST(LiveRangeTableTest, PeersCannotWriteTheTable) {
  auto table = LiveRangeTable::create("seg-d", 4);
  ASSERT_TRUE(table.ok());
  int fd = (*table)->fd();
  EXPECT_EQ(::mmap(nullptr, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0), MAP_FAILED);
  char zero = 0;
  EXPECT_LT(::pwrite(fd, &zero, 1, 0), 0);
  EXPECT_NE(::ftruncate(fd, 4096), 0);
}

TEST(LiveRangeTableTest, ReadersNeverSeeAHalfWrittenList) {
  auto table = LiveRangeTable::create("seg-e", 64);
  ASSERT_TRUE(table.ok());
  auto view = viewOf(**table, "seg-e");
  ASSERT_NE(view, nullptr);
  // Two lists whose entries differ in address and length: a read that mixed one list's
  // address with the other's length (or count) would cover `probe`, which neither covers.
  std::vector<LiveRange> short_ranges, long_ranges;
  for (uint64_t i = 0; i < 64; ++i) {
    const uint64_t base = (i + 1) << 20;
    short_ranges.push_back({base, 0x100});
    long_ranges.push_back({base + 0x80000, 0x10000});
  }
  (*table)->publish(short_ranges);  // every read sees one list or the other
  std::atomic<bool> done{false};
  std::atomic<bool> reading{false};
  std::thread writer([&] {
    while (!reading) std::this_thread::yield();  // rewrite while the reader reads
    for (int round = 0; round < 20000; ++round) {
      (*table)->publish(round % 2 ? long_ranges : short_ranges);
    }
    done = true;
  });
  int torn = 0;
  int seen = 0;
  reading = true;
  while (!done) {
    for (uint64_t i = 0; i < 64; i += 7) {
      const uint64_t base = (i + 1) << 20;
      torn += view->covers(base + 0x1000, 1) ? 1 : 0;  // neither list covers it
      seen += view->covers(base, 1) || view->covers(base + 0x80000, 1) ? 1 : 0;
    }
  }
  writer.join();
  EXPECT_EQ(torn, 0);
  EXPECT_GT(seen, 0);  // the reads did see the lists
}

TEST(TableOfferTest, HandsTheTableToItsOwnProcessAndRejectsAnotherPid) {
  auto table = LiveRangeTable::create("seg-f", 4);
  ASSERT_TRUE(table.ok());
  (*table)->publish({{0x1000, 0x100}});
  TableOfferServer server;
  ASSERT_TRUE(server.start((*table)->fd()).ok());
  auto fd = fetchTableFd(server.name(), ::getpid(), std::chrono::milliseconds(1000));
  ASSERT_TRUE(fd.ok()) << fd.status().toString();
  auto view = LiveRangeView::open(std::move(fd).value(), "seg-f");
  ASSERT_TRUE(view.ok()) << view.status().toString();
  EXPECT_TRUE((*view)->covers(0x1000, 0x100));
  // A descriptor naming this socket for another process is caught: the kernel says who answers.
  EXPECT_TRUE(fetchTableFd(server.name(), ::getpid() + 1, std::chrono::milliseconds(1000))
                  .status()
                  .is(ErrorCode::ERR_REJECT_HANDSHAKE));
  EXPECT_TRUE(fetchTableFd("no-such-socket-here", ::getpid(), std::chrono::milliseconds(1000))
                  .status()
                  .is(ErrorCode::ERR_SOCKET));
  server.stop();
}

}  // namespace
}  // namespace mooncake::te
