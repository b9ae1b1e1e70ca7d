#include "common/config/parse.h"

#include <cctype>
#include <charconv>
#include <cmath>
#include <string>

namespace mooncake::config {
namespace {

std::string_view trim(std::string_view text) {
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.front()))) {
    text.remove_prefix(1);
  }
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.back()))) {
    text.remove_suffix(1);
  }
  return text;
}

std::string lower(std::string_view text) {
  std::string out(text);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

Status badSize(std::string_view text) {
  return Status::error(ErrorCode::ERR_INVALID_ARGUMENT,
                       "invalid size '" + std::string(text) +
                           "': expected a non-negative number of bytes with an optional unit "
                           "K/M/G/T (KB, MiB, ...), such as 4096, 64KB or 16 MB");
}

}  // namespace

Result<uint64_t> parseSize(std::string_view text) {
  std::string_view body = trim(text);
  size_t digits_end = 0;
  while (digits_end < body.size() &&
         (std::isdigit(static_cast<unsigned char>(body[digits_end])) || body[digits_end] == '.')) {
    ++digits_end;
  }
  if (digits_end == 0) return badSize(text);
  std::string number(body.substr(0, digits_end));
  std::string unit = lower(trim(body.substr(digits_end)));
  if (!unit.empty() && unit.back() == 'b') unit.pop_back();
  if (!unit.empty() && unit.back() == 'i') unit.pop_back();
  int shift = 0;
  if (unit.empty()) {
    shift = 0;
  } else if (unit == "k") {
    shift = 10;
  } else if (unit == "m") {
    shift = 20;
  } else if (unit == "g") {
    shift = 30;
  } else if (unit == "t") {
    shift = 40;
  } else {
    return badSize(text);
  }
  if (number.find('.') == std::string::npos) {
    uint64_t value = 0;
    auto [ptr, ec] = std::from_chars(number.data(), number.data() + number.size(), value);
    if (ec != std::errc() || ptr != number.data() + number.size()) return badSize(text);
    if (shift > 0 && value > (UINT64_MAX >> shift)) return badSize(text);
    return value << shift;
  }
  char* end = nullptr;
  double value = std::strtod(number.c_str(), &end);
  if (end != number.c_str() + number.size() || !std::isfinite(value)) return badSize(text);
  double bytes = std::ldexp(value, shift);
  if (bytes >= 18446744073709551615.0) return badSize(text);
  return static_cast<uint64_t>(bytes);
}

Result<int64_t> parseInt(std::string_view text, int64_t min, int64_t max) {
  std::string_view body = trim(text);
  int64_t value = 0;
  auto [ptr, ec] = std::from_chars(body.data(), body.data() + body.size(), value);
  if (body.empty() || ec != std::errc() || ptr != body.data() + body.size() || value < min ||
      value > max) {
    return Status::error(ErrorCode::ERR_INVALID_ARGUMENT,
                         "invalid integer '" + std::string(text) + "': expected an integer in [" +
                             std::to_string(min) + ", " + std::to_string(max) + "]");
  }
  return value;
}

Result<bool> parseBool(std::string_view text) {
  std::string value = lower(trim(text));
  if (value == "1" || value == "true" || value == "yes" || value == "on") return true;
  if (value == "0" || value == "false" || value == "no" || value == "off") return false;
  return Status::error(ErrorCode::ERR_INVALID_ARGUMENT,
                       "invalid boolean '" + std::string(text) +
                           "': expected one of 1/0, true/false, yes/no, on/off");
}

std::string formatSize(uint64_t bytes) {
  static const char* kUnits[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  int unit = 0;
  while (unit < 4 && bytes >= 1024 && bytes % 1024 == 0) {
    bytes /= 1024;
    ++unit;
  }
  return std::to_string(bytes) + " " + kUnits[unit];
}

}  // namespace mooncake::config
