// The registered buffers of the local segment: overlap checks on registration and range checks
// for every transfer (local sources, and incoming peer requests on the target side).
//
// Thread-safe. Lookups take a shared lock; registration takes it exclusively.
#pragma once

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

  // Buffers in address order; `remote_only` filters out local staging buffers.
  std::vector<RegisteredBuffer> list(bool remote_only) const;

  // Called with the remote-accessible buffers (address order) after every change, under the
  // registry's lock, so what it publishes never lags a change that has returned (the same-host
  // direct path's live table relies on that). Set it once, before concurrent use; it is called
  // at once with the current list.
  using RemoteListener = std::function<void(const std::vector<RegisteredBuffer>& remote)>;
  void setRemoteListener(RemoteListener listener);

 private:
  Status checkInsertable(const RegisteredBuffer& buffer) const;
  // Requires mutex_ held exclusively.
  void notifyRemoteListener() const;

  mutable std::shared_mutex mutex_;
  std::map<uintptr_t, RegisteredBuffer> buffers_;  // keyed by start address; GUARDED_BY(mutex_)
  RemoteListener listener_;                        // GUARDED_BY(mutex_)
};

}  // namespace mooncake::te
