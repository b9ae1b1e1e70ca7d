// Parsers for configuration values: sizes ("16MB", "1 GiB", "4096"), bounded integers,
// booleans and durations. Each error names what was parsed and the accepted form.
#pragma once

#include <cstdint>
#include <string_view>

#include "mooncake/common/status.h"

namespace mooncake::config {

// Bytes from "4096", "64KB", "64 KiB", "16m", "1.5GB". K/M/G/T suffixes are binary (1024^n),
// with or without "i" and "B", case-insensitive, as upstream's configs use them.
// Errors: ERR_INVALID_ARGUMENT for anything else (percentages, negatives, overflow).
Result<uint64_t> parseSize(std::string_view text);

// A decimal integer within [min, max].
Result<int64_t> parseInt(std::string_view text, int64_t min, int64_t max);

// 1/0, true/false, yes/no, on/off (case-insensitive).
Result<bool> parseBool(std::string_view text);

// Renders a byte count compactly ("64 KiB", "1 GiB", "1000 B").
std::string formatSize(uint64_t bytes);

}  // namespace mooncake::config
