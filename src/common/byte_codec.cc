#include "common/byte_codec.h"

#include <cstring>

namespace mooncake {

void ByteWriter::u64(uint64_t value) {
  char buffer[10];
  size_t n = 0;
  while (value >= 0x80) {
    buffer[n++] = static_cast<char>((value & 0x7F) | 0x80);
    value >>= 7;
  }
  buffer[n++] = static_cast<char>(value);
  out_.append(buffer, n);
}

void ByteWriter::fixed64(uint64_t value) {
  char buffer[8];
  std::memcpy(buffer, &value, 8);
  out_.append(buffer, 8);
}

void ByteWriter::bytes(std::string_view value) {
  u64(value.size());
  out_.append(value);
}

bool ByteReader::u64(uint64_t& value) {
  value = 0;
  for (int shift = 0; shift < 64; shift += 7) {
    if (in_.empty()) return false;
    auto byte = static_cast<unsigned char>(in_.front());
    in_.remove_prefix(1);
    value |= uint64_t{byte & 0x7Fu} << shift;
    if ((byte & 0x80) == 0) return true;
  }
  return false;
}

bool ByteReader::fixed64(uint64_t& value) {
  if (in_.size() < 8) return false;
  std::memcpy(&value, in_.data(), 8);
  in_.remove_prefix(8);
  return true;
}

bool ByteReader::i64(int64_t& value) {
  uint64_t raw = 0;
  if (!u64(raw)) return false;
  value = static_cast<int64_t>(raw);
  return true;
}

bool ByteReader::flag(bool& value) {
  if (in_.empty()) return false;
  value = in_.front() != 0;
  in_.remove_prefix(1);
  return true;
}

bool ByteReader::bytes(std::string& value) {
  uint64_t size = 0;
  if (!u64(size) || size > in_.size()) return false;
  value.assign(in_.substr(0, size));
  in_.remove_prefix(size);
  return true;
}

}  // namespace mooncake
