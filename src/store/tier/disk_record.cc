#include "store/tier/disk_record.h"

#include <cstring>

#include "common/byte_codec.h"
#include "common/crc32c.h"

namespace mooncake::store::tier {
namespace {

// Header layout (offsets in bytes): magic 0, kind 4, reserved 6, key_size 8, value_crc 12,
// value_size 16, version 24, seq 32, header_crc 40 (over bytes 0..40 and the key), reserved 44.
constexpr size_t kHeaderCrcAt = 40;
constexpr uint32_t kIndexMagic = 0x5844494d;  // "MIDX"

template <typename T>
void put(char* out, size_t at, T value) {
  std::memcpy(out + at, &value, sizeof(T));
}
template <typename T>
T get(const char* in, size_t at) {
  T value;
  std::memcpy(&value, in + at, sizeof(T));
  return value;
}

uint32_t headerCrc(const char* header, std::string_view key) {
  return crc32c(crc32c(0, header, kHeaderCrcAt), key.data(), key.size());
}

}  // namespace

void encodeHeader(const RecordInfo& record, char* out) {
  std::memset(out, 0, kRecordHeaderBytes);
  put<uint32_t>(out, 0, kRecordMagic);
  put<uint16_t>(out, 4, static_cast<uint16_t>(record.kind));
  put<uint32_t>(out, 8, static_cast<uint32_t>(record.key.size()));
  put<uint32_t>(out, 12, record.value_crc);
  put<uint64_t>(out, 16, record.value_size);
  put<uint64_t>(out, 24, record.version);
  put<uint64_t>(out, 32, record.seq);
  std::memcpy(out + kRecordHeaderBytes, record.key.data(), record.key.size());
  put<uint32_t>(out, kHeaderCrcAt, headerCrc(out, record.key));
}

std::optional<RecordInfo> decodeHeader(const char* data, size_t available, uint64_t offset) {
  if (available < kRecordHeaderBytes || get<uint32_t>(data, 0) != kRecordMagic) return std::nullopt;
  uint16_t kind = get<uint16_t>(data, 4);
  uint32_t key_size = get<uint32_t>(data, 8);
  if (key_size == 0 || key_size > kMaxKeyBytes || kRecordHeaderBytes + key_size > available) {
    return std::nullopt;
  }
  if (kind != static_cast<uint16_t>(RecordKind::kValue) &&
      kind != static_cast<uint16_t>(RecordKind::kTombstone)) {
    return std::nullopt;
  }
  std::string_view key(data + kRecordHeaderBytes, key_size);
  if (headerCrc(data, key) != get<uint32_t>(data, kHeaderCrcAt)) return std::nullopt;
  RecordInfo record;
  record.kind = static_cast<RecordKind>(kind);
  record.key.assign(key);
  record.value_crc = get<uint32_t>(data, 12);
  record.value_size = get<uint64_t>(data, 16);
  record.version = get<uint64_t>(data, 24);
  record.seq = get<uint64_t>(data, 32);
  record.offset = offset;
  if (record.kind == RecordKind::kTombstone && record.value_size != 0) return std::nullopt;
  if (record.value_size > (uint64_t{1} << 40)) return std::nullopt;
  return record;
}

std::string encodeIndex(const std::vector<RecordInfo>& records) {
  std::string out;
  ByteWriter writer(out);
  writer.u64(kIndexMagic);
  writer.u64(records.size());
  for (const RecordInfo& r : records) {
    writer.u64(static_cast<uint64_t>(r.kind));
    writer.bytes(r.key);
    writer.fixed64(r.version);
    writer.u64(r.seq);
    writer.u64(r.offset);
    writer.u64(r.value_size);
    writer.u64(r.value_crc);
  }
  uint32_t crc = crc32c(out);
  out.append(reinterpret_cast<const char*>(&crc), sizeof(crc));
  return out;
}

std::optional<std::vector<RecordInfo>> decodeIndex(std::string_view bytes) {
  if (bytes.size() < sizeof(uint32_t)) return std::nullopt;
  std::string_view body = bytes.substr(0, bytes.size() - sizeof(uint32_t));
  if (crc32c(body) != get<uint32_t>(bytes.data(), body.size())) return std::nullopt;
  ByteReader reader(body);
  uint64_t magic = 0, count = 0;
  if (!reader.u64(magic) || magic != kIndexMagic || !reader.u64(count)) return std::nullopt;
  std::vector<RecordInfo> records;
  for (uint64_t i = 0; i < count; ++i) {
    RecordInfo r;
    uint64_t kind = 0, crc = 0;
    if (!reader.u64(kind) || !reader.bytes(r.key) || !reader.fixed64(r.version) ||
        !reader.u64(r.seq) || !reader.u64(r.offset) || !reader.u64(r.value_size) ||
        !reader.u64(crc)) {
      return std::nullopt;
    }
    r.kind = static_cast<RecordKind>(kind);
    r.value_crc = static_cast<uint32_t>(crc);
    records.push_back(std::move(r));
  }
  if (!reader.done()) return std::nullopt;
  return records;
}

}  // namespace mooncake::store::tier
