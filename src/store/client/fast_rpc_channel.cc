#include "store/client/fast_rpc_channel.h"

#include <google/protobuf/message_lite.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include <cerrno>
#include <cstring>
#include <string>
#include <string_view>
#include <thread>

#include "common/auth/stream_auth.h"
#include "common/wait_look.h"
#include "store/proto/fast_rpc_frame.h"

namespace mooncake::store {
namespace {

// An idle pooled connection whose master went away (restart, failover) reads as closed; using
// it would make a call that the master never saw look like one that failed midway.
bool stillOpen(int fd) {
  char byte;
  ssize_t got = ::recv(fd, &byte, 1, MSG_PEEK | MSG_DONTWAIT);
  return got < 0 && (errno == EAGAIN || errno == EWOULDBLOCK);
}

// Pooled connections used again within this long skip the liveness check (a syscall per call).
constexpr std::chrono::milliseconds kTrustIdle{100};

// The master answers in tens of microseconds: the caller looks for the answer this long before
// it sleeps in recv, since a wake-up costs about as much as the call itself.

// recv until at least `length` bytes are in, taking up to `capacity`; distinguishes the receive
// timeout (SO_RCVTIMEO) from the rest. `*received` counts what arrived.
enum class Received { kAll, kTimeout, kFailed };
Received receiveAtLeast(int fd, char* data, size_t length, size_t capacity, size_t* received,
                        std::chrono::microseconds look_first = std::chrono::microseconds(0)) {
  *received = 0;
  const auto look_until = std::chrono::steady_clock::now() + look_first;
  while (*received < length) {
    bool looking = std::chrono::steady_clock::now() < look_until;
    ssize_t got = ::recv(fd, data + *received, capacity - *received, looking ? MSG_DONTWAIT : 0);
    if (looking && got < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      std::this_thread::yield();
      continue;
    }
    if (got > 0) {
      *received += static_cast<size_t>(got);
      continue;
    }
    if (got < 0 && errno == EINTR) continue;
    if (got < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return Received::kTimeout;
    return Received::kFailed;
  }
  return Received::kAll;
}

}  // namespace

Status FastRpcChannel::failure(const std::string& what) const {
  return Status::storeError(StoreErrorCode::RPC_FAIL,
                            "master fast RPC " + address_.toString() + ": " + what);
}

Result<net::UniqueFd> FastRpcChannel::takeConnection() {
  {
    std::lock_guard lock(mutex_);
    auto now = std::chrono::steady_clock::now();
    while (!idle_.empty()) {
      Idle idle = std::move(idle_.back());
      idle_.pop_back();
      // A master cannot restart within kTrustIdle; a connection idle for longer is checked.
      if (now - idle.since < kTrustIdle || stillOpen(idle.fd.get())) return std::move(idle.fd);
    }
  }
  auto fd = net::connectTcp(address_, timeout_);
  if (!fd.ok()) return failure(fd.status().message());
  net::setNoDelay(fd->get());
  net::setReceiveTimeout(fd->get(), timeout_);
  net::setSendTimeout(fd->get(), timeout_);
  if (secret_) {
    Status proved = auth::clientHandshake(fd->get(), secret_, kFastRpcAuthLabel,
                                          "master fast RPC " + address_.toString(), timeout_);
    if (!proved.ok()) return Status::storeError(StoreErrorCode::RPC_FAIL, proved.message());
  }
  return fd;
}

void FastRpcChannel::giveBack(net::UniqueFd connection) {
  std::lock_guard lock(mutex_);
  idle_.push_back({std::move(connection), std::chrono::steady_clock::now()});
}

Status FastRpcChannel::call(uint32_t method, const google::protobuf::MessageLite& request,
                            google::protobuf::MessageLite* response, bool* delivered) {
  *delivered = false;
  auto connection = takeConnection();
  if (!connection.ok()) return connection.status();
  const int fd = connection->get();
  std::string payload;
  if (!request.SerializeToString(&payload)) return failure("cannot encode the request");
  fast_rpc::FrameHeader header{static_cast<uint32_t>(payload.size()), method,
                               next_call_id_.fetch_add(1, std::memory_order_relaxed)};
  struct iovec iov[2] = {{&header, sizeof(header)}, {payload.data(), payload.size()}};
  *delivered = true;  // from here on the master may have run it
  Status sent = net::sendAllVec(fd, iov, payload.empty() ? 1 : 2);
  if (!sent.ok()) return failure(sent.message());
  // The answer usually arrives whole: one recv for its header and (a small) payload.
  constexpr size_t kFirstChunk = 4096;
  std::string inbox(kFirstChunk, '\0');
  size_t received = 0;
  Received got = receiveAtLeast(fd, inbox.data(), sizeof(fast_rpc::FrameHeader), inbox.size(),
                                &received, lookForAnswer());
  if (got == Received::kTimeout) {
    return Status::storeError(StoreErrorCode::RPC_TIMEOUT,
                              "master fast RPC " + address_.toString() + ": no answer within " +
                                  std::to_string(timeout_.count()) + " ms");
  }
  if (!secret_ && auth::looksLikeHello(std::string_view(inbox.data(), received))) {
    *delivered = false;  // the master refused it unread
    return failure("the master requires authentication; run with the cluster's MC_AUTH_SECRET");
  }
  if (got != Received::kAll) return failure("connection closed before the answer");
  fast_rpc::FrameHeader answer;
  std::memcpy(&answer, inbox.data(), sizeof(answer));
  const size_t frame = sizeof(answer) + answer.payload_length;
  if (answer.call_id != header.call_id || answer.payload_length > fast_rpc::kMaxPayload ||
      received > frame) {
    return failure("answer does not match the request (not a Mooncake master?)");
  }
  if (received < frame) {
    inbox.resize(frame);
    size_t rest = 0;
    if (receiveAtLeast(fd, inbox.data() + received, frame - received, frame - received, &rest) !=
        Received::kAll) {
      return failure("connection closed in the middle of an answer");
    }
  }
  std::string_view body(inbox.data() + sizeof(answer), answer.payload_length);
  if (answer.code == fast_rpc::kUnknownMethod) {
    *delivered = false;
    giveBack(std::move(*connection));
    return failure("the master does not know method " + std::to_string(method));
  }
  if (answer.code != fast_rpc::kOk) return failure("the master could not decode the request");
  if (!response->ParseFromArray(body.data(), static_cast<int>(body.size()))) {
    return failure("cannot decode the answer");
  }
  giveBack(std::move(*connection));
  return Status::OK();
}

}  // namespace mooncake::store
