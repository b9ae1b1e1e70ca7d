#include "transfer_engine/transport/tcp/tcp_inbound.h"

#include <sys/ioctl.h>
#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "common/net/socket.h"
#include "common/wait_look.h"

namespace mooncake::te {

InboundStream::InboundStream(int fd)
    : fd_(fd), buffer_(new char[kCapacity]), look_(waitLookBeforeSleep()) {}

bool InboundStream::read(void* out, size_t size, size_t refill) {
  char* into = static_cast<char*>(out);
  const size_t buffered = std::min(end_ - begin_, size);
  if (buffered > 0) {
    std::memcpy(into, buffer_.get() + begin_, buffered);
    begin_ += buffered;
    into += buffered;
    size -= buffered;
  }
  if (size == 0) return true;
  begin_ = end_ = 0;  // the buffer is empty here
  if (size >= kDirectBytes) return net::recvAll(fd_, into, size).ok();
  // Whatever has arrived, up to the buffer's size: the next requests usually come with it.
  refill = std::clamp(refill, size, kCapacity);
  // Waiting for the next request: look for it a while, yielding the core, before sleeping in
  // recv (an initiator's next request often follows within microseconds; waking costs as much),
  // while its requests keep coming soon after one another (ConnectionLook).
  const auto waiting_since = std::chrono::steady_clock::now();
  if (const auto for_now = look_.next(); for_now.count() > 0) {
    ssize_t got = net::recvLooking(fd_, buffer_.get(), refill, for_now);
    if (got > 0) end_ = static_cast<size_t>(got);
    if (got == 0 || (got < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)) {
      return false;
    }
  }
  while (end_ < size) {
    ssize_t got = ::recv(fd_, buffer_.get() + end_, refill - end_, 0);
    if (got == 0) return false;
    if (got < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    end_ += static_cast<size_t>(got);
  }
  look_.arrivedAfter(std::chrono::steady_clock::now() - waiting_since);
  std::memcpy(into, buffer_.get(), size);
  begin_ = size;
  return true;
}

size_t InboundStream::pending(size_t enough) const {
  const size_t buffered = end_ - begin_;
  if (buffered >= enough) return buffered;
  int queued = 0;
  if (::ioctl(fd_, FIONREAD, &queued) != 0 || queued < 0) return buffered;
  return buffered + static_cast<size_t>(queued);
}

}  // namespace mooncake::te
