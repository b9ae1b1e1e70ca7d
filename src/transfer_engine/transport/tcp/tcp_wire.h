// TCP data-port wire format (upstream's tcp_proto_version 2; docs/METADATA.md):
//   request  = uint64 size | uint64 addr | uint8 opcode (READ=0, WRITE=1, | 0x80 for v2) | 7 pad
//              (24 bytes, little-endian), followed by `size` payload bytes for WRITE;
//   response = uint64 status word (0x4D435456 "MCTV" in the high 32 bits, 0 = OK, 1 = address
//              rejected in the low 32), followed by `size` payload bytes for an accepted READ.
// A WRITE's status is sent after its last byte reached memory. Requests on one connection are
// answered in order, so the initiator pipelines them and matches replies first-in first-out.
#pragma once

#include <cstdint>
#include <cstring>
#include <string_view>

namespace mooncake::te::tcp {

// What the data port's authentication proves (common/auth/stream_auth.h).
constexpr std::string_view kAuthLabel = "te-data";

constexpr uint8_t kOpRead = 0;
constexpr uint8_t kOpWrite = 1;
constexpr uint8_t kOpV2Flag = 0x80;
constexpr uint64_t kStatusMagic = uint64_t{0x4D435456} << 32;
constexpr uint64_t kStatusOk = kStatusMagic | 0;
constexpr uint64_t kStatusRejected = kStatusMagic | 1;

struct RequestHeader {
  uint64_t size;
  uint64_t addr;
  uint8_t opcode;
  uint8_t pad[7];
};
static_assert(sizeof(RequestHeader) == 24, "wire header is 24 bytes");

inline RequestHeader makeHeader(uint8_t opcode, uint64_t addr, uint64_t size) {
  RequestHeader header;
  std::memset(&header, 0, sizeof(header));
  header.size = size;
  header.addr = addr;
  header.opcode = static_cast<uint8_t>(opcode | kOpV2Flag);
  return header;
}

}  // namespace mooncake::te::tcp
