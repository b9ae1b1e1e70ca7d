// Store clients (in this process) against a real mooncake_master process whose embedded HTTP
// metadata server the clients' Transfer Engines use.
#include "mooncake/store/client.h"

#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <cstring>
#include <random>
#include <thread>

#include "support/process.h"
#include "support/servers.h"

namespace mooncake::store {
namespace {

class StoreClientTest : public ::testing::Test {
 protected:
  void SetUp() override {
    // A port picked free may be taken by a parallel test before the master binds it: pick
    // again when the master exits at start.
    for (int attempt = 0; attempt < 3; ++attempt) {
      rpc_port_ = testing::freeLoopbackPort();
      http_port_ = testing::freeLoopbackPort();
      if (startMaster()) return;
    }
    FAIL() << "mooncake_master did not start (see its output above)";
  }

  // True once the master answers; false when it exited first.
  bool startMaster() {
    master_ = std::make_unique<testing::ChildProcess>(
        testing::builtBinary("tools/mooncake_master"),
        std::vector<std::string>{
            "--rpc_address=127.0.0.1", "--port=" + std::to_string(rpc_port_), "--metadata_dir=none",
            "--enable_http_metadata_server", "--http_metadata_server_host=127.0.0.1",
            "--http_metadata_server_port=" + std::to_string(http_port_), "--metrics_port=0"});
    bool exited = false;
    testing::waitFor(
        [this, &exited] {
          exited = master_->wait(std::chrono::milliseconds(0)) != -1;
          return exited || testing::portAccepts(rpc_port_);
        },
        std::chrono::seconds(20));
    return !exited && testing::portAccepts(rpc_port_);
  }

  std::unique_ptr<Client> client(const std::string& name, uint64_t segment = 64 << 20) {
    ClientOptions options;
    (void)name;
    options.local_hostname = "127.0.0.1";  // each client picks its own port
    options.metadata_server = "http://127.0.0.1:" + std::to_string(http_port_) + "/metadata";
    options.master_server_address = "127.0.0.1:" + std::to_string(rpc_port_);
    options.global_segment_size = segment;
    options.local_buffer_size = 32 << 20;
    options.ping_interval = std::chrono::milliseconds(100);
    auto created = Client::create(options);
    EXPECT_TRUE(created.ok()) << created.status().toString();
    return created.ok() ? std::move(created).value() : nullptr;
  }

  static std::string randomValue(size_t size, uint64_t seed) {
    std::mt19937_64 random(seed);
    std::string value(size, '\0');
    for (char& c : value) c = static_cast<char>(random());
    return value;
  }

  uint16_t rpc_port_ = 0;
  uint16_t http_port_ = 0;
  std::unique_ptr<testing::ChildProcess> master_;
};

TEST_F(StoreClientTest, PutOnOneClientGetOnAnotherForManySizes) {
  auto a = client("a");
  auto b = client("b");
  ASSERT_TRUE(a && b);
  for (size_t size : {size_t{1}, size_t{4096}, size_t{65537}, (size_t{1} << 20) + 3}) {
    std::string key = "obj-" + std::to_string(size);
    std::string value = randomValue(size, size);
    ASSERT_TRUE(a->put(key, value.data(), value.size()).ok()) << size;
    auto got = b->get(key);
    ASSERT_TRUE(got.ok()) << got.status().toString();
    EXPECT_EQ(*got, value) << size;
    EXPECT_EQ(*b->getSize(key), size);
    EXPECT_TRUE(*b->isExist(key));
  }
  EXPECT_TRUE(b->get("absent").status().is(StoreErrorCode::OBJECT_NOT_FOUND));
  EXPECT_FALSE(*b->isExist("absent"));
}

TEST_F(StoreClientTest, TwoReplicasSurviveTheLossOfOneHolder) {
  auto a = client("a");
  auto b = client("b");
  auto reader = client("reader", 0);  // a pure client: contributes no memory
  ASSERT_TRUE(a && b && reader);
  ReplicateConfig two;
  two.replica_num = 2;
  std::string value = randomValue(300000, 7);
  ASSERT_TRUE(reader->put("shared", value.data(), value.size(), two).ok());
  a.reset();  // unmounts a's segment: its replica is dropped
  auto got = reader->get("shared");
  ASSERT_TRUE(got.ok()) << got.status().toString();
  EXPECT_EQ(*got, value);
}

TEST_F(StoreClientTest, ZeroCopyApiAndBufferChecks) {
  auto a = client("a");
  ASSERT_TRUE(a);
  std::vector<char> source(1 << 20, 'x');
  std::vector<char> sink(1 << 20, 0);
  ASSERT_TRUE(a->registerBuffer(source.data(), source.size()).ok());
  ASSERT_TRUE(a->registerBuffer(sink.data(), sink.size()).ok());
  for (size_t i = 0; i < source.size(); ++i) source[i] = static_cast<char>(i * 31);
  ASSERT_TRUE(a->putFrom("zc", source.data(), source.size()).ok());
  auto size = a->getInto("zc", sink.data(), sink.size());
  ASSERT_TRUE(size.ok()) << size.status().toString();
  EXPECT_EQ(*size, source.size());
  EXPECT_EQ(sink, source);
  EXPECT_TRUE(a->getInto("zc", sink.data(), 100).status().is(StoreErrorCode::BUFFER_OVERFLOW));
  // Larger than the 32 MiB local buffer: written from the caller's memory, no staging needed.
  std::string huge(40 << 20, 'h');
  huge[12345] = 'x';
  ASSERT_TRUE(a->put("huge", huge.data(), huge.size()).ok());
  auto back = a->get("huge");
  ASSERT_TRUE(back.ok()) << back.status().toString();
  EXPECT_TRUE(*back == huge);
  // Read into a room the caller makes once the size is known (Python's bytes objects).
  std::string room;
  auto read = a->getIntoRoom("huge", [&](size_t index, uint64_t object_size) -> Result<void*> {
    EXPECT_EQ(index, 0u);
    room.resize(object_size);
    return room.data();
  });
  ASSERT_TRUE(read.ok()) << read.status().toString();
  EXPECT_EQ(*read, huge.size());
  EXPECT_TRUE(room == huge);
  auto refused = a->getIntoRoom("zc", [](size_t, uint64_t) -> Result<void*> {
    return Status::storeError(StoreErrorCode::BUFFER_OVERFLOW, "no room here");
  });
  EXPECT_TRUE(refused.status().is(StoreErrorCode::BUFFER_OVERFLOW));
  // The same memory twice in one batch is written twice (registered once).
  std::vector<std::string_view> twice(2, std::string_view(source.data(), 100000));
  auto statuses = a->batchPut({"twice/0", "twice/1"}, twice);
  ASSERT_EQ(statuses.size(), 2u);
  EXPECT_TRUE(statuses[0].ok() && statuses[1].ok());
  std::vector<std::string> rooms(3);
  auto sizes = a->batchGetIntoRooms({"twice/0", "twice/1", "absent"},
                                    [&](size_t index, uint64_t object_size) -> Result<void*> {
                                      rooms[index].resize(object_size);
                                      return rooms[index].data();
                                    });
  ASSERT_EQ(sizes.size(), 3u);
  for (size_t i = 0; i < 2; ++i) {
    ASSERT_TRUE(sizes[i].ok()) << sizes[i].status().toString();
    EXPECT_EQ(rooms[i], std::string(source.data(), 100000));
  }
  EXPECT_TRUE(sizes[2].status().is(StoreErrorCode::OBJECT_NOT_FOUND));
  EXPECT_TRUE(a->unregisterBuffer(source.data()).ok());
}

TEST_F(StoreClientTest, BatchCallsAnswerPerKeyInOneRoundTrip) {
  auto a = client("a");
  auto b = client("b");
  ASSERT_TRUE(a && b);
  constexpr size_t kKeys = 20;
  constexpr size_t kSize = 65536 + 7;
  std::vector<char> source(kKeys * kSize);
  std::vector<char> sink(kKeys * kSize + kSize, 0);
  for (size_t i = 0; i < source.size(); ++i) source[i] = static_cast<char>(i * 131 + i / kSize);
  ASSERT_TRUE(a->registerBuffer(source.data(), source.size()).ok());
  ASSERT_TRUE(b->registerBuffer(sink.data(), sink.size()).ok());
  std::vector<std::string> keys;
  std::vector<const void*> from;
  std::vector<size_t> sizes(kKeys, kSize);
  for (size_t i = 0; i < kKeys; ++i) {
    keys.push_back("batch/" + std::to_string(i));
    from.push_back(source.data() + i * kSize);
  }
  ReplicateConfig two;
  two.replica_num = 2;
  for (const Status& status : a->batchPutFrom(keys, from, sizes, two)) {
    EXPECT_TRUE(status.ok()) << status.toString();
  }
  // Read them back on the other client, plus an absent key and a too-small buffer.
  std::vector<std::string> read_keys = keys;
  read_keys.push_back("batch/absent");
  std::vector<void*> into;
  std::vector<size_t> capacities(kKeys + 1, kSize);
  for (size_t i = 0; i <= kKeys; ++i) into.push_back(sink.data() + i * kSize);
  capacities[3] = 100;
  auto results = b->batchGetInto(read_keys, into, capacities);
  ASSERT_EQ(results.size(), kKeys + 1);
  for (size_t i = 0; i < kKeys; ++i) {
    if (i == 3) {
      EXPECT_TRUE(results[i].status().is(StoreErrorCode::BUFFER_OVERFLOW));
      continue;
    }
    ASSERT_TRUE(results[i].ok()) << i << ": " << results[i].status().toString();
    EXPECT_EQ(*results[i], kSize);
    EXPECT_EQ(std::memcmp(sink.data() + i * kSize, source.data() + i * kSize, kSize), 0) << i;
  }
  EXPECT_TRUE(results[kKeys].status().is(StoreErrorCode::OBJECT_NOT_FOUND));
  auto exists = b->batchIsExist({"batch/0", "batch/absent"});
  ASSERT_EQ(exists.size(), 2u);
  EXPECT_TRUE(*exists[0]);
  EXPECT_FALSE(*exists[1]);
}

TEST_F(StoreClientTest, UpsertReplacesValuesOfAnySize) {
  auto a = client("a");
  auto b = client("b");
  ASSERT_TRUE(a && b);
  std::string first = randomValue(5000, 1);
  ASSERT_TRUE(a->upsert("u", first.data(), first.size()).ok());  // absent: inserted
  EXPECT_EQ(*b->get("u"), first);
  std::string same_size = randomValue(5000, 2);
  ASSERT_TRUE(b->upsert("u", same_size.data(), same_size.size()).ok());
  EXPECT_EQ(*a->get("u"), same_size);
  std::string bigger = randomValue(70000, 3);
  ASSERT_TRUE(a->upsert("u", bigger.data(), bigger.size()).ok());
  EXPECT_EQ(*b->get("u"), bigger);
  // A plain put of an existing key leaves it alone (and succeeds), as upstream.
  ASSERT_TRUE(a->put("u", "zz", 2).ok());
  EXPECT_EQ(*b->get("u"), bigger);
  // Zero-copy and batched upserts.
  std::vector<char> memory(3 * 4096);
  for (size_t i = 0; i < memory.size(); ++i) memory[i] = static_cast<char>(i * 7);
  ASSERT_TRUE(a->registerBuffer(memory.data(), memory.size()).ok());
  ASSERT_TRUE(a->upsertFrom("u", memory.data(), 4096).ok());
  EXPECT_EQ(*b->get("u"), std::string(memory.data(), 4096));
  auto results =
      a->batchUpsertFrom({"u", "v"}, {memory.data() + 4096, memory.data() + 8192}, {4096, 4096});
  ASSERT_EQ(results.size(), 2u);
  EXPECT_TRUE(results[0].ok() && results[1].ok());
  EXPECT_EQ(*b->get("u"), std::string(memory.data() + 4096, 4096));
  EXPECT_EQ(*b->get("v"), std::string(memory.data() + 8192, 4096));
}

// A get of a key read before reads the remembered replica while it asks the master, and keeps
// those bytes only when the master still vouches for them (same version, same replica).
TEST_F(StoreClientTest, RememberedReplicasAreUsedOnlyWhileTheMasterVouchesForThem) {
  auto writer = client("writer");
  auto reader = client("reader");
  ASSERT_TRUE(writer && reader);
  std::string v1 = randomValue(8192, 1);
  ASSERT_TRUE(writer->put("r", v1.data(), v1.size()).ok());
  EXPECT_EQ(*reader->get("r"), v1);  // remembers where "r" lives
  EXPECT_EQ(*reader->get("r"), v1);
  EXPECT_EQ(reader->readStats().overlapped, 1u);
  EXPECT_EQ(reader->readStats().stale, 0u);
  // Removed and written again, very likely into the same freed space: the old version's bytes
  // must not be trusted even though the address may be the same.
  ASSERT_TRUE(writer->remove("r", /*force=*/true).ok());
  std::string v2 = randomValue(8192, 2);
  ASSERT_TRUE(writer->put("r", v2.data(), v2.size()).ok());
  EXPECT_EQ(*reader->get("r"), v2);
  EXPECT_EQ(reader->readStats().stale, 1u);
  // Upserted by another client (a new version, in place or elsewhere).
  std::string v3 = randomValue(8192, 3);
  ASSERT_TRUE(writer->upsert("r", v3.data(), v3.size()).ok());
  std::vector<char> into(8192);
  ASSERT_TRUE(reader->registerBuffer(into.data(), into.size()).ok());
  ASSERT_EQ(*reader->getInto("r", into.data(), into.size()), 8192u);
  EXPECT_EQ(std::string(into.data(), into.size()), v3);
  EXPECT_EQ(reader->readStats().stale, 2u);
  EXPECT_EQ(*reader->get("r"), v3);
  EXPECT_EQ(reader->readStats().overlapped, 2u);
  auto buffer = reader->getBuffer("r");  // the Python get's path
  ASSERT_TRUE(buffer.ok()) << buffer.status().toString();
  EXPECT_EQ(std::string((*buffer)->data(), (*buffer)->size()), v3);
  EXPECT_EQ(reader->readStats().overlapped, 3u);
  // Grown beyond the remembered size: read again into room of the new size.
  std::string bigger = randomValue(20000, 4);
  ASSERT_TRUE(writer->upsert("r", bigger.data(), bigger.size()).ok());
  buffer = reader->getBuffer("r");
  ASSERT_TRUE(buffer.ok()) << buffer.status().toString();
  EXPECT_EQ(std::string((*buffer)->data(), (*buffer)->size()), bigger);
  // Gone: the error the master gives, not the remembered bytes.
  ASSERT_TRUE(writer->remove("r", /*force=*/true).ok());
  EXPECT_TRUE(reader->get("r").status().is(StoreErrorCode::OBJECT_NOT_FOUND));
  // A buffer too small for the remembered size is not read into.
  ASSERT_TRUE(writer->put("small", v1.data(), 100).ok());
  EXPECT_EQ(*reader->get("small"), v1.substr(0, 100));
  EXPECT_TRUE(
      reader->getInto("small", into.data(), 10).status().is(StoreErrorCode::BUFFER_OVERFLOW));
}

// Batched gets overlap the lookup too: remembered keys are read while the master is asked about
// the whole batch, and each keeps its bytes only while the master vouches for them; the others
// (never read, replaced, grown, removed) are read the usual way in the same call.
TEST_F(StoreClientTest, BatchedGetsUseRememberedReplicasOnlyWhileTheMasterVouches) {
  auto writer = client("writer");
  auto reader = client("reader");
  ASSERT_TRUE(writer && reader);
  std::vector<std::string> keys, values;
  for (int i = 0; i < 6; ++i) {
    keys.push_back("b" + std::to_string(i));
    values.push_back(randomValue(4096 + 512 * i, 10 + i));
    ASSERT_TRUE(writer->put(keys[i], values[i].data(), values[i].size()).ok());
  }
  auto first = reader->batchGet(keys);  // nothing remembered yet: lookup, then one batch
  for (int i = 0; i < 6; ++i) EXPECT_EQ(*first[i], values[i]);
  EXPECT_EQ(reader->readStats().overlapped, 0u);
  auto again = reader->batchGet(keys);
  for (int i = 0; i < 6; ++i) EXPECT_EQ(*again[i], values[i]);
  EXPECT_EQ(reader->readStats().overlapped, 6u);
  // b0 replaced (new version), b1 grown, b2 removed, b5 never changed; "new" never read.
  ASSERT_TRUE(writer->remove("b0", true).ok());
  values[0] = randomValue(4096, 30);
  ASSERT_TRUE(writer->put("b0", values[0].data(), values[0].size()).ok());
  values[1] = randomValue(30000, 31);
  ASSERT_TRUE(writer->upsert("b1", values[1].data(), values[1].size()).ok());
  ASSERT_TRUE(writer->remove("b2", true).ok());
  ASSERT_TRUE(writer->put("new", "fresh", 5).ok());
  auto mixed = reader->batchGetBuffer({"b0", "b1", "b2", "b5", "new"});
  ASSERT_EQ(mixed.size(), 5u);
  ASSERT_TRUE(mixed[0].ok() && mixed[1].ok() && mixed[3].ok() && mixed[4].ok());
  EXPECT_EQ(std::string((*mixed[0])->data(), (*mixed[0])->size()), values[0]);
  EXPECT_EQ(std::string((*mixed[1])->data(), (*mixed[1])->size()), values[1]);
  EXPECT_TRUE(mixed[2].status().is(StoreErrorCode::OBJECT_NOT_FOUND));
  EXPECT_EQ(std::string((*mixed[3])->data(), (*mixed[3])->size()), values[5]);
  EXPECT_EQ(std::string((*mixed[4])->data(), (*mixed[4])->size()), "fresh");
  EXPECT_EQ(reader->readStats().overlapped, 7u);  // b5
  EXPECT_EQ(reader->readStats().stale, 3u);       // b0, b1, b2
  // Zero-copy batches into registered memory: remembered, replaced, and too small a buffer.
  std::vector<char> memory(3 * 32768);
  ASSERT_TRUE(reader->registerBuffer(memory.data(), memory.size()).ok());
  auto into = reader->batchGetInto({"b3", "b0", "b4"},
                                   {memory.data(), memory.data() + 32768, memory.data() + 65536},
                                   {32768, 32768, 100});
  ASSERT_EQ(into.size(), 3u);
  ASSERT_TRUE(into[0].ok() && into[1].ok());
  EXPECT_EQ(std::string(memory.data(), *into[0]), values[3]);
  EXPECT_EQ(std::string(memory.data() + 32768, *into[1]), values[0]);
  EXPECT_TRUE(into[2].status().is(StoreErrorCode::BUFFER_OVERFLOW));
  EXPECT_EQ(reader->readStats().overlapped, 9u);  // b3, b0 (remembered since the mixed batch)
}

TEST_F(StoreClientTest, RememberingReplicasCanBeTurnedOff) {
  auto writer = client("writer");
  ::setenv("MC_STORE_REMEMBERED_LOCATIONS", "0", 1);
  auto reader = client("reader");
  ::setenv("MC_STORE_REMEMBERED_LOCATIONS", "lots", 1);
  auto refused = Client::create(ClientOptions{});
  ::unsetenv("MC_STORE_REMEMBERED_LOCATIONS");
  ASSERT_TRUE(writer && reader);
  EXPECT_FALSE(refused.ok());
  EXPECT_NE(refused.status().message().find("MC_STORE_REMEMBERED_LOCATIONS"), std::string::npos);
  ASSERT_TRUE(writer->put("k", "value", 5).ok());
  for (int i = 0; i < 3; ++i) EXPECT_EQ(*reader->get("k"), "value");
  EXPECT_EQ(reader->readStats().overlapped, 0u);
}

// Single small puts commit onto space reserved ahead (write + one round trip); every value
// stays readable, an existing key is left as it was, and the option turns it off.
TEST_F(StoreClientTest, SmallPutsUseReservedSpaceAndKeepEveryValue) {
  auto writer = client("writer");
  auto reader = client("reader");
  ::setenv("MC_STORE_RESERVED_PUTS", "0", 1);
  auto plain = client("plain");
  ::setenv("MC_STORE_RESERVED_PUTS", "maybe", 1);
  auto refused = Client::create(ClientOptions{});
  ::unsetenv("MC_STORE_RESERVED_PUTS");
  ASSERT_TRUE(writer && reader && plain);
  EXPECT_FALSE(refused.ok());
  EXPECT_NE(refused.status().message().find("MC_STORE_RESERVED_PUTS"), std::string::npos);
  constexpr int kKeys = 200;
  for (int i = 0; i < kKeys; ++i) {
    std::string value = randomValue(i % 3 == 0 ? 4096 : 100 + i, i);
    ASSERT_TRUE(writer->put("r" + std::to_string(i), value.data(), value.size()).ok()) << i;
  }
  ClientWriteStats stats = writer->writeStats();
  EXPECT_EQ(stats.fallback, 0u);
  // The first put of each shape reserves first; the rest use the space the commits brought.
  EXPECT_GE(stats.reserved, static_cast<uint64_t>(kKeys));
  for (int i = 0; i < kKeys; ++i) {
    auto got = reader->get("r" + std::to_string(i));
    ASSERT_TRUE(got.ok()) << i << ": " << got.status().toString();
    EXPECT_EQ(*got, randomValue(i % 3 == 0 ? 4096 : 100 + i, i)) << i;
  }
  std::string other = randomValue(4096, 999);
  ASSERT_TRUE(writer->put("r0", other.data(), other.size()).ok());  // exists: a no-op success
  EXPECT_EQ(*reader->get("r0"), randomValue(4096, 0));
  ASSERT_TRUE(writer->put("after-existing", other.data(), other.size()).ok());
  EXPECT_EQ(*reader->get("after-existing"), other);
  ASSERT_TRUE(plain->put("p", other.data(), other.size()).ok());
  EXPECT_EQ(plain->writeStats().reserved, 0u);
  EXPECT_EQ(*reader->get("p"), other);
}

// Batches of small values take the reserved path too: one BatchCommitReserved commits the whole
// batch and brings the next batch's space. Every value stays readable; existing keys, duplicate
// keys, big values and the switch behave as for single puts.
TEST_F(StoreClientTest, BatchesOfSmallPutsUseReservedSpaceAndKeepEveryValue) {
  auto writer = client("writer");
  auto reader = client("reader");
  ::setenv("MC_STORE_RESERVED_PUTS", "0", 1);
  auto plain = client("plain");
  ::unsetenv("MC_STORE_RESERVED_PUTS");
  ASSERT_TRUE(writer && reader && plain);
  auto value = [](int batch, int i) { return randomValue(i % 2 ? 4096 : 700, batch * 100 + i); };
  for (int batch = 0; batch < 5; ++batch) {
    std::vector<std::string> keys, values;
    for (int i = 0; i < 16; ++i) {
      keys.push_back("rb" + std::to_string(batch) + "/" + std::to_string(i));
      values.push_back(value(batch, i));
    }
    std::vector<std::string_view> views(values.begin(), values.end());
    for (const Status& status : writer->batchPut(keys, views)) ASSERT_TRUE(status.ok());
  }
  ClientWriteStats stats = writer->writeStats();
  EXPECT_EQ(stats.fallback, 0u);
  EXPECT_EQ(stats.reserved, 80u);  // the first batch's space came in one call without commits
  for (int batch = 0; batch < 5; ++batch) {
    for (int i = 0; i < 16; ++i) {
      auto got = reader->get("rb" + std::to_string(batch) + "/" + std::to_string(i));
      ASSERT_TRUE(got.ok()) << batch << "/" << i << ": " << got.status().toString();
      EXPECT_EQ(*got, value(batch, i));
    }
  }
  // An existing key is left as it was; a key twice in one batch is stored once; both succeed.
  std::string other = randomValue(4096, 9999);
  auto mixed = writer->batchPut({"rb0/1", "rb-new", "rb-new"}, {other, other, "second"});
  for (const Status& status : mixed) EXPECT_TRUE(status.ok()) << status.toString();
  EXPECT_EQ(*reader->get("rb0/1"), value(0, 1));
  EXPECT_EQ(*reader->get("rb-new"), other);
  // A value above the reserved limit (1 MiB) sends the whole batch the two-phase way;
  // zero-copy batches use the reserved path too.
  std::string big = randomValue((1 << 20) + 1, 7);
  auto with_big = writer->batchPut({"rb-big", "rb-small"}, {big, other});
  for (const Status& status : with_big) EXPECT_TRUE(status.ok()) << status.toString();
  EXPECT_EQ(*reader->get("rb-big"), big);
  std::vector<char> memory(4 * 4096);
  for (size_t i = 0; i < memory.size(); ++i) memory[i] = static_cast<char>(i * 13);
  ASSERT_TRUE(writer->registerBuffer(memory.data(), memory.size()).ok());
  const uint64_t before = writer->writeStats().reserved;
  auto from = writer->batchPutFrom(
      {"rz0", "rz1", "rz2", "rz3"},
      {memory.data(), memory.data() + 4096, memory.data() + 8192, memory.data() + 12288},
      {4096, 4096, 4096, 4096});
  for (const Status& status : from) EXPECT_TRUE(status.ok()) << status.toString();
  EXPECT_EQ(writer->writeStats().reserved, before + 4);
  EXPECT_EQ(*reader->get("rz2"), std::string(memory.data() + 8192, 4096));
  auto off = plain->batchPut({"rp0", "rp1"}, {other, other});
  for (const Status& status : off) EXPECT_TRUE(status.ok());
  EXPECT_EQ(plain->writeStats().reserved, 0u);
  EXPECT_EQ(*reader->get("rp1"), other);
}

TEST_F(StoreClientTest, ReadersOfAKeyBeingUpsertedSeeOneWholeValue) {
  auto writer = client("writer");
  auto reader = client("reader");
  ASSERT_TRUE(writer && reader);
  constexpr size_t kSize = 256 * 1024;
  std::string initial(kSize, 'a');
  ASSERT_TRUE(writer->put("hot", initial.data(), initial.size()).ok());
  std::atomic<bool> done{false};
  std::atomic<int> torn{0};
  std::atomic<int> good_reads{0};
  std::thread reading([&] {
    while (!done) {
      auto got = reader->get("hot");
      if (!got.ok()) continue;  // REPLICA_IS_NOT_READY while an update is being written
      if (got->size() != kSize || got->find_first_not_of(got->front()) != std::string::npos) {
        ++torn;
      }
      ++good_reads;
    }
  });
  for (int i = 0; i < 40; ++i) {
    std::string value(kSize, static_cast<char>('a' + i % 26));
    ASSERT_TRUE(writer->upsert("hot", value.data(), value.size()).ok()) << i;
  }
  // A slow reader (sanitizers, a loaded machine) may not have finished one read while the
  // updates ran: it reads the last value before the test looks.
  for (auto until = std::chrono::steady_clock::now() + std::chrono::seconds(30);
       good_reads.load() == 0 && std::chrono::steady_clock::now() < until;) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  done = true;
  reading.join();
  EXPECT_EQ(torn.load(), 0);
  EXPECT_GT(good_reads.load(), 0);
}

TEST_F(StoreClientTest, CopyingBatchesPartsRangesAndBatchRemove) {
  auto a = client("a");
  auto b = client("b");
  ASSERT_TRUE(a && b);
  std::vector<std::string> keys = {"cb/0", "cb/1", "cb/2"};
  std::vector<std::string> values = {randomValue(10, 1), randomValue(100000, 2),
                                     randomValue(4096, 3)};
  auto put = a->batchPut(keys, {values[0], values[1], values[2]});
  ASSERT_EQ(put.size(), 3u);
  for (const Status& status : put) EXPECT_TRUE(status.ok()) << status.toString();
  auto got = b->batchGet({"cb/0", "cb/absent", "cb/1", "cb/2"});
  ASSERT_EQ(got.size(), 4u);
  EXPECT_EQ(*got[0], values[0]);
  EXPECT_TRUE(got[1].status().is(StoreErrorCode::OBJECT_NOT_FOUND));
  EXPECT_EQ(*got[2], values[1]);
  EXPECT_EQ(*got[3], values[2]);
  // An object written from parts reads back as their concatenation.
  ASSERT_TRUE(a->putParts("parts", {"head-", "", "body-", "tail"}).ok());
  EXPECT_EQ(*b->get("parts"), "head-body-tail");
  // Byte ranges straight into registered memory.
  std::vector<char> sink(64, '.');
  ASSERT_TRUE(b->registerBuffer(sink.data(), sink.size()).ok());
  auto ranges = b->getIntoRanges(
      "parts", {{0, 4, sink.data()}, {10, 4, sink.data() + 10}, {5, 0, sink.data() + 20}});
  ASSERT_TRUE(ranges.ok()) << ranges.status().toString();
  EXPECT_EQ(*ranges, 8u);
  EXPECT_EQ(std::string(sink.data(), 14), "head......tail");
  EXPECT_TRUE(b->getIntoRanges("parts", {{10, 5, sink.data()}})
                  .status()
                  .is(StoreErrorCode::INVALID_PARAMS));
  // Batch removal answers per key.
  auto removed = a->batchRemove({"cb/0", "cb/absent", "cb/2"}, /*force=*/true);
  ASSERT_EQ(removed.size(), 3u);
  EXPECT_TRUE(removed[0].ok());
  EXPECT_TRUE(removed[1].is(StoreErrorCode::OBJECT_NOT_FOUND));
  EXPECT_TRUE(removed[2].ok());
  EXPECT_FALSE(*b->isExist("cb/0"));
  EXPECT_TRUE(*b->isExist("cb/1"));
  // An empty value is refused with INVALID_PARAMS, not stored and not a crash.
  EXPECT_TRUE(a->put("empty", "", 0).is(StoreErrorCode::INVALID_PARAMS));
}

TEST_F(StoreClientTest, RemoveAndRegexRemoval) {
  auto a = client("a");
  ASSERT_TRUE(a);
  for (const char* key : {"x/1", "x/2", "y/1"}) ASSERT_TRUE(a->put(key, "v", 1).ok());
  EXPECT_EQ(*a->removeByRegex("^x/"), 2u);
  EXPECT_TRUE(a->remove("y/1").ok());
  EXPECT_TRUE(a->remove("y/1").is(StoreErrorCode::OBJECT_NOT_FOUND));
}

TEST_F(StoreClientTest, ClientRemountsByItselfAfterMasterRestart) {
  auto a = client("a");
  ASSERT_TRUE(a);
  ASSERT_TRUE(a->put("before", "1", 1).ok());
  master_->signal(SIGKILL);
  master_->wait(std::chrono::seconds(10));
  ASSERT_TRUE(startMaster());  // a new master knows no segments and no objects
  // The heartbeat gets NEED_REMOUNT and remounts; then puts succeed again.
  ASSERT_TRUE(
      testing::waitFor([&] { return a->put("after", "2", 1).ok(); }, std::chrono::seconds(20)));
  auto got = a->get("after");
  ASSERT_TRUE(got.ok()) << got.status().toString();
  EXPECT_EQ(*got, "2");
  EXPECT_TRUE(a->get("before").status().is(StoreErrorCode::OBJECT_NOT_FOUND));
  // A client that starts after the restart must find a's segment in the (new) metadata server:
  // a re-published its Transfer Engine records when it remounted.
  auto late = client("late", 0);
  ASSERT_TRUE(late);
  auto remote = late->get("after");
  ASSERT_TRUE(remote.ok()) << remote.status().toString();
  EXPECT_EQ(*remote, "2");
}

TEST_F(StoreClientTest, ConcurrentWritersAndReadersNeverSeeTornData) {
  auto a = client("a");
  auto b = client("b");
  ASSERT_TRUE(a && b);
  std::atomic<int> bad{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      Client& c = t % 2 ? *a : *b;
      for (int i = 0; i < 30; ++i) {
        std::string key = "k" + std::to_string(i % 10);  // overlapping keys
        std::string value(8192, static_cast<char>('a' + i % 10));
        (void)c.put(key, value.data(), value.size());
        auto got = c.get(key);
        if (got.ok() && *got != value) ++bad;  // one key always holds one value
      }
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(bad.load(), 0);
}

}  // namespace
}  // namespace mooncake::store
