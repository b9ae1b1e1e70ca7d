// The node daemon's local protocol (mooncake_client <-> dummy clients on the same host), over a
// Unix stream socket in the abstract namespace, "@mooncake_client_<port>.sock" as upstream names
// it. Bytes never travel over it: a dummy's memory is one memfd it passes once per connection
// (SCM_RIGHTS) and the daemon maps, and requests name memory as (offset, length) in that file.
//
// Frame: FrameHeader{payload_length, code} then the payload (common/byte_codec.h encoding).
// Request code: an Op. Reply code: a ReplyCode; kOk replies carry the op's results.
//
//   kHello      token (empty: new session), file size, pool size, pid; the memfd attached
//               -> status, token, daemon segment name
//   kWrite      kind (0 put, 1 upsert), config, keys with their runs -> a status per key
//   kRead       keys with their runs -> per key: status, bytes read (BUFFER_OVERFLOW: the
//               object's size when known, else 0)
//   kReadRanges single flag, keys with ranges (object offset, length, file offset) -> single:
//               status, total; batch: a status per range
//   kIsExist    keys -> per key: status, flag
//   kGetSize    key -> status, size
//   kRemove     single flag, force, keys -> a status per key
//   kRemoveAll  force -> status, count;  kRemoveByRegex  pattern, force -> status, count
//   kLocations  single flag, keys -> per key: status, replicas (endpoint, address, size)
//   kReplicaClear  keys, segment name -> status, keys cleared
//   kStatus     -> master reachable, segment name, write/read stats
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/byte_codec.h"
#include "common/net/unique_fd.h"
#include "mooncake/common/status.h"
#include "mooncake/store/client.h"

namespace mooncake::store::daemon {

enum class Op : uint32_t {
  kHello = 1,
  kWrite = 2,
  kRead = 3,
  kReadRanges = 4,
  kIsExist = 5,
  kGetSize = 6,
  kRemove = 7,
  kRemoveAll = 8,
  kRemoveByRegex = 9,
  kLocations = 10,
  kReplicaClear = 11,
  kStatus = 12,
};

enum class ReplyCode : uint32_t {
  kOk = 0,
  kUnknownOp = 1,  // an older daemon
  kMalformed = 2,  // the payload did not parse, or named memory outside the file
  kNoSession = 3,  // a data request before kHello on this connection
};

struct FrameHeader {
  uint32_t payload_length = 0;
  uint32_t code = 0;
};
static_assert(sizeof(FrameHeader) == 8);

// No request or reply comes near this (bytes are never inline): a longer frame means a peer
// that does not speak the protocol, and the connection is closed.
constexpr uint32_t kMaxPayload = 64u << 20;

// The daemon serving `port` listens here (a leading '@' is the abstract namespace).
std::string socketName(uint16_t port);

// Connects to the daemon's socket. ERR_SOCKET naming the socket and the cause.
Result<net::UniqueFd> connectDaemon(const std::string& socket_name);

// Listens on the daemon's socket. ERR_SOCKET "bind address already in use: <name> ..." when
// another daemon has it.
Result<net::UniqueFd> listenDaemon(const std::string& socket_name);

// Sends one frame, with `pass_fd` attached when it is >= 0. MSG_NOSIGNAL: a closed peer is an
// ERR_SOCKET, never SIGPIPE.
Status sendFrame(int fd, uint32_t code, std::string_view payload, int pass_fd = -1);

// Receives one frame. `first_byte_timeout` bounds the wait for the frame to start (negative:
// forever), `frame_timeout` the rest of it. A descriptor that came with the frame goes to
// `received_fd` (closed when it is null). ERR_SOCKET on a closed connection ("closed by peer"),
// a timeout, or a frame above kMaxPayload.
//
// With `look_first`, the caller looks for the frame that long (yielding the core) before it
// sleeps: a wake-up costs tens of microseconds on a busy or virtual host, more than a quick
// answer takes (docs/BENCHMARKS.md "Node daemon").
Status recvFrame(int fd, FrameHeader& header, std::string& payload,
                 std::chrono::milliseconds first_byte_timeout,
                 std::chrono::milliseconds frame_timeout, net::UniqueFd* received_fd = nullptr,
                 std::chrono::microseconds look_first = std::chrono::microseconds(0));

// A stretch of the dummy's file: the daemon maps it and checks it lies inside.
struct FileRun {
  uint64_t offset = 0;
  uint64_t length = 0;
};

struct FileRange {
  uint64_t object_offset = 0;
  uint64_t length = 0;
  uint64_t file_offset = 0;
};

void writeStatus(ByteWriter& out, const Status& status);
bool readStatus(ByteReader& in, Status& status);
void writeConfig(ByteWriter& out, const ReplicateConfig& config);
bool readConfig(ByteReader& in, ReplicateConfig& config);
void writeRuns(ByteWriter& out, const std::vector<FileRun>& runs);
bool readRuns(ByteReader& in, std::vector<FileRun>& runs);
void writeRanges(ByteWriter& out, const std::vector<FileRange>& ranges);
bool readRanges(ByteReader& in, std::vector<FileRange>& ranges);
void writeStrings(ByteWriter& out, const std::vector<std::string>& values);
bool readStrings(ByteReader& in, std::vector<std::string>& values);
void writeLocations(ByteWriter& out, const std::vector<ReplicaLocation>& locations);
bool readLocations(ByteReader& in, std::vector<ReplicaLocation>& locations);

// A count read from a frame, refused when it could not fit in the rest of it (each element
// takes at least one byte): bounds allocations by the frame's size.
bool readCount(ByteReader& in, uint64_t& count);

}  // namespace mooncake::store::daemon
