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

}  // namespace mooncake
