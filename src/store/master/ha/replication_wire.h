// The HA leader's record stream to its standbys (docs/STORE.md "HA").
//
// A standby connects to the address in master_replication, proves the cluster secret when
// there is one (auth/stream_auth.h, label kReplicationAuthLabel), and sends its hello: the magic
// and its own RPC address. The leader then sends messages, each a 16-byte header {kind u32,
// 0 u32, length u64} and `length` bytes:
//   kTerm      u64 term: whose stream this is
//   kDump      metadata log frames: the whole state, in pieces (a fresh standby starts empty)
//   kDumpEnd   u64 position where the live stream begins, u64 the stream's head when the dump
//              ended (past it, each record is newer than everything before for its entity)
//   kLive      metadata log frames, whole; the next `length` bytes of the stream
//   kKeepalive nothing (every 500 ms while idle)
// The standby answers every kDumpEnd, kLive and kKeepalive with a u64: the stream position up
// to which it has applied everything. The leader's replies to clients wait for these.
#pragma once

#include <chrono>
#include <cstdint>
#include <string_view>

namespace mooncake::store::replication {

constexpr std::string_view kAuthLabel = "master-replication";
constexpr std::string_view kHelloMagic = "MCREPL01";
constexpr uint32_t kMaxHelloId = 1024;

enum Kind : uint32_t { kTerm = 1, kDump = 2, kDumpEnd = 3, kLive = 4, kKeepalive = 5 };

struct Header {
  uint32_t kind = 0;
  uint32_t reserved = 0;
  uint64_t length = 0;
};
static_assert(sizeof(Header) == 16);

// Larger messages are refused (a dump is sent in pieces of about a shard).
constexpr uint64_t kMaxMessage = 1ull << 30;
constexpr std::chrono::milliseconds kKeepaliveInterval{500};
// A leader or standby silent for this long is taken as gone.
constexpr std::chrono::milliseconds kSilenceLimit{3000};

}  // namespace mooncake::store::replication
