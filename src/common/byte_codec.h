// Compact binary encoding for the project's own wire and storage formats: little-endian varints,
// fixed 64-bit values and length-prefixed strings (the master's metadata log, the node daemon's
// local protocol).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace mooncake {

// Appends little-endian varints and length-prefixed strings.
class ByteWriter {
 public:
  explicit ByteWriter(std::string& out) : out_(out) {}
  void u64(uint64_t value);
  void i64(int64_t value) { u64(static_cast<uint64_t>(value)); }
  void fixed64(uint64_t value);  // 8 bytes: for values that are large anyway (versions)
  void flag(bool value) { out_.push_back(value ? 1 : 0); }
  void bytes(std::string_view value);

 private:
  std::string& out_;
};

// Reads what ByteWriter wrote; every read fails (returns false) past the end.
class ByteReader {
 public:
  explicit ByteReader(std::string_view in) : in_(in) {}
  bool u64(uint64_t& value);
  bool i64(int64_t& value);
  bool fixed64(uint64_t& value);
  bool flag(bool& value);
  bool bytes(std::string& value);
  bool done() const { return in_.empty(); }
  size_t remaining() const { return in_.size(); }

 private:
  std::string_view in_;
};

}  // namespace mooncake
