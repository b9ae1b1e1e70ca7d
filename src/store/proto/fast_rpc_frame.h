// The master's fast RPC protocol: the protobuf messages of master.proto in a plain frame over one
// TCP connection, one call at a time per connection (the client keeps a pool of connections).
// It exists beside gRPC because a gRPC unary call costs ~20 us more per round trip and several
// times the CPU on both ends (measured in docs/BENCHMARKS.md), which a store get pays on every
// lookup. Clients find the listener with the gRPC call GetFastRpcPort and fall back to gRPC when
// it is absent or unreachable.
//
// Request:  FrameHeader{payload_length, method (MC_MASTER_METHODS index + 1), call_id} + payload
// Response: FrameHeader{payload_length, FrameStatus, the request's call_id} + payload
// All fields little-endian (the header is sent as laid out; this build is little-endian only).
#pragma once

#include <bit>
#include <cstdint>

#include "store/proto/master_methods.h"

namespace mooncake::store::fast_rpc {

static_assert(std::endian::native == std::endian::little,
              "fast RPC frames are little-endian as laid out in memory");

struct FrameHeader {
  uint32_t payload_length = 0;
  uint32_t code = 0;  // request: method number; response: FrameStatus
  uint64_t call_id = 0;
};
static_assert(sizeof(FrameHeader) == 16);

enum FrameStatus : uint32_t {
  kOk = 0,
  kUnknownMethod = 1,     // the master does not have this method (older master)
  kMalformedRequest = 2,  // the payload did not parse as the method's request message
};

// Larger frames are refused (the connection is closed): no master request comes near it, so a
// bigger length means a peer that does not speak this protocol.
constexpr uint32_t kMaxPayload = 64u << 20;

// Method numbers: kPing = 1, ... in MC_MASTER_METHODS order.
enum class MethodId : uint32_t {
  kNone = 0,
#define MC_FAST_RPC_METHOD_ID(Name, Request, Response) k##Name,
  MC_MASTER_METHODS(MC_FAST_RPC_METHOD_ID)
#undef MC_FAST_RPC_METHOD_ID
};

}  // namespace mooncake::store::fast_rpc
