// The disk tier with real processes and a real file system: mooncake_master --enable_offload,
// holders (mooncake_client --enable_offload, each with its own directory) and readers in the
// test process. Offload on eviction and written behind, reads of disk-only objects through the
// holder's staging, restarts of the holder and of the master, damaged files, kill -9 in the
// middle of offloading, a full file system (a small tmpfs) and promotion on hit.
#include <dirent.h>
#include <fcntl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cstring>
#include <fstream>
#include <sstream>
#include <thread>

#include "integration/store/cluster_fixture.h"

namespace mooncake::store {
namespace {

using namespace std::chrono_literals;

constexpr size_t kValue = 512 << 10;

class DiskTierTest : public StoreClusterTest {
 protected:
  void TearDown() override {
    holder_.reset();
    if (!mounted_.empty()) ::umount2(mounted_.c_str(), MNT_DETACH);
  }

  // mooncake_client with a disk tier in `dir`; waits until it serves.
  void startHolder(const std::string& dir, uint64_t segment_bytes,
                   std::vector<std::string> env = {}) {
    holder_.reset();
    holder_port_ = testing::freeLoopbackPort();
    env.push_back("MC_TCP_BIND_ADDRESS=127.0.0.1");
    env.push_back("MOONCAKE_OFFLOAD_HEARTBEAT_INTERVAL_SECONDS=0.02");
    holder_log_ = metadata_dir_.path() + "/holder-" + std::to_string(holder_port_) + ".log";
    holder_ = std::make_unique<testing::ChildProcess>(
        testing::builtBinary("tools/mooncake_client"),
        std::vector<std::string>{"--host=127.0.0.1", "--metadata_server=" + metadataUrl(),
                                 "--master_server_address=" + masterAddress(),
                                 "--port=" + std::to_string(holder_port_),
                                 "--global_segment_size=" + std::to_string(segment_bytes),
                                 "--enable_offload", "--offload_path=" + dir},
        env, holder_log_);
    std::string line = holder_->readLine(30s);
    ASSERT_NE(line.find("mounted on"), std::string::npos) << line << "\n" << holderLog();
  }

  void killHolder() {
    holder_->signal(SIGKILL);
    holder_->wait(10s);
  }

  std::string holderLog() const {
    std::ifstream in(holder_log_);
    std::stringstream text;
    text << in.rdbuf();
    return text.str();
  }

  static int64_t metricIn(const std::string& body, const std::string& name) {
    std::istringstream lines(body);
    int64_t total = -1;
    for (std::string line; std::getline(lines, line);) {
      if (line.rfind(name + " ", 0) == 0 || line.rfind(name + "{", 0) == 0) {
        total = std::max<int64_t>(total, 0) + std::stoll(line.substr(line.rfind(' ') + 1));
      }
    }
    return total;
  }
  int64_t masterMetric(const std::string& name) { return metricIn(httpGet("/metrics"), name); }
  int64_t holderMetric(const std::string& name) {
    auto response =
        testing::httpCall("GET", "http://127.0.0.1:" + std::to_string(holder_port_) + "/metrics");
    return response.ok() ? metricIn(response->body, name) : -1;
  }

  // Puts keys [first, last) of kValue bytes; each batch of `step` waits until the master
  // recorded their disk copies (write-behind keeps pace with the test's puts).
  void putAndOffload(Client& client, int first, int last, int step = 4) {
    for (int i = first; i < last; ++i) {
      Status put = client.put(key(i), value(kValue, i).data(), kValue);
      ASSERT_TRUE(put.ok()) << put.toString();
      if ((i + 1 - first) % step == 0 || i + 1 == last) {
        ASSERT_TRUE(testing::waitFor(
            [&] { return masterMetric("mooncake_master_offloaded_objects_total") >= i + 1; }, 20s))
            << "offloaded " << masterMetric("mooncake_master_offloaded_objects_total") << " of "
            << i + 1 << "\n"
            << holderLog();
      }
    }
  }

  static std::string key(int i) { return "disk-" + std::to_string(i); }
  static bool exists(Client& client, const std::string& k) {
    auto found = client.isExist(k);
    return found.ok() && *found;
  }

  // Every key reads back exactly or is absent; returns how many read back.
  int readBackOrAbsent(Client& client, int first, int last) {
    int exact = 0;
    for (int i = first; i < last; ++i) {
      auto got = client.get(key(i));
      if (!got.ok()) continue;
      EXPECT_EQ(*got, value(kValue, i)) << key(i) << " came back with other bytes";
      exact += *got == value(kValue, i) ? 1 : 0;
    }
    return exact;
  }

  std::vector<std::string> bucketFiles(const std::string& dir) {
    std::vector<std::string> out;
    DIR* d = ::opendir(dir.c_str());
    if (d == nullptr) return out;
    while (dirent* e = ::readdir(d)) {
      std::string name = e->d_name;
      if (name.size() > 4 && name.substr(name.size() - 4) == ".mcb")
        out.push_back(dir + "/" + name);
    }
    ::closedir(d);
    return out;
  }

  testing::TempDir disk_dir_;
  std::unique_ptr<testing::ChildProcess> holder_;
  uint16_t holder_port_ = 0;
  std::string holder_log_;
  std::string mounted_;
};

TEST_F(DiskTierTest, EvictedObjectsAreReadFromTheHolderDisk) {
  startMaster({"--enable_offload"});
  startHolder(disk_dir_.path() + "/tier", 8 << 20);
  auto reader = pureClient();
  ASSERT_NE(reader, nullptr);
  putAndOffload(*reader, 0, 40);  // 20 MiB through an 8 MiB segment
  EXPECT_GT(masterMetric("mooncake_master_evicted_to_disk_total"), 0);
  EXPECT_EQ(masterMetric("mooncake_master_evicted_without_offload_total"), 0);
  for (int i = 0; i < 40; ++i) {
    auto got = reader->get(key(i));
    ASSERT_TRUE(got.ok()) << key(i) << ": " << got.status().toString();
    EXPECT_EQ(*got, value(kValue, i)) << key(i);
  }
  EXPECT_GT(masterMetric("mooncake_master_disk_replica_reads_total"), 0);
  EXPECT_GT(holderMetric("mooncake_disk_tier_staged_reads_total"), 0);
  EXPECT_EQ(holderMetric("mooncake_disk_tier_objects"), 40);
  // A batch of disk-only objects: the holder stages them together.
  std::vector<std::string> keys;
  for (int i = 0; i < 16; ++i) keys.push_back(key(i));
  auto batch = reader->batchGet(keys);
  for (int i = 0; i < 16; ++i) {
    ASSERT_TRUE(batch[i].ok()) << keys[i] << ": " << batch[i].status().toString();
    EXPECT_EQ(*batch[i], value(kValue, i));
  }
  // Zero-copy into the caller's registered buffer.
  std::string buffer(kValue, '\0');
  ASSERT_TRUE(reader->registerBuffer(buffer.data(), buffer.size()).ok());
  auto into = reader->getInto(key(1), buffer.data(), buffer.size());
  ASSERT_TRUE(into.ok()) << into.status().toString();
  EXPECT_EQ(buffer, value(kValue, 1));
  (void)reader->unregisterBuffer(buffer.data());
}

TEST_F(DiskTierTest, OffloadOnEvictWritesOnlyWhatEvictionPicks) {
  startMaster({"--enable_offload", "--offload_on_evict"});
  startHolder(disk_dir_.path() + "/tier", 8 << 20);
  auto reader = pureClient();
  ASSERT_NE(reader, nullptr);
  for (int i = 0; i < 10; ++i)
    ASSERT_TRUE(reader->put(key(i), value(kValue, i).data(), kValue).ok());
  std::this_thread::sleep_for(300ms);
  EXPECT_EQ(masterMetric("mooncake_master_offloads_queued_total"), 0);  // nothing evicted yet
  EXPECT_EQ(holderMetric("mooncake_disk_tier_objects"), 0);
  // Past the segment: eviction picks the oldest, which go to disk; a put that finds no room
  // while their writes run is retried.
  for (int i = 10; i < 36; ++i) {
    std::string data = value(kValue, i);
    ASSERT_TRUE(
        testing::waitFor([&] { return reader->put(key(i), data.data(), kValue).ok(); }, 20s))
        << key(i);
  }
  EXPECT_EQ(masterMetric("mooncake_master_evicted_without_offload_total"), 0);
  ASSERT_TRUE(testing::waitFor(
      [&] { return masterMetric("mooncake_master_evicted_to_disk_total") > 0; }, 20s));
  EXPECT_EQ(masterMetric("mooncake_master_offloaded_objects_total"),
            masterMetric("mooncake_master_evicted_to_disk_total"));
  EXPECT_EQ(readBackOrAbsent(*reader, 0, 36), 36);
}

TEST_F(DiskTierTest, HolderRestartBringsItsDiskObjectsBack) {
  startMaster({"--enable_offload", "--client_ttl=2"});
  const std::string dir = disk_dir_.path() + "/tier";
  startHolder(dir, 8 << 20);
  auto reader = pureClient();
  ASSERT_NE(reader, nullptr);
  putAndOffload(*reader, 0, 24);
  ASSERT_TRUE(reader->remove(key(3)).ok());
  ASSERT_TRUE(
      testing::waitFor([&] { return holderMetric("mooncake_disk_tier_objects") == 23; }, 10s));

  killHolder();
  // Reads fail at once (the holder does not answer), and once it is declared dead its disk
  // replicas are gone with it (absent, not hanging).
  EXPECT_FALSE(reader->get(key(0)).ok());
  ASSERT_TRUE(testing::waitFor([&] { return !exists(*reader, key(1)); }, 20s));

  startHolder(dir, 8 << 20);
  EXPECT_GE(masterMetric("mooncake_master_disk_replicas_registered_total"), 23);
  EXPECT_EQ(holderMetric("mooncake_disk_tier_recovered_objects"), 23) << holderLog();
  for (int i = 0; i < 24; ++i) {
    auto got = reader->get(key(i));
    if (i == 3) {
      EXPECT_FALSE(got.ok()) << "a removed key came back";
      continue;
    }
    ASSERT_TRUE(got.ok()) << key(i) << ": " << got.status().toString();
    EXPECT_EQ(*got, value(kValue, i));
  }
}

TEST_F(DiskTierTest, RestartedMasterLearnsTheDiskObjectsAgain) {
  startMaster({"--enable_offload"});
  startHolder(disk_dir_.path() + "/tier", 8 << 20);
  auto reader = pureClient();
  ASSERT_NE(reader, nullptr);
  putAndOffload(*reader, 0, 24);
  restartMaster();
  ASSERT_TRUE(testing::waitFor(
      [&] {
        for (int i = 0; i < 24; ++i) {
          if (!exists(*reader, key(i))) return false;
        }
        return true;
      },
      30s))
      << holderLog();
  EXPECT_EQ(readBackOrAbsent(*reader, 0, 24), 24);
}

TEST_F(DiskTierTest, DamagedFilesReadAsAbsentNeverAsWrongBytes) {
  startMaster({"--enable_offload", "--client_ttl=2"});
  const std::string dir = disk_dir_.path() + "/tier";
  startHolder(dir, 8 << 20);
  auto reader = pureClient();
  ASSERT_NE(reader, nullptr);
  putAndOffload(*reader, 0, 24);
  killHolder();
  // Damage every bucket file: one byte in every 700 KiB.
  auto files = bucketFiles(dir);
  ASSERT_FALSE(files.empty());
  for (const std::string& file : files) {
    int fd = ::open(file.c_str(), O_RDWR);
    ASSERT_GE(fd, 0) << file;
    off_t size = ::lseek(fd, 0, SEEK_END);
    for (off_t at = 300 << 10; at < size; at += 700 << 10) {
      char byte = 0;
      ASSERT_EQ(::pread(fd, &byte, 1, at), 1);
      byte = static_cast<char>(byte ^ 0x41);
      ASSERT_EQ(::pwrite(fd, &byte, 1, at), 1);
    }
    ::close(fd);
  }
  // Once the master declared the holder dead, only the disk copies can come back.
  ASSERT_TRUE(testing::waitFor([&] { return !exists(*reader, key(0)); }, 20s));
  startHolder(dir, 8 << 20);
  int exact = readBackOrAbsent(*reader, 0, 24);
  EXPECT_LT(exact, 24) << "no object was damaged: the test damaged nothing it reads";
  EXPECT_GT(exact, 0);
  EXPECT_GT(holderMetric("mooncake_disk_tier_checksum_failures_total"), 0);
  // What failed its checksum is gone for good: a second read does not find it either.
  EXPECT_EQ(readBackOrAbsent(*reader, 0, 24), exact);
}

TEST_F(DiskTierTest, KillInTheMiddleOfOffloadingLeavesWholeObjectsOrNone) {
  startMaster({"--enable_offload", "--client_ttl=2"});
  const std::string dir = disk_dir_.path() + "/tier";
  startHolder(dir, 16 << 20);
  auto reader = pureClient();
  ASSERT_NE(reader, nullptr);
  std::atomic<bool> stop{false};
  std::atomic<int> written{0};
  std::thread writer([&] {
    for (int i = 0; i < 200 && !stop; ++i) {
      if (reader->put(key(i), value(kValue, i).data(), kValue).ok()) written = i + 1;
    }
  });
  ASSERT_TRUE(testing::waitFor(
      [&] { return masterMetric("mooncake_master_offloaded_objects_total") >= 8; }, 20s));
  killHolder();  // offloads of the latest puts are in flight
  stop = true;
  writer.join();
  ASSERT_TRUE(testing::waitFor([&] { return !exists(*reader, key(0)); }, 20s));
  startHolder(dir, 16 << 20);
  int exact = readBackOrAbsent(*reader, 0, written.load());
  EXPECT_GE(exact, 8) << "what the master recorded before the kill was durable";
}

TEST_F(DiskTierTest, FullFileSystemPausesOffloadingAndLosesNothingElse) {
  const std::string dir = disk_dir_.path() + "/small";
  ASSERT_EQ(::mkdir(dir.c_str(), 0755), 0);
  if (::mount("tmpfs", dir.c_str(), "tmpfs", 0, "size=6m") != 0) {
    GTEST_SKIP() << "cannot mount a small tmpfs here (" << std::strerror(errno)
                 << "); CI runs as root and does";
  }
  mounted_ = dir;
  startMaster({"--enable_offload", "--enable_disk_eviction=false"});
  // The tier is told it may use 64 MiB: the file system runs out first.
  startHolder(dir + "/tier", 8 << 20,
              {"MOONCAKE_OFFLOAD_TOTAL_SIZE_LIMIT_BYTES=67108864",
               "MOONCAKE_OFFLOAD_BUCKET_SIZE_LIMIT=1048576"});
  auto reader = pureClient();
  ASSERT_NE(reader, nullptr);
  for (int i = 0; i < 40; ++i) {
    ASSERT_TRUE(reader->put(key(i), value(kValue, i).data(), kValue).ok()) << key(i);
    std::this_thread::sleep_for(20ms);
  }
  ASSERT_TRUE(testing::waitFor(
      [&] { return masterMetric("mooncake_master_offload_failures_total") > 0; }, 20s))
      << holderLog();
  EXPECT_NE(holderLog().find("offload paused"), std::string::npos) << holderLog();
  EXPECT_EQ(holderMetric("mooncake_disk_tier_accepting") >= 0, true);  // still serving
  int exact = readBackOrAbsent(*reader, 0, 40);
  EXPECT_GT(exact, 8);  // what the disk and the memory hold
  EXPECT_GT(masterMetric("mooncake_master_evicted_without_offload_total"), 0);
  // The holder is alive and keeps serving.
  EXPECT_EQ(holder_->wait(0ms), -1);
}

TEST_F(DiskTierTest, HotDiskObjectsArePromotedBackToMemory) {
  startMaster({"--enable_offload", "--promotion_on_hit", "--promotion_admission_threshold=2"});
  startHolder(disk_dir_.path() + "/tier", 8 << 20);
  auto reader = pureClient();
  ASSERT_NE(reader, nullptr);
  putAndOffload(*reader, 0, 24);
  // Make room in memory: the latest objects go.
  for (int i = 16; i < 24; ++i) ASSERT_TRUE(reader->remove(key(i)).ok());
  auto before = reader->getReplicaLocations(key(0));
  ASSERT_TRUE(before.ok());
  ASSERT_EQ(before->size(), 1u);
  EXPECT_FALSE(before->front().disk_endpoint.empty()) << "expected key 0 to be on disk only";
  for (int hit = 0; hit < 3; ++hit) {
    auto got = reader->get(key(0));
    ASSERT_TRUE(got.ok()) << got.status().toString();
    EXPECT_EQ(*got, value(kValue, 0));
  }
  ASSERT_TRUE(
      testing::waitFor([&] { return masterMetric("mooncake_master_promotions_total") >= 1; }, 20s))
      << holderLog();
  auto after = reader->getReplicaLocations(key(0));
  ASSERT_TRUE(after.ok());
  ASSERT_FALSE(after->empty());
  EXPECT_TRUE(after->front().disk_endpoint.empty()) << "key 0 is not in memory after its promotion";
  auto got = reader->get(key(0));
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(*got, value(kValue, 0));
}

}  // namespace
}  // namespace mooncake::store
