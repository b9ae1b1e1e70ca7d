// The disk tier's on-disk formats (docs/STORE.md "Disk tier").
//
// Bucket file `bucket-<id>.mcb`: records back to back, each starting on a 4 KiB boundary (so
// O_DIRECT can read one record alone): a 48-byte header (with a CRC-32C of itself and the key,
// and the value's crc32cStriped), the key, the value, zero padding to the next 4 KiB. A tombstone
// is a header and a key without a value: the key's older versions are gone. Everything
// little-endian.
//
// Index file `bucket-<id>.idx`, written when a bucket is full and its data is on disk: every
// record of the bucket without the value bytes, then a CRC-32C of all of it, so start-up reads
// the index instead of the bucket. A bucket without a valid index (the one being written at a
// crash) is scanned, and every record in it is verified against its checksums.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace mooncake::store::tier {

constexpr uint64_t kBlock = 4096;
constexpr uint32_t kRecordMagic = 0x5244434d;  // "MCDR"
constexpr size_t kRecordHeaderBytes = 48;
constexpr uint32_t kMaxKeyBytes = 64 * 1024;

enum class RecordKind : uint16_t { kValue = 1, kTombstone = 2 };

inline uint64_t alignUp(uint64_t n) { return (n + kBlock - 1) / kBlock * kBlock; }

// What a record header says (and what an index keeps of a record).
struct RecordInfo {
  RecordKind kind = RecordKind::kValue;
  std::string key;
  uint64_t version = 0;  // the master's object version the value was written under
  uint64_t seq = 0;      // order of writes in this store, across buckets
  uint64_t offset = 0;   // of the record in its bucket file
  uint64_t value_size = 0;
  uint32_t value_crc = 0;

  // Header + key + value, padded to the block size.
  uint64_t span() const { return alignUp(kRecordHeaderBytes + key.size() + value_size); }
  uint64_t valueOffset() const { return kRecordHeaderBytes + key.size(); }
};

// Writes the header and the key at `out` (which holds span() bytes); the caller copies the value
// to out + valueOffset() and zeroes the padding.
void encodeHeader(const RecordInfo& record, char* out);

// Parses a header and its key at `data` (`available` bytes from the record's start). nullopt
// when it is not a valid header (bad magic, bad header checksum, absurd lengths): the end of the
// written part of a bucket, or damage.
std::optional<RecordInfo> decodeHeader(const char* data, size_t available, uint64_t offset);

// The index file of a sealed bucket.
std::string encodeIndex(const std::vector<RecordInfo>& records);
// nullopt when the file is torn or damaged (the bucket is scanned instead).
std::optional<std::vector<RecordInfo>> decodeIndex(std::string_view bytes);

}  // namespace mooncake::store::tier
