// The disk tier's storage (tier/disk_store.h) on the real file system: group-committed writes,
// the index rebuilt at start, tombstones, checksums, torn tails, eviction and locking.
#include "store/tier/disk_store.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <random>

#include "support/process.h"

namespace mooncake::store::tier {
namespace {

std::string value(size_t size, uint64_t seed) {
  std::mt19937_64 random(seed);
  std::string out(size, '\0');
  for (char& c : out) c = static_cast<char>(random());
  return out;
}

class DiskStoreTest : public ::testing::Test {
 protected:
  std::unique_ptr<DiskStore> open(uint64_t capacity = 64ull << 20, uint64_t bucket = 1ull << 20,
                                  bool evict = true) {
    DiskStoreOptions options;
    options.path = dir_.path() + "/tier";
    options.capacity = capacity;
    options.bucket_size = bucket;
    options.evict_when_full = evict;
    auto store = DiskStore::open(options);
    EXPECT_TRUE(store.ok()) << store.status().toString();
    return store.ok() ? std::move(store).value() : nullptr;
  }

  // Writes key -> value(size, seed) for each item; expects every write to succeed.
  void put(DiskStore& store, const std::vector<std::pair<std::string, size_t>>& items,
           std::vector<DiskObject>* evicted = nullptr) {
    std::vector<std::string> values;
    std::vector<DiskWrite> writes;
    for (size_t i = 0; i < items.size(); ++i) {
      values.push_back(value(items[i].second, std::hash<std::string>()(items[i].first)));
    }
    for (size_t i = 0; i < items.size(); ++i) {
      writes.push_back({items[i].first, 100 + i, values[i].data(), values[i].size()});
    }
    std::vector<DiskObject> dropped;
    for (const Status& status : store.write(writes, evicted ? *evicted : dropped)) {
      EXPECT_TRUE(status.ok()) << status.toString();
    }
  }

  // The stored value, or the read's error.
  Result<std::string> get(DiskStore& store, const std::string& key) {
    MC_ASSIGN_OR_RETURN(DiskStore::Location where, store.locate(key));
    AlignedBuffer buffer(where.record.span());
    char* dest = buffer.data();
    auto results = store.read({&where, 1}, {&dest, 1});
    MC_RETURN_IF_ERROR(results.front());
    return std::string(dest + where.record.valueOffset(), where.record.value_size);
  }

  std::string bucketFile(uint32_t id) const {
    char name[40];
    std::snprintf(name, sizeof(name), "/tier/bucket-%010u.mcb", id);
    return dir_.path() + name;
  }

  testing::TempDir dir_;
};

TEST_F(DiskStoreTest, WritesReadBackAndSurviveReopen) {
  std::vector<std::pair<std::string, size_t>> items;
  for (int i = 0; i < 40; ++i) items.emplace_back("key-" + std::to_string(i), 1 + i * 7919);
  {
    auto store = open();
    put(*store, items);
    for (const auto& [key, size] : items) {
      auto got = get(*store, key);
      ASSERT_TRUE(got.ok()) << got.status().toString();
      EXPECT_EQ(*got, value(size, std::hash<std::string>()(key)));
    }
    EXPECT_EQ(store->stats().objects, items.size());
  }
  auto store = open();
  DiskStats stats = store->stats();
  EXPECT_EQ(stats.objects, items.size());
  EXPECT_EQ(stats.recovered_objects, items.size());
  for (const auto& [key, size] : items) {
    auto got = get(*store, key);
    ASSERT_TRUE(got.ok()) << key << ": " << got.status().toString();
    EXPECT_EQ(*got, value(size, std::hash<std::string>()(key)));
  }
  // The versions written are what the index gives back (for re-registration).
  auto objects = store->objects();
  ASSERT_EQ(objects.size(), items.size());
  for (const DiskObject& object : objects) EXPECT_GE(object.version, 100u);
  EXPECT_FALSE(store->locate("key-1", 12345).ok());  // another version: absent
}

TEST_F(DiskStoreTest, RemovedStaysRemovedAfterReopen) {
  {
    auto store = open();
    put(*store, {{"a", 5000}, {"b", 6000}, {"c", 7000}});
    EXPECT_TRUE(store->remove("b"));
    EXPECT_FALSE(store->remove("b"));
    EXPECT_FALSE(store->remove("a", 999));  // not that version
    ASSERT_TRUE(store->flush().ok());
    EXPECT_FALSE(get(*store, "b").ok());
  }
  auto store = open();
  EXPECT_TRUE(get(*store, "a").ok());
  EXPECT_FALSE(get(*store, "b").ok());
  EXPECT_TRUE(get(*store, "c").ok());
  EXPECT_EQ(store->stats().objects, 2u);
}

TEST_F(DiskStoreTest, DamagedBytesReadAsAbsentNeverWrong) {
  auto store = open();
  put(*store, {{"victim", 100000}, {"bystander", 100000}});
  auto where = store->locate("victim");
  ASSERT_TRUE(where.ok());
  {
    // Flip a byte in the middle of the victim's value, under the store's feet.
    int fd = ::open(bucketFile(1).c_str(), O_RDWR);
    ASSERT_GE(fd, 0);
    off_t at = static_cast<off_t>(where->record.offset + where->record.valueOffset() + 5000);
    char byte = 0;
    ASSERT_EQ(::pread(fd, &byte, 1, at), 1);
    byte = static_cast<char>(byte ^ 0x5a);
    ASSERT_EQ(::pwrite(fd, &byte, 1, at), 1);
    ::fsync(fd);
    ::close(fd);
  }
  // O_DIRECT reads see the device, so the damage shows at once.
  auto got = get(*store, "victim");
  ASSERT_FALSE(got.ok());
  EXPECT_TRUE(got.status().is(StoreErrorCode::CHECKSUM_MISMATCH)) << got.status().toString();
  EXPECT_EQ(store->stats().checksum_failures, 1u);
  EXPECT_FALSE(store->locate("victim").ok());  // dropped
  auto other = get(*store, "bystander");
  ASSERT_TRUE(other.ok());
  EXPECT_EQ(*other, value(100000, std::hash<std::string>()("bystander")));
}

TEST_F(DiskStoreTest, TornTailIsDroppedAtStartAndTheRestKept) {
  {
    auto store = open(64ull << 20, 8ull << 20);
    put(*store, {{"one", 200000}, {"two", 200000}, {"three", 200000}});
    auto where = store->locate("three");
    ASSERT_TRUE(where.ok());
    // A crash in the middle of the last record: half its value never reached the disk.
    int fd = ::open(bucketFile(1).c_str(), O_RDWR);
    ASSERT_GE(fd, 0);
    std::string zeros(50000, '\0');
    ASSERT_EQ(
        ::pwrite(fd, zeros.data(), zeros.size(),
                 static_cast<off_t>(where->record.offset + where->record.valueOffset() + 100000)),
        static_cast<ssize_t>(zeros.size()));
    ::close(fd);
  }
  auto store = open(64ull << 20, 8ull << 20);
  EXPECT_TRUE(get(*store, "one").ok());
  EXPECT_TRUE(get(*store, "two").ok());
  EXPECT_FALSE(store->locate("three").ok());
  EXPECT_EQ(store->stats().checksum_failures, 1u);
  // Writing goes on after the recovered records.
  put(*store, {{"four", 1000}});
  EXPECT_TRUE(get(*store, "four").ok());
  EXPECT_TRUE(get(*store, "two").ok());
}

TEST_F(DiskStoreTest, DamagedIndexFileFallsBackToScanning) {
  {
    auto store = open(64ull << 20, 1ull << 20);
    // Enough to fill and seal the first bucket.
    std::vector<std::pair<std::string, size_t>> items;
    for (int i = 0; i < 12; ++i) items.emplace_back("k" + std::to_string(i), 200000);
    put(*store, items);
  }
  std::string index = dir_.path() + "/tier/bucket-0000000001.idx";
  ASSERT_TRUE(std::filesystem::exists(index));
  std::filesystem::resize_file(index, std::filesystem::file_size(index) / 2);
  auto store = open(64ull << 20, 1ull << 20);
  EXPECT_EQ(store->stats().objects, 12u);
  for (int i = 0; i < 12; ++i) EXPECT_TRUE(get(*store, "k" + std::to_string(i)).ok()) << i;
}

TEST_F(DiskStoreTest, FullTierEvictsOldestBucketsAndSaysWhich) {
  auto store = open(4ull << 20, 1ull << 20);
  std::vector<DiskObject> evicted;
  for (int round = 0; round < 8; ++round) {
    std::vector<std::pair<std::string, size_t>> items;
    for (int i = 0; i < 4; ++i)
      items.emplace_back("r" + std::to_string(round) + "-" + std::to_string(i), 200000);
    put(*store, items, &evicted);
  }
  DiskStats stats = store->stats();
  EXPECT_LE(stats.file_bytes, 4ull << 20);
  EXPECT_GT(stats.evicted_objects, 0u);
  EXPECT_EQ(evicted.size(), stats.evicted_objects);
  // The oldest went first; the newest are all there.
  EXPECT_FALSE(store->locate("r0-0").ok());
  for (int i = 0; i < 4; ++i) EXPECT_TRUE(get(*store, "r7-" + std::to_string(i)).ok());
  for (const DiskObject& object : evicted) EXPECT_FALSE(store->locate(object.key).ok());
}

TEST_F(DiskStoreTest, FullTierWithoutEvictionRefusesWrites) {
  auto store = open(2ull << 20, 1ull << 20, /*evict=*/false);
  std::string big = value(300000, 1);
  std::vector<DiskObject> evicted;
  int failures = 0;
  for (int i = 0; i < 12; ++i) {
    DiskWrite write{"w" + std::to_string(i), 1, big.data(), big.size()};
    Status status = store->write({&write, 1}, evicted).front();
    if (!status.ok()) {
      EXPECT_TRUE(status.is(StoreErrorCode::FILE_WRITE_FAIL)) << status.toString();
      EXPECT_NE(status.message().find("full"), std::string::npos) << status.message();
      ++failures;
    }
  }
  EXPECT_GT(failures, 0);
  EXPECT_TRUE(evicted.empty());
  EXPECT_TRUE(get(*store, "w0").ok());  // what was stored stays
}

TEST_F(DiskStoreTest, OneProcessPerDirectoryAndBadPathsNamed) {
  auto first = open();
  DiskStoreOptions options;
  options.path = dir_.path() + "/tier";
  options.capacity = 1 << 30;
  auto second = DiskStore::open(options);
  ASSERT_FALSE(second.ok());
  EXPECT_TRUE(second.status().is(StoreErrorCode::FILE_LOCK_FAIL)) << second.status().toString();

  options.path = "/proc/version/tier";  // under a file: cannot be a directory
  auto bad = DiskStore::open(options);
  ASSERT_FALSE(bad.ok());
  EXPECT_TRUE(bad.status().is(StoreErrorCode::FILE_OPEN_FAIL)) << bad.status().toString();
  EXPECT_NE(bad.status().message().find("/proc/version/tier"), std::string::npos);
}

TEST_F(DiskStoreTest, EmptiedOldestBucketsGiveTheirSpaceBack) {
  auto store = open(64ull << 20, 1ull << 20, /*evict=*/false);
  std::vector<std::pair<std::string, size_t>> items;
  for (int i = 0; i < 20; ++i) items.emplace_back("e" + std::to_string(i), 200000);
  put(*store, items);  // 4 buckets
  uint64_t before = store->stats().file_bytes;
  for (int i = 0; i < 10; ++i) store->remove("e" + std::to_string(i));
  ASSERT_TRUE(store->flush().ok());
  DiskStats stats = store->stats();
  EXPECT_EQ(stats.reclaimed_buckets, 2u);  // the two oldest held only removed objects
  EXPECT_EQ(stats.file_bytes, before - (2u << 20));
  for (int i = 10; i < 20; ++i) EXPECT_TRUE(get(*store, "e" + std::to_string(i)).ok()) << i;
  store.reset();
  store = open(64ull << 20, 1ull << 20, false);  // and the removals still hold after a restart
  EXPECT_EQ(store->stats().objects, 10u);
  EXPECT_FALSE(store->locate("e3").ok());
}

TEST_F(DiskStoreTest, ValuesLargerThanABucketGetTheirOwn) {
  auto store = open(64ull << 20, 1ull << 20);
  put(*store, {{"small", 10}, {"huge", 3u << 20}, {"after", 10}});
  auto huge = get(*store, "huge");
  ASSERT_TRUE(huge.ok());
  EXPECT_EQ(huge->size(), 3u << 20);
  EXPECT_TRUE(get(*store, "after").ok());
}

}  // namespace
}  // namespace mooncake::store::tier
