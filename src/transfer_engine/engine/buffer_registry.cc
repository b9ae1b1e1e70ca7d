#include "transfer_engine/engine/buffer_registry.h"

#include <mutex>
#include <sstream>

namespace mooncake::te {
namespace {

std::string hexAddress(uintptr_t addr) {
  std::ostringstream out;
  out << "0x" << std::hex << addr;
  return out.str();
}

std::string rangeText(uintptr_t addr, size_t length) {
  std::ostringstream out;
  out << "[0x" << std::hex << addr << ", 0x" << addr + length << ")";
  return out.str();
}

}  // namespace

Status BufferRegistry::checkInsertable(const RegisteredBuffer& buffer) const {
  if (buffer.addr == 0 || buffer.length == 0 || buffer.addr + buffer.length < buffer.addr) {
    return Status::error(ErrorCode::ERR_INVALID_ARGUMENT,
                         "cannot register buffer " + rangeText(buffer.addr, buffer.length) +
                             ": address must be non-null and length non-zero");
  }
  auto next = buffers_.lower_bound(buffer.addr);
  if (next != buffers_.end() && next->first < buffer.addr + buffer.length) {
    return Status::error(ErrorCode::ERR_ADDRESS_OVERLAPPED,
                         "buffer " + rangeText(buffer.addr, buffer.length) + " overlaps " +
                             rangeText(next->first, next->second.length));
  }
  if (next != buffers_.begin()) {
    auto prev = std::prev(next);
    if (prev->first + prev->second.length > buffer.addr) {
      return Status::error(ErrorCode::ERR_ADDRESS_OVERLAPPED,
                           "buffer " + rangeText(buffer.addr, buffer.length) + " overlaps " +
                               rangeText(prev->first, prev->second.length));
    }
  }
  return Status::OK();
}

Status BufferRegistry::add(const RegisteredBuffer& buffer) {
  std::unique_lock lock(mutex_);
  MC_RETURN_IF_ERROR(checkInsertable(buffer));
  buffers_.emplace(buffer.addr, buffer);
  if (buffer.remote_accessible) remote_count_.fetch_add(1);
  if (buffer.remote_accessible && listener_.added) listener_.added(buffer);
  return Status::OK();
}

Status BufferRegistry::addAll(const std::vector<RegisteredBuffer>& buffers) {
  std::unique_lock lock(mutex_);
  std::vector<uintptr_t> added;
  for (const RegisteredBuffer& buffer : buffers) {
    Status status = checkInsertable(buffer);
    if (!status.ok()) {
      for (uintptr_t addr : added) {
        if (buffers_.at(addr).remote_accessible) remote_count_.fetch_sub(1);
        buffers_.erase(addr);
      }
      return status;
    }
    buffers_.emplace(buffer.addr, buffer);
    if (buffer.remote_accessible) remote_count_.fetch_add(1);
    added.push_back(buffer.addr);
  }
  // A few buffers go in one by one (O(1) each at the end of the address order); many at once
  // rebuild the listener's view in one pass.
  if (buffers.size() > 16 || !listener_.added) {
    resetRemoteListener();
  } else {
    for (const RegisteredBuffer& buffer : buffers) {
      if (buffer.remote_accessible) listener_.added(buffer);
    }
  }
  return Status::OK();
}

Result<RegisteredBuffer> BufferRegistry::remove(uintptr_t addr) {
  std::unique_lock lock(mutex_);
  auto it = buffers_.find(addr);
  if (it == buffers_.end()) {
    return Status::error(ErrorCode::ERR_ADDRESS_NOT_REGISTERED,
                         "no registered buffer starts at " + hexAddress(addr) +
                             " (pass the address given to registerLocalMemory)");
  }
  RegisteredBuffer removed = it->second;
  buffers_.erase(it);
  if (removed.remote_accessible) remote_count_.fetch_sub(1);
  // Direct peers stop touching the buffer before the caller may free it.
  if (removed.remote_accessible && listener_.removed) listener_.removed(removed);
  return removed;
}

bool BufferRegistry::contains(uintptr_t addr, size_t length, bool remote_only) const {
  if (addr + length < addr) return false;
  std::shared_lock lock(mutex_);
  auto it = buffers_.upper_bound(addr);
  if (it == buffers_.begin()) return false;
  --it;
  const RegisteredBuffer& buffer = it->second;
  if (remote_only && !buffer.remote_accessible) return false;
  return addr >= buffer.addr && addr + length <= buffer.addr + buffer.length;
}

void BufferRegistry::setRemoteListener(RemoteListener listener) {
  std::unique_lock lock(mutex_);
  listener_ = std::move(listener);
  resetRemoteListener();
}

void BufferRegistry::resetRemoteListener() const {
  if (!listener_.reset) return;
  std::vector<RegisteredBuffer> remote;
  remote.reserve(buffers_.size());
  for (const auto& [addr, buffer] : buffers_) {
    if (buffer.remote_accessible) remote.push_back(buffer);
  }
  listener_.reset(remote);
}

std::vector<RegisteredBuffer> BufferRegistry::list(bool remote_only) const {
  std::shared_lock lock(mutex_);
  std::vector<RegisteredBuffer> out;
  out.reserve(buffers_.size());
  for (const auto& [addr, buffer] : buffers_) {
    if (!remote_only || buffer.remote_accessible) out.push_back(buffer);
  }
  return out;
}

}  // namespace mooncake::te
