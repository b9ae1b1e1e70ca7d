// Handshake frames on the rpc port (upstream's layout, docs/METADATA.md):
//   uint64 length (host byte order, little-endian on every supported CPU) counting what follows,
//   uint8  type (Connection=0, Metadata=1, Notify=2, Probe=3),
//   JSON   text.
// A legacy frame without the type byte is recognised by a first payload byte above 3 and is
// treated as a Connection frame.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "mooncake/common/status.h"

namespace mooncake::te {

enum class FrameType : uint8_t { kConnection = 0, kMetadata = 1, kNotify = 2, kProbe = 3 };

struct Frame {
  FrameType type = FrameType::kProbe;
  std::string json;
};

constexpr size_t kFrameHeaderBytes = sizeof(uint64_t);

// What the rpc port's authentication proves (common/auth/stream_auth.h).
constexpr std::string_view kAuthLabel = "te-handshake";

std::string encodeFrame(FrameType type, std::string_view json);

// Validates the length word. Errors: ERR_INVALID_ARGUMENT for a zero length or one above
// max_length (the frame is then dropped without reading its body).
Result<uint64_t> decodeFrameLength(const char header[kFrameHeaderBytes], uint64_t max_length);

// Splits a frame body (type byte + JSON) into a Frame.
Result<Frame> decodeFrameBody(std::string_view body);

// Reads one whole frame from a blocking socket.
Result<Frame> readFrame(int fd, uint64_t max_length);
Status writeFrame(int fd, FrameType type, std::string_view json);

}  // namespace mooncake::te
