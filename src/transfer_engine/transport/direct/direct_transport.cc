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
  auto table = LiveRangeTable::create(segment_name_);
  Status offered = table.ok() ? offer_.start((*table)->fd()) : table.status();
  if (!offered.ok()) {
    LOG(WARNING) << offered.toString() << "; same-host peers use TCP";
    return Status::OK();
  }
  table_ = std::move(table).value();
  local_descriptor.host_instance = self_.instance;
  local_descriptor.pid = self_.pid;
  local_descriptor.pid_start = self_.start;
  local_descriptor.direct_socket = offer_.name();
  return Status::OK();
}

void DirectTransport::publishRanges(const std::vector<LiveRange>& ranges) {
  if (table_) table_->publish(ranges);
}

void DirectTransport::addRange(LiveRange range) {
  if (table_) table_->add(range);
}

void DirectTransport::removeRange(uint64_t addr) {
  if (table_) table_->remove(addr);
}

void DirectTransport::stop() {
  offer_.stop();
  std::lock_guard lock(mutex_);
  for (auto& [key, peer] : peers_) {
    if (peer.pidfd >= 0) ::close(peer.pidfd);
    peer.pidfd = -1;
    peer.usable = false;
    peer.table.reset();
  }
}

void DirectTransport::disable(Peer& peer, int64_t pid, const std::string& why) {
  if (peer.usable) {
    LOG(WARNING) << "direct: peer process " << pid << ": " << why << "; using TCP for it";
  }
  peer.usable = false;
  peer.retry_at = std::chrono::steady_clock::now() + std::chrono::minutes(1);
}

Status DirectTransport::openPeer(Peer& peer, const SegmentDescriptor& target) {
  // The pid must still name the process that published it: check its start time once, then
  // watch for its exit through a pidfd (readable once it exits), so a reused pid is never read.
  peer.pidfd = static_cast<int>(::syscall(SYS_pidfd_open, static_cast<pid_t>(target.pid), 0));
  if (peer.pidfd < 0 || processStartTime(target.pid) != target.pid_start) {
    return Status::error(ErrorCode::ERR_SOCKET, "process gone or not visible");
  }
  // What the peer lets us touch comes from the peer itself, never from the descriptor.
  MC_ASSIGN_OR_RETURN(net::UniqueFd table_fd,
                      fetchTableFd(target.direct_socket, static_cast<pid_t>(target.pid),
                                   std::chrono::milliseconds(1000)));
  MC_ASSIGN_OR_RETURN(std::unique_ptr<LiveRangeView> view,
                      LiveRangeView::open(std::move(table_fd), target.name));
  peer.table = std::move(view);
  return Status::OK();
}

DirectTransport::Peer& DirectTransport::peerFor(const SegmentDescriptor& target) {
  auto [it, inserted] = peers_.try_emplace(target.pid);
  Peer& peer = it->second;
  const bool same =
      !inserted && peer.start == target.pid_start && peer.socket == target.direct_socket;
  if (same && (peer.usable || std::chrono::steady_clock::now() < peer.retry_at)) return peer;
  if (peer.pidfd >= 0) ::close(peer.pidfd);  // the pid now names another process
  peer = Peer{};
  peer.start = target.pid_start;
  peer.socket = target.direct_socket;
  Status opened = openPeer(peer, target);
  peer.usable = opened.ok();
  if (!opened.ok()) {
    peer.table.reset();
    peer.retry_at = std::chrono::steady_clock::now() + std::chrono::seconds(5);
    LOG(INFO) << "direct: segment " << target.name << " (pid " << target.pid
              << ") is not reachable directly (" << opened.message() << "); using TCP";
  }
  return peer;
}

bool DirectTransport::reaches(const SegmentDescriptor& target) {
  if (!table_ || target.host_instance != self_.instance || target.pid <= 0 ||
      target.direct_socket.empty()) {
    return false;
  }
  std::lock_guard lock(mutex_);
  return peerFor(target).usable;
}

void DirectTransport::moveOne(const SegmentDescriptor& peer_descriptor, Slice* slice, bool& alive) {
  const auto pid = static_cast<pid_t>(peer_descriptor.pid);
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
    return;
  }
  const int error = moved < 0 ? errno : EFAULT;
  if (error == EPERM || error == ESRCH) {
    {
      std::lock_guard lock(mutex_);
      disable(
          peerFor(peer_descriptor), peer_descriptor.pid,
          error == EPERM ? "no permission (ptrace rules: same user or CAP_SYS_PTRACE)" : "exited");
    }
    alive = false;
    sink_.onSliceDone(slice, Status::error(ErrorCode::ERR_SOCKET,
                                           "direct: peer process " + std::to_string(pid) + ": " +
                                               std::strerror(error) + " (retried over TCP)"));
    return;
  }
  // Registered a moment ago but not mapped: the peer unregistered and unmapped it meanwhile.
  sink_.onSliceDone(slice,
                    Status::error(ErrorCode::ERR_ADDRESS_NOT_REGISTERED,
                                  "direct: range " + rangeText(slice->remote, slice->length) +
                                      " of segment " + peer_descriptor.name +
                                      " is not mapped in its process: " + std::strerror(error)));
}

size_t DirectTransport::moveRun(const SegmentDescriptor& peer_descriptor, Slice* const* run,
                                size_t count) {
  struct iovec local[kMaxRun];
  struct iovec remote[kMaxRun];
  size_t total = 0;
  for (size_t i = 0; i < count; ++i) {
    local[i] = {run[i]->local, run[i]->length};
    remote[i] = {reinterpret_cast<void*>(run[i]->remote), run[i]->length};
    total += run[i]->length;
  }
  const auto pid = static_cast<pid_t>(peer_descriptor.pid);
  const auto n = static_cast<unsigned long>(count);
  // The kernel copies the remote vectors into the local ones in order, so the bytes moved tell
  // how many whole slices are done; the rest go one by one (which names each one's error).
  ssize_t moved = run[0]->opcode == TransferRequest::WRITE
                      ? ::process_vm_writev(pid, local, n, remote, n, 0)
                      : ::process_vm_readv(pid, local, n, remote, n, 0);
  if (moved == static_cast<ssize_t>(total)) {
    for (size_t i = 0; i < count; ++i) sink_.onSliceDone(run[i], Status::OK());
    return count;
  }
  size_t done = 0;
  for (uint64_t covered = 0; moved > 0 && done < count; ++done) {
    covered += run[done]->length;
    if (covered > static_cast<uint64_t>(moved)) break;
  }
  for (size_t i = 0; i < done; ++i) sink_.onSliceDone(run[i], Status::OK());
  return done;
}

void DirectTransport::submit(const RemoteSegment& target, Slice* const* slices, size_t count) {
  const SegmentDescriptor& peer_descriptor = target.descriptor;
  bool alive = false;
  std::shared_ptr<const LiveRangeView> table;
  {
    std::lock_guard lock(mutex_);
    Peer& peer = peerFor(peer_descriptor);
    struct pollfd exited {
      peer.pidfd, POLLIN, 0
    };
    alive = peer.usable && ::poll(&exited, 1, 0) == 0;
    if (peer.usable && !alive) disable(peer, peer_descriptor.pid, "exited");
    table = peer.table;
  }
  std::vector<Slice*> elsewhere;  // outside the peer's live table: TCP, where the peer checks
  Slice* run[kMaxRun];            // covered slices of one opcode, moved by one system call
  size_t in_run = 0;
  auto flush = [&] {
    if (in_run == 0) return;
    size_t done = alive ? moveRun(peer_descriptor, run, in_run) : 0;
    for (size_t i = done; i < in_run; ++i) moveOrFail(peer_descriptor, run[i], alive);
    in_run = 0;
  };
  for (size_t i = 0; i < count; ++i) {
    Slice* slice = slices[i];
    if (!alive) {
      flush();
      moveOrFail(peer_descriptor, slice, alive);
      continue;
    }
    if (!table->covers(slice->remote, slice->length)) {
      LOG_EVERY_N(INFO, 1000) << "direct: range " << rangeText(slice->remote, slice->length)
                              << " of segment " << peer_descriptor.name
                              << " is not registered in its process right now; sent over TCP";
      elsewhere.push_back(slice);
      continue;
    }
    if (in_run == kMaxRun || (in_run > 0 && run[0]->opcode != slice->opcode)) flush();
    run[in_run++] = slice;
  }
  flush();
  if (!elsewhere.empty()) fallback_.submit(target, elsewhere.data(), elsewhere.size());
}

void DirectTransport::moveOrFail(const SegmentDescriptor& peer_descriptor, Slice* slice,
                                 bool& alive) {
  if (alive) {
    moveOne(peer_descriptor, slice, alive);
    return;
  }
  // Retryable: the engine sends it again, over TCP now (which reports a dead peer itself).
  sink_.onSliceDone(slice,
                    Status::error(ErrorCode::ERR_SOCKET,
                                  "direct: peer process " + std::to_string(peer_descriptor.pid) +
                                      " of segment " + peer_descriptor.name + " is gone"));
}

}  // namespace mooncake::te
