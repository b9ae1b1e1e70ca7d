// Durable metadata: record encoding, the metadata log (append, torn tails, snapshots, the
// directory lock), rebuilding allocators, and a MasterService restored from its own log.
#include "store/master/durable/metadata_log.h"

#include <dirent.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>

#include "store/master/master_service.h"

namespace mooncake::store {
namespace {

class TempDirectory {
 public:
  TempDirectory() {
    std::string pattern = (std::filesystem::temp_directory_path() / "mc-mlog-XXXXXX").string();
    path_ = ::mkdtemp(pattern.data()) != nullptr ? pattern : "";
  }
  ~TempDirectory() { std::filesystem::remove_all(path_); }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

std::vector<std::string> chunkFiles(const std::string& dir) {
  std::vector<std::string> out;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    if (entry.path().extension() == ".mcl") out.push_back(entry.path().string());
  }
  std::sort(out.begin(), out.end());
  return out;
}

struct Opened {
  std::unique_ptr<durable::MetadataLog> log;
  durable::RecoveredState state;
  durable::RecoveryStats stats;
};

// Opens the log in `dir` as a master would (nothing checked).
Result<std::unique_ptr<durable::MetadataLog>> tryOpen(const std::string& dir) {
  durable::RecoveredState state;
  durable::RecoveryStats stats;
  durable::MetadataLogOptions options;
  options.dir = dir;
  return durable::MetadataLog::open(options, state, stats);
}

Opened openLog(const std::string& dir) {
  Opened opened;
  durable::MetadataLogOptions options;
  options.dir = dir;
  options.chunk_bytes = 64 << 10;  // small: rotations happen in the tests
  auto log = durable::MetadataLog::open(options, opened.state, opened.stats);
  EXPECT_TRUE(log.ok()) << log.status().toString();
  if (log.ok()) opened.log = std::move(*log);
  return opened;
}

std::string objectRecord(const std::string& key, uint64_t version, bool complete = true) {
  durable::DurableObject object;
  object.size = 100;
  object.version = version;
  object.complete = complete;
  object.owner = "writer";
  object.replicas = {{1, 4096, 128}};
  std::string payload;
  durable::encodeObject(payload, key, object);
  return payload;
}

TEST(DurableRecordsTest, EveryRecordDecodesToWhatWasEncoded) {
  durable::DurableObject object;
  object.size = 12345;
  object.version = 1ull << 62;
  object.complete = true;
  object.owner = "client-1";
  object.soft_pin = true;
  object.soft_pin_ttl_ms = 5000;
  object.soft_pin_until_wall_ms = 1700000000000;
  object.replicas = {{1, 1 << 20, 12352}, {7, 99 << 20, 12352}};
  std::string payload;
  durable::encodeObject(payload, "key/with/slashes", object);
  std::string key;
  durable::DurableObject back;
  ASSERT_TRUE(durable::decodeObject(payload, key, back));
  EXPECT_EQ(key, "key/with/slashes");
  EXPECT_EQ(back.version, object.version);
  EXPECT_EQ(back.owner, "client-1");
  EXPECT_EQ(back.soft_pin_until_wall_ms, object.soft_pin_until_wall_ms);
  ASSERT_EQ(back.replicas.size(), 2u);
  EXPECT_EQ(back.replicas[1].segment, 7u);
  EXPECT_EQ(back.replicas[1].address, 99u << 20);
  // Truncated or extended payloads are refused, not misread.
  EXPECT_FALSE(durable::decodeObject(payload.substr(0, payload.size() - 1), key, back));
  EXPECT_FALSE(durable::decodeObject(payload + "x", key, back));

  durable::DurableReservation reservation;
  reservation.client_id = "c";
  reservation.size = 4096;
  reservation.config.replica_num = 2;
  reservation.config.soft_pin_ttl_ms = 77;
  reservation.config.preferred_segments = {"a", "b"};
  reservation.replicas = {{3, 8192, 4096}};
  payload.clear();
  durable::encodeReservation(payload, 42, reservation);
  uint64_t id = 0;
  durable::DurableReservation r;
  ASSERT_TRUE(durable::decodeReservation(payload, id, r));
  EXPECT_EQ(id, 42u);
  EXPECT_EQ(r.config.replica_num, 2u);
  EXPECT_EQ(r.config.soft_pin_ttl_ms, std::optional<uint64_t>(77));
  EXPECT_EQ(r.config.preferred_segments, (std::vector<std::string>{"a", "b"}));

  payload.clear();
  durable::encodeSegment(payload, 9, {"owner", {"name", 1 << 30, 64 << 20, "127.0.0.1:12345"}});
  SegmentId segment = 0;
  durable::DurableSegment s;
  ASSERT_TRUE(durable::decodeSegment(payload, segment, s));
  EXPECT_EQ(segment, 9u);
  EXPECT_EQ(s.info.te_endpoint, "127.0.0.1:12345");
  EXPECT_EQ(s.info.base, 1u << 30);
}

// A put's end is a small completion record; it may be replayed before the object's own record
// (another stream), and must not complete a newer object of the key or a removed one.
TEST(DurableRecordsTest, CompletionsFoldIntoTheirObjectInAnyOrder) {
  auto incomplete = [](const std::string& key, uint64_t version) {
    return objectRecord(key, version, false);
  };
  auto completion = [](const std::string& key, uint64_t version) {
    std::string payload;
    durable::encodeCompletion(payload, key, version);
    return payload;
  };
  std::string key;
  uint64_t version = 0;
  ASSERT_TRUE(durable::decodeCompletion(completion("k", 7), key, version));
  EXPECT_EQ(key, "k");
  EXPECT_EQ(version, 7u);
  EXPECT_FALSE(durable::decodeCompletion(completion("k", 7) + "x", key, version));

  durable::RecoveredState state;
  using durable::RecordType;
  // Completion first, then the object it completes.
  state.apply(RecordType::kObjectComplete, 11, completion("a", 1));
  state.apply(RecordType::kObject, 10, incomplete("a", 1));
  // Object, completion: the usual order.
  state.apply(RecordType::kObject, 20, incomplete("b", 2));
  state.apply(RecordType::kObjectComplete, 21, completion("b", 2));
  // A completion of an older version, before a newer put of the key: stays incomplete.
  state.apply(RecordType::kObjectComplete, 31, completion("c", 3));
  state.apply(RecordType::kObject, 32, incomplete("c", 4));
  // A completed put, then removed: gone.
  state.apply(RecordType::kObject, 40, incomplete("d", 5));
  state.apply(RecordType::kObjectComplete, 41, completion("d", 5));
  std::string gone;
  durable::encodeKey(gone, "d");
  state.apply(RecordType::kObjectGone, 42, gone);
  // A record between the put's start and its end (a replica dropped), replayed after the end.
  state.apply(RecordType::kObject, 60, incomplete("f", 8));
  state.apply(RecordType::kObjectComplete, 62, completion("f", 8));
  state.apply(RecordType::kObject, 61, incomplete("f", 8));
  // A completion whose object never shows up leaves nothing.
  state.apply(RecordType::kObjectComplete, 70, completion("g", 9));
  // A snapshot stamps an object with the number its next record gets.
  state.apply(RecordType::kObject, 50, incomplete("e", 6));
  state.apply(RecordType::kObjectComplete, 50, completion("e", 6));
  state.compact();
  EXPECT_TRUE(state.objects.at("a").value.complete);
  EXPECT_TRUE(state.objects.at("b").value.complete);
  EXPECT_FALSE(state.objects.at("c").value.complete);
  EXPECT_EQ(state.objects.count("d"), 0u);
  EXPECT_TRUE(state.objects.at("e").value.complete);
  EXPECT_TRUE(state.objects.at("f").value.complete);
  EXPECT_EQ(state.objects.at("f").lsn, 61u);
  EXPECT_EQ(state.objects.count("g"), 0u);
  EXPECT_EQ(state.objects.size(), 5u);
  EXPECT_EQ(state.malformed, 0u);
}

TEST(DurableRecordsTest, TheHighestSequenceNumberWinsInAnyOrder) {
  durable::RecoveredState state;
  std::string gone;
  durable::encodeKey(gone, "k");
  state.apply(durable::RecordType::kObject, 5, objectRecord("k", 50));
  state.apply(durable::RecordType::kObjectGone, 9, gone);
  state.apply(durable::RecordType::kObject, 7, objectRecord("k", 70));  // older than the removal
  state.apply(durable::RecordType::kObject, 3, objectRecord("j", 30));
  state.apply(durable::RecordType::kObject, 4, "garbage");
  state.compact();
  EXPECT_EQ(state.objects.count("k"), 0u);
  ASSERT_EQ(state.objects.count("j"), 1u);
  EXPECT_EQ(state.objects["j"].value.version, 30u);
  EXPECT_EQ(state.malformed, 1u);
  EXPECT_EQ(state.max_lsn, 9u);
}

TEST(SegmentAllocatorAdoptTest, AdoptedRangesAreUsedAndTheRestStaysAllocatable) {
  SegmentAllocator allocator(0x10000, 1 << 20);
  ASSERT_TRUE(allocator.adopt(0x10000 + 4096, 8192));
  EXPECT_FALSE(allocator.adopt(0x10000 + 8192, 64));           // overlaps the previous one
  EXPECT_FALSE(allocator.adopt(0x10000 + 3 * 65536 + 1, 64));  // unaligned
  auto last = allocator.adopt(0x10000 + (1 << 20) - 4096, 4096);
  ASSERT_TRUE(last);
  EXPECT_FALSE(allocator.adopt(0x10000 + (1 << 20), 64));  // outside
  EXPECT_EQ(allocator.usedBytes(), 8192u + 4096u);
  // New allocations never overlap adopted ranges.
  std::vector<SegmentAllocator::Allocation> fresh;
  while (auto a = allocator.allocate(4096)) fresh.push_back(*a);
  for (const auto& a : fresh) {
    bool overlaps_first = a.address < 0x10000 + 4096 + 8192 && a.address + a.size > 0x10000 + 4096;
    bool overlaps_last = a.address + a.size > last->address;
    EXPECT_FALSE(overlaps_first || overlaps_last) << a.address;
  }
  EXPECT_EQ(allocator.usedBytes(), allocator.capacity());
  // Freeing everything (adopted ranges included) merges back into one block.
  for (const auto& a : fresh) allocator.free(a);
  allocator.free(*last);
  EXPECT_EQ(allocator.usedBytes(), 8192u);
  EXPECT_FALSE(allocator.adopt(0x10000, 64));  // adoption ends with the first allocate/free
}

TEST(MetadataLogTest, AppendedRecordsSurviveAndACutShortTailIsSkipped) {
  TempDirectory dir;
  {
    Opened opened = openLog(dir.path());
    for (int i = 0; i < 10000; ++i) {  // several 64 KiB chunks
      opened.log->append(durable::RecordType::kObject, opened.log->lsnOf(i),
                         objectRecord("key-" + std::to_string(i), i + 1));
    }
  }
  std::vector<std::string> chunks = chunkFiles(dir.path());
  ASSERT_GT(chunks.size(), 8u);
  {
    Opened opened = openLog(dir.path());
    EXPECT_EQ(opened.state.objects.size(), 10000u);
    EXPECT_EQ(opened.stats.log_records, 10000u);
    EXPECT_EQ(opened.stats.torn_tails, 0u);
    EXPECT_EQ(opened.log->lsnOf(0) >> 40, 2u);  // a new run, above every recovered record
    // Flip a byte inside the last record of one chunk: that record is dropped, no other.
    opened.log.reset();
  }
  // The last chunk with records (streams also keep an empty spare chunk ready).
  std::string victim;
  std::string data;
  size_t end = std::string::npos;
  for (auto it = chunks.rbegin(); it != chunks.rend() && end == std::string::npos; ++it) {
    std::ifstream in(*it, std::ios::binary);
    data.assign(std::istreambuf_iterator<char>(in), {});
    end = data.find_last_not_of('\0');
    victim = *it;
  }
  ASSERT_NE(end, std::string::npos);
  data[end] = static_cast<char>(data[end] ^ 0x5a);
  {
    std::ofstream out(victim, std::ios::binary | std::ios::trunc);
    out << data;
  }
  Opened again = openLog(dir.path());
  EXPECT_EQ(again.stats.torn_tails, 1u);
  EXPECT_EQ(again.state.objects.size(), 9999u);
}

TEST(MetadataLogTest, ASnapshotReplacesTheChunksItCovers) {
  TempDirectory dir;
  {
    Opened opened = openLog(dir.path());
    for (int i = 0; i < 500; ++i) {
      opened.log->append(durable::RecordType::kObject, opened.log->lsnOf(i),
                         objectRecord("old-" + std::to_string(i), i + 1));
    }
    ASSERT_FALSE(chunkFiles(dir.path()).empty());
    // The dump stands for the service's state: what the 500 records made, plus one more key.
    Status status = opened.log->snapshot([&](const auto& write) {
      durable::SnapshotSink sink;
      for (int i = 0; i < 500; ++i) {
        sink.add(durable::RecordType::kObject, opened.log->lsnOf(500),
                 objectRecord("old-" + std::to_string(i), i + 1));
      }
      return write(sink);
    });
    ASSERT_TRUE(status.ok()) << status.toString();
    // What is left are the streams' spare chunks (made ahead, still empty): one per stream.
    EXPECT_LE(chunkFiles(dir.path()).size(), 8u);
    std::string gone;
    durable::encodeKey(gone, "old-7");
    opened.log->append(durable::RecordType::kObjectGone, opened.log->lsnOf(500), gone);
    opened.log->append(durable::RecordType::kObject, opened.log->lsnOf(501),
                       objectRecord("new", 999));
    EXPECT_EQ(opened.log->snapshots(), 1u);
  }
  Opened again = openLog(dir.path());
  EXPECT_EQ(again.stats.snapshot_records, 500u);
  EXPECT_EQ(again.stats.log_records, 2u);
  EXPECT_EQ(again.state.objects.size(), 500u);  // 500 - old-7 + new
  EXPECT_EQ(again.state.objects.count("old-7"), 0u);
  EXPECT_EQ(again.state.objects.count("new"), 1u);
}

TEST(MetadataLogTest, OneMasterPerDirectory) {
  TempDirectory dir;
  Opened first = openLog(dir.path());
  auto second = tryOpen(dir.path());
  ASSERT_FALSE(second.ok());
  EXPECT_NE(second.status().message().find("in use by another mooncake_master (pid " +
                                           std::to_string(::getpid()) + ")"),
            std::string::npos)
      << second.status().message();
}

TEST(MetadataLogTest, ADamagedSnapshotStopsTheStartInsteadOfForgettingObjects) {
  TempDirectory dir;
  { std::ofstream(dir.path() + "/snapshot.mcs") << "not a snapshot at all, but 24+ bytes long"; }
  auto log = tryOpen(dir.path());
  ASSERT_FALSE(log.ok());
  EXPECT_NE(log.status().message().find("is damaged"), std::string::npos);
}

// A service with a log, then a second one restored from it, as after kill -9.
class MasterRestoreTest : public ::testing::Test {
 protected:
  static MasterOptions options() {
    MasterOptions o;
    o.shard_count = 4;
    o.default_kv_lease_ttl_ms = 0;  // no leases: removes and upserts go through at once
    return o;
  }

  TempDirectory dir_;
};

TEST_F(MasterRestoreTest, EveryObjectSegmentReservationAndQuarantineComesBack) {
  std::map<std::string, std::vector<ReplicaDescriptor>> placed;
  uint64_t reservation_id = 0;
  uint64_t used = 0;
  uint64_t max_version = 0;
  {
    Opened opened = openLog(dir_.path());
    MasterService first(options());
    first.restore(opened.state, opened.log.get());
    ASSERT_TRUE(first.mountSegment("holder-a", {"a", 1 << 30, 8 << 20, "a:1"}).ok());
    ASSERT_TRUE(first.mountSegment("holder-b", {"b", 2ull << 30, 8 << 20, "b:1"}).ok());
    ReplicateConfig two;
    two.replica_num = 2;
    for (int i = 0; i < 200; ++i) {
      std::string key = "k" + std::to_string(i);
      auto replicas = first.putStart("writer", key, 1000 + i * 10, i % 2 ? two : ReplicateConfig{});
      ASSERT_TRUE(replicas.ok()) << replicas.status().toString();
      placed[key] = *replicas;
      if (i % 50 != 49) {  // 4 stay in progress
        ASSERT_TRUE(first.putEnd("writer", key).ok());
      }
    }
    for (int i = 0; i < 200; i += 20) {
      ASSERT_TRUE(first.remove("k" + std::to_string(i), false).ok());
      placed.erase("k" + std::to_string(i));
    }
    auto reserved = first.reserve("writer", 4096, ReplicateConfig{});
    ASSERT_TRUE(reserved.ok());
    reservation_id = reserved->id;
    // An upsert to a new size quarantines the old bytes (abandoned until the lease ends).
    auto upserted = first.upsertStart("writer", "k1", 70000, ReplicateConfig{});
    ASSERT_TRUE(upserted.ok());
    ASSERT_TRUE(first.putEnd("writer", "k1").ok());
    placed["k1"] = *upserted;
    used = first.usedBytes();
    max_version = first.getReplicaList("k1")->version;
  }  // kill -9: nothing is flushed or closed in order beyond what the log already holds
  Opened opened = openLog(dir_.path());
  MasterService second(options());
  RestoreStats restored = second.restore(opened.state, opened.log.get());
  EXPECT_EQ(restored.segments, 2u);
  EXPECT_EQ(restored.objects, placed.size());
  EXPECT_EQ(restored.incomplete_objects, 4u);
  EXPECT_EQ(restored.reservations, 1u);
  EXPECT_EQ(restored.dropped_replicas, 0u);
  EXPECT_EQ(second.usedBytes(), used);
  for (const auto& [key, replicas] : placed) {
    auto list = second.getReplicaList(key);
    const bool in_progress = key == "k49" || key == "k99" || key == "k149" || key == "k199";
    if (in_progress) {
      EXPECT_TRUE(list.status().is(StoreErrorCode::REPLICA_IS_NOT_READY)) << key;
      EXPECT_TRUE(second.putEnd("writer", key).ok()) << key;  // its writer finishes it
      list = second.getReplicaList(key);
    }
    ASSERT_TRUE(list.ok()) << key << ": " << list.status().toString();
    ASSERT_EQ(list->replicas.size(), replicas.size()) << key;
    for (size_t i = 0; i < replicas.size(); ++i) {
      EXPECT_EQ(list->replicas[i].address, replicas[i].address) << key;
      EXPECT_EQ(list->replicas[i].te_endpoint, replicas[i].te_endpoint) << key;
    }
  }
  // The reservation is still the writer's; versions continue above every restored one.
  EXPECT_TRUE(second.commitReserved("writer", "from-reservation", reservation_id).ok());
  auto fresh = second.putStart("writer", "fresh", 5000, ReplicateConfig{});
  ASSERT_TRUE(fresh.ok());
  ASSERT_TRUE(second.putEnd("writer", "fresh").ok());
  EXPECT_GT(second.getReplicaList("fresh")->version, max_version);
  // Restored owners must remount (to publish their Transfer Engine records again), once.
  EXPECT_EQ(second.ping("holder-a"), ClientStatus::kNeedRemount);
  ASSERT_TRUE(second.remountSegments("holder-a", {{"a", 1 << 30, 8 << 20, "a:1"}}).ok());
  EXPECT_EQ(second.ping("holder-a"), ClientStatus::kOk);
  EXPECT_EQ(second.objectCount(), placed.size() + 2);
}

TEST_F(MasterRestoreTest, AClientRestartedOnTheSameMemoryDoesNotInheritItsObjects) {
  MasterService service(options());
  ASSERT_TRUE(service.mountSegment("old-process", {"a", 1 << 30, 1 << 20, "a:1"}).ok());
  ASSERT_TRUE(service.putStart("w", "k", 100, ReplicateConfig{}).ok());
  ASSERT_TRUE(service.putEnd("w", "k").ok());
  // Same endpoint and base, another client id: the old bytes are gone.
  ASSERT_TRUE(service.mountSegment("new-process", {"a", 1 << 30, 1 << 20, "a:1"}).ok());
  EXPECT_TRUE(service.getReplicaList("k").status().is(StoreErrorCode::OBJECT_NOT_FOUND));
  EXPECT_EQ(service.usedBytes(), 0u);
}

}  // namespace
}  // namespace mooncake::store
