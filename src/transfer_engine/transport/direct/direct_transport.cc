#include "transfer_engine/transport/direct/direct_transport.h"

#include <poll.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>
#include <vector>

#include "common/logging.h"

namespace mooncake::te {
namespace {

std::string readFirstLine(const std::string& path) {
  std::ifstream in(path);
  std::string line;
  std::getline(in, line);
  return line;
}

// Field 22 of /proc/<pid>/stat (after the parenthesised command, which may hold spaces).
uint64_t processStartTime(int64_t pid) {
  std::string stat = readFirstLine("/proc/" + std::to_string(pid) + "/stat");
  size_t close = stat.rfind(')');
  if (close == std::string::npos) return 0;
  std::istringstream fields(stat.substr(close + 2));
  std::string field;
  for (int index = 3; index <= 22 && fields >> field; ++index) {
    if (index == 22) return std::strtoull(field.c_str(), nullptr, 10);
  }
  return 0;
}

std::string pidNamespace() {
  char target[128] = {};
  ssize_t n = ::readlink("/proc/self/ns/pid", target, sizeof(target) - 1);
  return n > 0 ? std::string(target, static_cast<size_t>(n)) : std::string();
}

std::string rangeText(uint64_t addr, size_t length) {
  std::ostringstream out;
  out << "[0x" << std::hex << addr << ", 0x" << addr + length << ")";
  return out.str();
}

}  // namespace

HostIdentity localHostIdentity() {
  HostIdentity self;
  std::string boot = readFirstLine("/proc/sys/kernel/random/boot_id");
  std::string pid_ns = pidNamespace();
  self.pid = ::getpid();
  self.start = processStartTime(self.pid);
  if (!boot.empty() && !pid_ns.empty() && self.start != 0) self.instance = boot + "/" + pid_ns;
  return self;
}

Status DirectTransport::start(SegmentDescriptor& local_descriptor) {
  self_ = localHostIdentity();
  if (self_.instance.empty()) {
    LOG(WARNING) << "direct: cannot identify this host (/proc unreadable); same-host peers use TCP";
    return Status::OK();
  }
  local_descriptor.host_instance = self_.instance;
  local_descriptor.pid = self_.pid;
  local_descriptor.pid_start = self_.start;
  return Status::OK();
}

void DirectTransport::stop() {
  std::lock_guard lock(mutex_);
  for (auto& [key, peer] : peers_) {
    if (peer.pidfd >= 0) ::close(peer.pidfd);
    peer.pidfd = -1;
    peer.usable = false;
  }
}

void DirectTransport::disable(Peer& peer, int64_t pid, const std::string& why) {
  if (peer.usable) {
    LOG(WARNING) << "direct: peer process " << pid << ": " << why << "; using TCP for it";
  }
  peer.usable = false;
}

DirectTransport::Peer& DirectTransport::peerFor(const SegmentDescriptor& target) {
  auto [it, inserted] = peers_.try_emplace(target.pid);
  Peer& peer = it->second;
  if (!inserted && peer.start == target.pid_start) return peer;
  if (peer.pidfd >= 0) ::close(peer.pidfd);  // the pid now names another process
  peer.start = target.pid_start;
  // The pid must still name the process that published it: check its start time once, then
  // watch for its exit through a pidfd (readable once it exits), so a reused pid is never read.
  peer.pidfd = static_cast<int>(::syscall(SYS_pidfd_open, static_cast<pid_t>(target.pid), 0));
  peer.usable = peer.pidfd >= 0 && processStartTime(target.pid) == target.pid_start;
  if (!peer.usable) {
    LOG(INFO) << "direct: segment " << target.name << " (pid " << target.pid
              << ") is not reachable directly (process gone or not visible); using TCP";
  }
  return peer;
}

bool DirectTransport::reaches(const SegmentDescriptor& target) {
  if (self_.instance.empty() || target.host_instance != self_.instance || target.pid <= 0 ||
      target.removals_addr == 0) {
    return false;
  }
  {
    std::lock_guard lock(mutex_);
    if (!peerFor(target).usable) return false;
  }
  // The buffer list we hold must be the peer's current one: a buffer it removed (and may have
  // freed) since must not be written. Over TCP the peer checks each request itself.
  uint64_t removals = 0;
  struct iovec local {
    &removals, sizeof(removals)
  };
  struct iovec remote {
    reinterpret_cast<void*>(target.removals_addr), sizeof(removals)
  };
  if (::process_vm_readv(static_cast<pid_t>(target.pid), &local, 1, &remote, 1, 0) !=
      static_cast<ssize_t>(sizeof(removals))) {
    return false;  // gone or refused: TCP reports it
  }
  if (removals != target.removals) {
    LOG_EVERY_N(INFO, 100) << "direct: segment " << target.name
                           << " removed buffers since its descriptor was fetched; using TCP "
                              "until it is refreshed (syncSegmentCache)";
    return false;
  }
  return true;
}

void DirectTransport::submit(const RemoteSegment& target, Slice* const* slices, size_t count) {
  const SegmentDescriptor& peer_descriptor = target.descriptor;
  const auto pid = static_cast<pid_t>(peer_descriptor.pid);
  bool alive = false;
  {
    std::lock_guard lock(mutex_);
    Peer& peer = peerFor(peer_descriptor);
    struct pollfd exited {
      peer.pidfd, POLLIN, 0
    };
    alive = peer.usable && ::poll(&exited, 1, 0) == 0;
    if (peer.usable && !alive) disable(peer, peer_descriptor.pid, "exited");
  }
  for (size_t i = 0; i < count; ++i) {
    Slice* slice = slices[i];
    if (!alive) {
      // Retryable: the engine sends it again, over TCP now (which reports a dead peer itself).
      sink_.onSliceDone(
          slice, Status::error(ErrorCode::ERR_SOCKET, "direct: peer process " +
                                                          std::to_string(pid) + " of segment " +
                                                          peer_descriptor.name + " is gone"));
      continue;
    }
    struct iovec local {
      slice->local, slice->length
    };
    struct iovec remote {
      reinterpret_cast<void*>(slice->remote), slice->length
    };
    ssize_t moved = slice->opcode == TransferRequest::WRITE
                        ? ::process_vm_writev(pid, &local, 1, &remote, 1, 0)
                        : ::process_vm_readv(pid, &local, 1, &remote, 1, 0);
    if (moved == static_cast<ssize_t>(slice->length)) {
      sink_.onSliceDone(slice, Status::OK());
      continue;
    }
    const int error = moved < 0 ? errno : EFAULT;
    if (error == EPERM || error == ESRCH) {
      {
        std::lock_guard lock(mutex_);
        disable(peerFor(peer_descriptor), peer_descriptor.pid,
                error == EPERM ? "no permission (ptrace rules: same user or CAP_SYS_PTRACE)"
                               : "exited");
      }
      alive = false;
      sink_.onSliceDone(slice, Status::error(ErrorCode::ERR_SOCKET,
                                             "direct: peer process " + std::to_string(pid) + ": " +
                                                 std::strerror(error) + " (retried over TCP)"));
      continue;
    }
    sink_.onSliceDone(slice,
                      Status::error(ErrorCode::ERR_ADDRESS_NOT_REGISTERED,
                                    "direct: range " + rangeText(slice->remote, slice->length) +
                                        " of segment " + peer_descriptor.name +
                                        " is not mapped in its process: " + std::strerror(error) +
                                        " (stale descriptor? syncSegmentCache picks up "
                                        "the peer's current buffers)"));
  }
}

}  // namespace mooncake::te
