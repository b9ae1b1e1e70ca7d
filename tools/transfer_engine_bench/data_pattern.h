// Deterministic data patterns for --verify: every 8-byte word is a hash of its offset in the
// target buffer and a seed, so any misplaced, missing or torn block is detected.
#pragma once

#include <cstddef>
#include <cstdint>

namespace mooncake::bench {

// Seeds: what the target writes at start, and what write-mode initiators write.
constexpr uint64_t kTargetSeed = 0;
constexpr uint64_t kInitiatorSeed = 1;

// Fills `length` bytes (multiple of 8) at `data` as pattern(offset .. offset+length, seed).
void fillPattern(void* data, size_t length, uint64_t offset, uint64_t seed);
// True when the bytes equal the pattern for `seed`.
bool matchesPattern(const void* data, size_t length, uint64_t offset, uint64_t seed);

}  // namespace mooncake::bench
