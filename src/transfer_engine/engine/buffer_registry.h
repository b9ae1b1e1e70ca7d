// The registered buffers of the local segment: overlap checks on registration and range checks
// for every transfer (local sources, and incoming peer requests on the target side).
//
// Thread-safe. Lookups take a shared lock; registration takes it exclusively.
#pragma once

#include <atomic>
#include <cstdint>
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

  // Changes on every remove(). Same-host peers that write our memory directly read it (at its
  // address, from their process) to tell whether the buffer list they hold is still current.
  uint64_t removals() const { return removals_.load(std::memory_order_acquire); }
  const std::atomic<uint64_t>* removalsAddress() const { return &removals_; }

 private:
  Status checkInsertable(const RegisteredBuffer& buffer) const;

  mutable std::shared_mutex mutex_;
  std::map<uintptr_t, RegisteredBuffer> buffers_;  // keyed by start address; GUARDED_BY(mutex_)
  std::atomic<uint64_t> removals_{0};
};

}  // namespace mooncake::te
