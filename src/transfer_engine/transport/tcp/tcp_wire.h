// TCP data-port wire format (upstream's tcp_proto_version 2; docs/METADATA.md):
//   request  = uint64 size | uint64 addr | uint8 opcode (READ=0, WRITE=1, | 0x80 for v2) | 7 pad
//              (24 bytes, little-endian), followed by `size` payload bytes for WRITE;
//   response = uint64 status word (0x4D435456 "MCTV" in the high 32 bits, 0 = OK, 1 = address
//              rejected in the low 32), followed by `size` payload bytes for an accepted READ.
// A WRITE's status is sent after its last byte reached memory. Requests on one connection are
// answered in order, so the initiator pipelines them and matches replies first-in first-out.
//
// tcp_proto_version 3 (ours; used only toward peers that advertise it) adds payload pads: a
// request with kOpPaddedFlag carries `payload_pad` (0..kMaxPad) in bytes 18-19 of its header,
// and that many zero bytes come between the header and a WRITE's payload, or between an
// accepted READ's status word and its payload. The pad moves the payload within the kernel's
// socket pages so that neither kernel copy (sender's memory to socket pages, socket pages to the
// receiver's memory) runs with its destination 1-63 bytes past its source modulo 4 KiB: on
// x86's `rep movsb` (the kernel's copy routine) such a copy runs at under half speed (4 KiB
// aliasing between the loads and the stores). docs/BENCHMARKS.md has the measurements.
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
constexpr uint8_t kOpPaddedFlag = 0x40;  // v3: header.payload_pad applies
constexpr int kPaddedProtoVersion = 3;
constexpr uint16_t kMaxPad = 127;
// Payloads below this are not padded (the data port copies them through its buffer anyway).
constexpr uint64_t kPadMinBytes = 16 << 10;
// What a pad's bytes are sent from.
inline constexpr char kPadZeros[kMaxPad + 1] = {};
constexpr uint64_t kStatusMagic = uint64_t{0x4D435456} << 32;
constexpr uint64_t kStatusOk = kStatusMagic | 0;
constexpr uint64_t kStatusRejected = kStatusMagic | 1;

struct RequestHeader {
  uint64_t size;
  uint64_t addr;
  uint8_t opcode;
  uint8_t reserved;
  uint16_t payload_pad;  // with kOpPaddedFlag; zero otherwise
  uint8_t reserved2[4];
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

inline uint8_t baseOpcode(uint8_t opcode) {
  return opcode & static_cast<uint8_t>(~(kOpV2Flag | kOpPaddedFlag));
}

// A copy whose destination lies 1-63 bytes past its source, modulo 4 KiB, is a slow one.
inline bool slowCopyDistance(uint64_t destination_minus_source) {
  const uint64_t distance = destination_minus_source & 4095;
  return distance >= 1 && distance < 64;
}

// The pad for a payload that would start `at` bytes into the sender's socket page (the bytes of
// the same sendmsg before it, the kernel starting a send on a fresh page when the previous ones
// were consumed), copied from `source` into the socket and then out to `destination`: the
// smallest pad that leaves neither copy slow. One always exists below 128: each copy rules out
// 63 positions.
inline uint16_t choosePad(uint64_t at, uint64_t source, uint64_t destination) {
  for (uint16_t pad = 0; pad <= kMaxPad; ++pad) {
    const uint64_t position = at + pad;
    if (!slowCopyDistance(position - source) && !slowCopyDistance(destination - position)) {
      return pad;
    }
  }
  return 0;
}

}  // namespace mooncake::te::tcp
