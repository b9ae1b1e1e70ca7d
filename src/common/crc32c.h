// CRC-32C (Castagnoli), the checksum of the master's metadata log records: SSE4.2's crc32
// instruction where the CPU has it, a table otherwise (same result).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace mooncake {

// Extends `crc` (0 to start) over `size` bytes at `data`.
uint32_t crc32c(uint32_t crc, const void* data, size_t size);

inline uint32_t crc32c(std::string_view bytes) { return crc32c(0, bytes.data(), bytes.size()); }

// A checksum of large buffers at about three times crc32c's speed: the buffer is cut into three
// stripes (the first two a multiple of 8 bytes long) whose CRC-32Cs are computed together (three
// independent instruction chains), and the result is the CRC-32C of those three values (12
// bytes, little-endian). Buffers under 3 KiB: plain crc32c. A different value than crc32c of
// the same bytes; the disk tier's records use it for their values.
uint32_t crc32cStriped(const void* data, size_t size);

}  // namespace mooncake
