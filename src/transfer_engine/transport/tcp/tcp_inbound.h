// The request side of one data connection (TcpServer), read through a small buffer: a burst of
// small requests, headers and WRITE payloads back to back, costs one recv instead of two per
// request. Payloads of kDirectBytes or more go from the socket straight into their memory.
//
// One thread per connection uses it; not thread-safe.
#pragma once

#include <chrono>
#include <cstddef>
#include <memory>

#include "common/wait_look.h"

namespace mooncake::te {

class InboundStream {
 public:
  static constexpr size_t kCapacity = 64 << 10;
  static constexpr size_t kDirectBytes = 16 << 10;
  static constexpr size_t kMaxSkip = 128;

  explicit InboundStream(int fd);

  // Reads exactly `size` bytes into `out`, blocking. False on end of stream or a socket error.
  // A request header; after a large payload only the header and at most a pad's worth more
  // (tcp_wire.h) are taken off the socket: the next payload is likely large too, and goes
  // straight into its memory.
  bool readHeader(void* out, size_t size) {
    return read(out, size, large_ ? size + kMaxSkip : kCapacity);
  }
  // Drops `size` (at most kMaxSkip) bytes: a payload's pad.
  bool skip(size_t size) {
    char sink[kMaxSkip];
    return size <= kMaxSkip && read(sink, size, kCapacity);
  }
  // A WRITE payload.
  bool readPayload(void* out, size_t size) {
    large_ = size >= kDirectBytes;
    return read(out, size, kCapacity);
  }
  // Request bytes already here: buffered, plus queued on the socket when fewer than `enough`
  // are buffered (one ioctl).
  size_t pending(size_t enough) const;

 private:
  // `size` bytes; a refill of the buffer takes up to `refill` bytes from the socket.
  bool read(void* out, size_t size, size_t refill);

  const int fd_;
  std::unique_ptr<char[]> buffer_;
  size_t begin_ = 0;  // buffered bytes are [begin_, end_)
  size_t end_ = 0;
  bool large_ = false;   // the last payload went straight into its memory
  ConnectionLook look_;  // for the next request, while the initiator's requests come within it
};

}  // namespace mooncake::te
