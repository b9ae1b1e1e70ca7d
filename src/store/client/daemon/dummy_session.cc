#include "store/client/daemon/dummy_session.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>

#include <cerrno>

#include "common/logging.h"
#include "common/net/socket.h"

namespace mooncake::store::daemon {

Result<std::shared_ptr<DummySession>> DummySession::attach(Client& client, net::UniqueFd file,
                                                           uint64_t size, uint64_t pid,
                                                           std::string token) {
  auto refuse = [&](const std::string& why) {
    return Status::storeError(StoreErrorCode::INVALID_PARAMS,
                              "dummy client (pid " + std::to_string(pid) + "): " + why);
  };
  if (!file.valid() || size == 0) return refuse("no memory file came with the hello");
  // A file that could shrink under our mapping would turn the dummy's mistake into our SIGBUS.
  int seals = ::fcntl(file.get(), F_GET_SEALS);
  if (seals < 0 || (seals & F_SEAL_SHRINK) == 0) {
    return refuse("its memory file is not sealed against shrinking (F_SEAL_SHRINK)");
  }
  struct stat info {};
  if (::fstat(file.get(), &info) != 0 || static_cast<uint64_t>(info.st_size) < size) {
    return refuse("its memory file is shorter than the " + std::to_string(size) +
                  " bytes it announced");
  }
  void* mapped =
      ::mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, file.get(), 0);
  if (mapped == MAP_FAILED) {
    return Status::error(ErrorCode::ERR_MEMORY, "mmap of a dummy client's " + std::to_string(size) +
                                                    "-byte memory file: " + net::errnoText(errno));
  }
  auto* base = static_cast<char*>(mapped);
  Status registered = client.registerBuffer(base, size);
  if (!registered.ok()) {
    ::munmap(base, size);
    return registered.withContext("registering a dummy client's memory");
  }
  return std::shared_ptr<DummySession>(new DummySession(client, base, size, pid, std::move(token)));
}

DummySession::~DummySession() {
  Status status = client_.unregisterBuffer(base_);
  if (!status.ok()) LOG(WARNING) << "node daemon: " << status.toString();
  ::munmap(base_, size_);
}

char* DummySession::at(uint64_t offset, uint64_t length) const {
  if (offset > size_ || length > size_ - offset) return nullptr;
  return base_ + offset;
}

}  // namespace mooncake::store::daemon
