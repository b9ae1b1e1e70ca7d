#include "transfer_engine/handshake/frame_codec.h"

#include <algorithm>
#include <cstring>

#include "common/net/socket.h"

namespace mooncake::te {

std::string encodeFrame(FrameType type, std::string_view json) {
  uint64_t length = json.size() + 1;
  std::string out(kFrameHeaderBytes + length, '\0');
  std::memcpy(out.data(), &length, sizeof(length));
  out[kFrameHeaderBytes] = static_cast<char>(type);
  std::memcpy(out.data() + kFrameHeaderBytes + 1, json.data(), json.size());
  return out;
}

Result<uint64_t> decodeFrameLength(const char header[kFrameHeaderBytes], uint64_t max_length) {
  uint64_t length = 0;
  std::memcpy(&length, header, sizeof(length));
  if (length == 0 || length > max_length) {
    return Status::error(ErrorCode::ERR_INVALID_ARGUMENT,
                         "handshake frame length " + std::to_string(length) + " outside [1, " +
                             std::to_string(max_length) + "] (MC_HANDSHAKE_MAX_LENGTH)");
  }
  return length;
}

Result<Frame> decodeFrameBody(std::string_view body) {
  if (body.empty()) return Status::error(ErrorCode::ERR_MALFORMED_JSON, "empty handshake frame");
  auto first = static_cast<uint8_t>(body[0]);
  Frame frame;
  if (first > static_cast<uint8_t>(FrameType::kProbe)) {
    frame.type = FrameType::kConnection;  // legacy frame: JSON without a type byte
    frame.json = std::string(body);
  } else {
    frame.type = static_cast<FrameType>(first);
    frame.json = std::string(body.substr(1));
  }
  return frame;
}

Result<Frame> readFrame(int fd, uint64_t max_length) {
  char header[kFrameHeaderBytes];
  MC_RETURN_IF_ERROR(net::recvAll(fd, header, sizeof(header)));
  MC_ASSIGN_OR_RETURN(uint64_t length, decodeFrameLength(header, max_length));
  // Grown with the bytes that arrive (doubling), not to what the peer's header announced.
  std::string body;
  size_t have = 0;
  while (have < length) {
    body.resize(std::min<uint64_t>(length, std::max<size_t>(2 * body.size(), 64 * 1024)));
    MC_RETURN_IF_ERROR(net::recvAll(fd, body.data() + have, body.size() - have));
    have = body.size();
  }
  return decodeFrameBody(body);
}

Status writeFrame(int fd, FrameType type, std::string_view json) {
  std::string frame = encodeFrame(type, json);
  return net::sendAll(fd, frame.data(), frame.size());
}

}  // namespace mooncake::te
