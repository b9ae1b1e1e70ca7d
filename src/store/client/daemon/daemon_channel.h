// A dummy client's connections to its node daemon: a pool of Unix socket connections, each used
// by one calling thread at a time (so a call is one write and one read, no hand-off), every one
// opened with a hello that passes the dummy's memory file. A daemon that died makes calls fail
// at once (the socket closes); a restarted daemon is found again by the next call: idle
// connections are checked before use, and new ones say hello again.
#pragma once

#include <chrono>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "common/net/unique_fd.h"
#include "mooncake/common/status.h"
#include "store/client/daemon/daemon_wire.h"
#include "store/client/daemon/shared_arena.h"

namespace mooncake::store::daemon {

class DaemonChannel {
 public:
  DaemonChannel(std::string socket_name, std::shared_ptr<SharedArena> arena,
                std::chrono::milliseconds reply_timeout)
      : socket_name_(std::move(socket_name)),
        arena_(std::move(arena)),
        reply_timeout_(reply_timeout) {}

  // Opens the first connection (setup_dummy fails here when no daemon answers).
  Status connect();
  // One request and its reply. RPC_FAIL naming the daemon when it cannot be reached or the
  // connection broke; NOT_SUPPORTED for an op the daemon does not know; INVALID_PARAMS for a
  // request it refused as malformed.
  // `bytes` is what the request moves: a large one is not looked for before sleeping (the
  // daemon's copy needs the core more than this thread does).
  Result<std::string> call(Op op, std::string_view payload, uint64_t bytes = 0);
  // The daemon's Transfer Engine segment name (what get_hostname() says).
  std::string daemonSegment() const;

 private:
  Result<net::UniqueFd> open();
  Status unreachable(const Status& cause) const;

  const std::string socket_name_;
  const std::shared_ptr<SharedArena> arena_;
  const std::chrono::milliseconds reply_timeout_;
  std::mutex open_mutex_;  // one hello at a time: connections opened together join one session
  mutable std::mutex mutex_;
  std::vector<net::UniqueFd> idle_;  // GUARDED_BY(mutex_)
  std::string token_;                // GUARDED_BY(mutex_)
  std::string segment_;              // GUARDED_BY(mutex_)
};

}  // namespace mooncake::store::daemon
