// The node daemon's side of one dummy client: the dummy's memory file mapped into the daemon and
// registered with the daemon's Store client, so puts and gets move bytes between the cluster and
// the dummy's memory with no copy in the daemon. The mapping lives while any connection of the
// dummy is open or any of its requests runs (holders keep a shared_ptr); the last one out
// unregisters and unmaps it.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "common/net/unique_fd.h"
#include "mooncake/common/status.h"
#include "mooncake/store/client.h"

namespace mooncake::store::daemon {

class DummySession {
 public:
  // Maps `file` (a memfd sealed against shrinking, at least `size` bytes) and registers it.
  // Errors: INVALID_PARAMS (unsealed or short file), ERR_MEMORY (mmap), the registration's.
  static Result<std::shared_ptr<DummySession>> attach(Client& client, net::UniqueFd file,
                                                      uint64_t size, uint64_t pid,
                                                      std::string token);
  ~DummySession();
  DummySession(const DummySession&) = delete;
  DummySession& operator=(const DummySession&) = delete;

  // The daemon's address of [offset, offset + length) of the file, or null when that is not
  // inside it.
  char* at(uint64_t offset, uint64_t length) const;
  const std::string& token() const { return token_; }
  uint64_t pid() const { return pid_; }
  uint64_t size() const { return size_; }

 private:
  DummySession(Client& client, char* base, uint64_t size, uint64_t pid, std::string token)
      : client_(client), base_(base), size_(size), pid_(pid), token_(std::move(token)) {}

  Client& client_;
  char* const base_;
  const uint64_t size_;
  const uint64_t pid_;
  const std::string token_;
};

}  // namespace mooncake::store::daemon
