// The registered buffers of the local segment: overlap checks on registration and range checks
// for every transfer (local sources, and incoming peer requests on the target side).
//
// Thread-safe. Lookups take a shared lock; registration takes it exclusively.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <shared_mutex>
#include <string>
#include <vector>

#include "mooncake/common/status.h"

namespace mooncake::te {

struct RegisteredBuffer {
  uintptr_t addr = 0;
  size_t length = 0;
  std::string location;  // "cpu:0", ...
  bool remote_accessible = true;
};

class BufferRegistry {
 public:
  // Errors: ERR_INVALID_ARGUMENT (null/zero length/wraps), ERR_ADDRESS_OVERLAPPED.
  Status add(const RegisteredBuffer& buffer);
  // Adds all or none.
  Status addAll(const std::vector<RegisteredBuffer>& buffers);
  // Errors: ERR_ADDRESS_NOT_REGISTERED when no buffer starts at addr.
  Result<RegisteredBuffer> remove(uintptr_t addr);

  // True when [addr, addr+length) lies inside one registered buffer (remote-accessible only
  // when `remote_only`).
  bool contains(uintptr_t addr, size_t length, bool remote_only) const;

  // How many remote-accessible buffers there are. O(1).
  size_t remoteCount() const { return remote_count_.load(); }

  // Buffers in address order; `remote_only` filters out local staging buffers.
  std::vector<RegisteredBuffer> list(bool remote_only) const;

  // Told of every change to the remote-accessible buffers, under the registry's lock, so what
  // it publishes never lags a change that has returned (the same-host direct path's live table
  // relies on that): `reset` with the whole list (address order) when set and after addAll,
  // `added` / `removed` for single changes. Set it once, before concurrent use.
  struct RemoteListener {
    std::function<void(const std::vector<RegisteredBuffer>& remote)> reset;
    std::function<void(const RegisteredBuffer& buffer)> added;
    std::function<void(const RegisteredBuffer& buffer)> removed;
  };
  void setRemoteListener(RemoteListener listener);

 private:
  Status checkInsertable(const RegisteredBuffer& buffer) const;
  // Requires mutex_ held exclusively. The whole list to listener_.reset.
  void resetRemoteListener() const;

  mutable std::shared_mutex mutex_;
  std::map<uintptr_t, RegisteredBuffer> buffers_;  // keyed by start address; GUARDED_BY(mutex_)
  RemoteListener listener_;                        // GUARDED_BY(mutex_)
  std::atomic<size_t> remote_count_{0};            // written under mutex_
};

}  // namespace mooncake::te
