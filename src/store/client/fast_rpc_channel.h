// Client end of the master's fast RPC protocol (fast_rpc_frame.h): a pool of connections, one
// per concurrent caller, each carrying one blocking call at a time. Thread-safe.
#pragma once

#include <atomic>
#include <chrono>
#include <mutex>
#include <vector>

#include "common/auth/secret.h"
#include "common/net/socket.h"
#include "common/net/unique_fd.h"
#include "mooncake/common/status.h"

namespace google::protobuf {
class MessageLite;
}

namespace mooncake::store {

class FastRpcChannel {
 public:
  // With a secret, each new connection proves it first.
  FastRpcChannel(net::HostPort address, std::chrono::milliseconds timeout, auth::SecretRef secret)
      : address_(std::move(address)), timeout_(timeout), secret_(std::move(secret)) {}

  // Sends one request and waits for its answer. `*delivered` says whether the master may have
  // run it: false when no connection could be made or the master does not know the method, so
  // the caller may send it another way. Errors: RPC_FAIL, RPC_TIMEOUT.
  Status call(uint32_t method, const google::protobuf::MessageLite& request,
              google::protobuf::MessageLite* response, bool* delivered);
  const net::HostPort& address() const { return address_; }

 private:
  struct Idle {
    net::UniqueFd fd;
    std::chrono::steady_clock::time_point since;
  };
  Result<net::UniqueFd> takeConnection();
  void giveBack(net::UniqueFd connection);
  Status failure(const std::string& what) const;

  const net::HostPort address_;
  const std::chrono::milliseconds timeout_;
  const auth::SecretRef secret_;
  std::atomic<uint64_t> next_call_id_{1};
  std::mutex mutex_;
  std::vector<Idle> idle_;  // GUARDED_BY(mutex_)
};

}  // namespace mooncake::store
