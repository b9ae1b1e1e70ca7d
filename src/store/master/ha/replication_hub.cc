#include "store/master/ha/replication_hub.h"

#include <sys/socket.h>
#include <sys/uio.h>

#include <algorithm>
#include <cerrno>
#include <optional>

#include "common/auth/stream_auth.h"
#include "common/logging.h"
#include "common/net/socket.h"
#include "store/master/ha/replication_wire.h"

namespace mooncake::store {
namespace {

using Clock = std::chrono::steady_clock;

// The position after the last record this thread published, and in which hub.
thread_local uint64_t t_hub = 0;
thread_local uint64_t t_position = 0;

std::atomic<uint64_t> g_next_hub_id{1};

// A standby that caught up to within this many bytes starts being waited for.
constexpr uint64_t kCatchUpSlack = 1 << 20;
// The most one live message carries.
constexpr size_t kMaxLiveMessage = 4 << 20;
// The buffer's sent prefix is cut off in pieces at least this large.
constexpr uint64_t kTrimStep = 1 << 20;
constexpr std::chrono::milliseconds kHelloDeadline{2000};

Status sendMessage(int fd, uint32_t kind, const void* data, size_t length) {
  replication::Header header{kind, 0, length};
  struct iovec iov[2] = {{&header, sizeof(header)}, {const_cast<void*>(data), length}};
  return net::sendAllVec(fd, iov, length == 0 ? 1 : 2);
}

}  // namespace

struct ReplicationHub::Standby {
  enum class Stage { kDumping, kCatchingUp, kWaited, kInSync };
  std::string id;  // its RPC address
  net::UniqueFd fd;
  Stage stage = Stage::kDumping;
  uint64_t live_start = 0;  // the stream position its live part begins at
  uint64_t sent = 0;        // the next position to send
  uint64_t acked = 0;       // applied up to here
  uint64_t mark = 0;        // kWaited: in sync once acked reaches this
  bool dropping = false;    // to be removed once master_replicas no longer names it
  bool closed = false;      // its connection ended
  std::optional<Clock::time_point> behind_since;
  std::mutex send_mutex;  // one writer of live messages at a time: its sender or a reply
  std::thread sender;
  std::thread reader;

  bool waited() const { return stage == Stage::kWaited || stage == Stage::kInSync; }
};

ReplicationHub::ReplicationHub(ReplicationHubOptions options)
    : options_(std::move(options)), id_(g_next_hub_id.fetch_add(1)) {}

ReplicationHub::~ReplicationHub() { stop(); }

Status ReplicationHub::start(Dump dump) {
  dump_ = std::move(dump);
  MC_ASSIGN_OR_RETURN(net::UniqueFd fd, net::listenTcp(options_.bind_address, options_.port, 16));
  MC_ASSIGN_OR_RETURN(port_, net::boundPort(fd.get()));
  listen_fd_ = std::move(fd);
  acceptor_ = std::thread([this] { acceptLoop(); });
  manager_ = std::thread([this] { manage(); });
  return Status::OK();
}

void ReplicationHub::stop() {
  {
    std::lock_guard lock(mutex_);
    if (stopping_) return;
    stopping_ = true;
    stopped_.store(true, std::memory_order_release);
    if (listen_fd_.valid()) ::shutdown(listen_fd_.get(), SHUT_RDWR);
    for (auto& standby : standbys_) ::shutdown(standby->fd.get(), SHUT_RDWR);
  }
  data_cv_.notify_all();
  ack_cv_.notify_all();
  manage_cv_.notify_all();
  if (acceptor_.joinable()) acceptor_.join();
  if (manager_.joinable()) manager_.join();
  std::list<std::shared_ptr<Standby>> standbys;
  {
    std::lock_guard lock(mutex_);
    standbys.swap(standbys_);
    registered_.store(0);
    in_sync_count_.store(0);
  }
  for (auto& standby : standbys) {
    standby->sender.join();
    standby->reader.join();
  }
}

size_t ReplicationHub::connectedStandbys() const {
  std::lock_guard lock(mutex_);
  return standbys_.size();
}

void ReplicationHub::publish(durable::RecordType type, uint64_t lsn, std::string_view payload) {
  if (registered_.load(std::memory_order_acquire) == 0) return;
  std::lock_guard lock(mutex_);
  if (standbys_.empty()) return;
  durable::appendFrame(buffer_, type, lsn, payload);
  t_hub = id_;
  t_position = headLocked();
  if (catching_up_.load(std::memory_order_relaxed) > 0) data_cv_.notify_all();
}

Status ReplicationHub::flush(Standby& standby, bool* sent_any) {
  thread_local std::string chunk;
  *sent_any = false;
  {
    std::lock_guard lock(mutex_);
    if (stopping_ || standby.dropping || standby.closed) {
      return Status::error(ErrorCode::ERR_SOCKET, "standby gone");
    }
    const uint64_t available = headLocked() - standby.sent;
    const size_t take = static_cast<size_t>(std::min<uint64_t>(available, kMaxLiveMessage));
    if (take == 0) return Status::OK();
    chunk.assign(buffer_.data() + (standby.sent - base_), take);
  }
  MC_RETURN_IF_ERROR(sendMessage(standby.fd.get(), replication::kLive, chunk.data(), chunk.size()));
  std::lock_guard lock(mutex_);
  standby.sent += chunk.size();
  *sent_any = true;
  return Status::OK();
}

void ReplicationHub::recountLocked() {
  registered_.store(standbys_.size(), std::memory_order_release);
  catching_up_.store(
      std::count_if(standbys_.begin(), standbys_.end(), [](const auto& s) { return !s->waited(); }),
      std::memory_order_relaxed);
}

bool ReplicationHub::ackedLocked(uint64_t position) const {
  for (const auto& standby : standbys_) {
    if (standby->waited() && standby->acked < position) return false;
  }
  return true;
}

bool ReplicationHub::awaitReplicated() {
  if (stopped_.load(std::memory_order_acquire)) return false;  // stepping down: no answers
  if (t_hub != id_) return true;  // this thread published nothing since its last reply
  const uint64_t want = t_position;
  t_hub = 0;
  // Push the stream to the standbys that replies wait for from this thread, rather than waking
  // their sender threads: one thread hand-off less per call. A standby whose stream another
  // thread is writing gets these records from that thread's next message or its sender.
  std::vector<std::shared_ptr<Standby>> targets;
  {
    std::lock_guard lock(mutex_);
    for (const auto& standby : standbys_) {
      if (standby->waited() && standby->sent < want) targets.push_back(standby);
    }
  }
  for (const auto& standby : targets) {
    std::unique_lock send_lock(standby->send_mutex, std::try_to_lock);
    if (!send_lock.owns_lock()) {
      data_cv_.notify_all();  // its sender finishes what the current writer leaves
      continue;
    }
    bool sent_any = true;
    while (sent_any && flush(*standby, &sent_any).ok()) {
      std::lock_guard lock(mutex_);
      if (standby->sent >= want) break;
    }
  }
  std::unique_lock lock(mutex_);
  ack_cv_.wait(lock, [&] { return stopping_ || ackedLocked(want); });
  return !stopping_;
}

void ReplicationHub::acceptLoop() {
  while (true) {
    int raw = ::accept4(listen_fd_.get(), nullptr, nullptr, SOCK_CLOEXEC);
    {
      std::lock_guard lock(mutex_);
      if (stopping_) {
        if (raw >= 0) ::close(raw);
        return;
      }
    }
    if (raw < 0) {
      if (errno != EINTR && errno != ECONNABORTED) {
        LOG(WARNING) << "master: replication accept: " << net::errnoText(errno);
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
      }
      continue;
    }
    serve(net::UniqueFd(raw));
  }
}

void ReplicationHub::serve(net::UniqueFd fd) {
  if (options_.secret) {
    Status proved =
        auth::serverHandshake(fd.get(), options_.secret, replication::kAuthLabel, kHelloDeadline);
    if (!proved.ok()) {
      LOG(WARNING) << "master: replication connection refused: " << proved.message();
      return;
    }
  }
  net::setReceiveTimeout(fd.get(), kHelloDeadline);
  char magic[replication::kHelloMagic.size()];
  uint32_t id_length = 0;
  std::string id;
  Status hello = net::recvAll(fd.get(), magic, sizeof(magic));
  if (hello.ok() && std::string_view(magic, sizeof(magic)) != replication::kHelloMagic) {
    hello = Status::error(ErrorCode::ERR_INVALID_ARGUMENT, "not a standby master's hello");
  }
  if (hello.ok()) hello = net::recvAll(fd.get(), &id_length, sizeof(id_length));
  if (hello.ok() && (id_length == 0 || id_length > replication::kMaxHelloId)) {
    hello = Status::error(ErrorCode::ERR_INVALID_ARGUMENT, "bad standby id length");
  }
  if (hello.ok()) {
    id.resize(id_length);
    hello = net::recvAll(fd.get(), id.data(), id.size());
  }
  if (!hello.ok()) {
    LOG(WARNING) << "master: replication connection dropped: " << hello.message();
    return;
  }
  net::setNoDelay(fd.get());
  auto standby = std::make_shared<Standby>();
  standby->id = id;
  standby->fd = std::move(fd);
  {
    std::lock_guard lock(mutex_);
    if (stopping_) return;
    for (auto& other : standbys_) {
      if (other->id == id) other->dropping = true;  // its earlier connection
    }
    // From here on every record goes to the buffer; the dump covers everything before.
    standby->live_start = standby->sent = standby->acked = headLocked();
    standbys_.push_back(standby);
    recountLocked();
    standby->sender = std::thread([this, standby] { sendLoop(standby); });
    standby->reader = std::thread([this, standby] { readAcks(standby); });
  }
  LOG(INFO) << "master: standby " << id << " joined; sending it the state";
  manage_cv_.notify_one();
}

void ReplicationHub::sendLoop(const std::shared_ptr<Standby>& standby) {
  const int fd = standby->fd.get();
  const uint64_t term = static_cast<uint64_t>(options_.term);
  Status status = sendMessage(fd, replication::kTerm, &term, sizeof(term));
  if (status.ok()) {
    status = dump_([&](durable::SnapshotSink& sink) {
      Status sent = sendMessage(fd, replication::kDump, sink.buffer().data(), sink.buffer().size());
      sink.buffer().clear();
      return sent;
    });
  }
  if (status.ok()) {
    uint64_t positions[2] = {standby->live_start, 0};  // where live starts; the head by now
    {
      std::lock_guard lock(mutex_);
      positions[1] = headLocked();
    }
    status = sendMessage(fd, replication::kDumpEnd, positions, sizeof(positions));
  }
  if (status.ok()) {
    std::lock_guard lock(mutex_);
    standby->stage = Standby::Stage::kCatchingUp;
  }
  while (status.ok()) {
    bool timed_out = false;
    {
      std::unique_lock lock(mutex_);
      timed_out = !data_cv_.wait_for(lock, replication::kKeepaliveInterval, [&] {
        return stopping_ || standby->dropping || standby->closed || headLocked() > standby->sent;
      });
      if (stopping_ || standby->dropping || standby->closed) break;
    }
    std::lock_guard send_lock(standby->send_mutex);
    bool sent_any = false;
    status = flush(*standby, &sent_any);
    if (status.ok() && !sent_any && timed_out) {
      status = sendMessage(fd, replication::kKeepalive, nullptr, 0);
    }
  }
  if (!status.ok()) VLOG(1) << "master: replication to " << standby->id << ": " << status.message();
  {
    std::lock_guard lock(mutex_);
    standby->closed = true;
  }
  ::shutdown(fd, SHUT_RDWR);
  manage_cv_.notify_one();
}

void ReplicationHub::readAcks(const std::shared_ptr<Standby>& standby) {
  const int fd = standby->fd.get();
  net::setReceiveTimeout(fd, replication::kSilenceLimit);
  while (true) {
    uint64_t position = 0;
    if (!net::recvAll(fd, &position, sizeof(position)).ok()) break;
    std::lock_guard lock(mutex_);
    if (position > standby->acked && position <= headLocked()) standby->acked = position;
    ack_cv_.notify_all();
  }
  {
    std::lock_guard lock(mutex_);
    standby->closed = true;
  }
  data_cv_.notify_all();
  manage_cv_.notify_one();
}

void ReplicationHub::manage() {
  std::unique_lock lock(mutex_);
  while (!stopping_) {
    manage_cv_.wait_for(lock, std::chrono::milliseconds(50));
    if (stopping_) break;
    const auto now = Clock::now();
    const uint64_t head = headLocked();
    std::vector<std::string> desired;
    for (auto& standby : standbys_) {
      Standby& s = *standby;
      if (s.closed && !s.dropping) {
        LOG(WARNING) << "master: standby " << s.id << " disconnected";
        s.dropping = true;
      }
      if (!s.dropping && head - s.sent > options_.max_lag_bytes) {
        LOG(WARNING) << "master: standby " << s.id << " is " << (head - s.sent)
                     << " bytes behind: dropped (it rejoins with a fresh copy)";
        s.dropping = true;
      }
      if (!s.dropping && s.waited()) {
        if (s.acked >= head) {
          s.behind_since.reset();
        } else if (!s.behind_since) {
          s.behind_since = now;
        } else if (now - *s.behind_since > options_.ack_timeout) {
          LOG(WARNING) << "master: standby " << s.id << " has not acknowledged for "
                       << options_.ack_timeout.count()
                       << " ms: dropped (replies no longer wait for it)";
          s.dropping = true;
        }
      }
      const bool twin = std::any_of(standbys_.begin(), standbys_.end(), [&](const auto& other) {
        return other.get() != &s && other->id == s.id;
      });
      if (!s.dropping && !twin && s.stage == Standby::Stage::kCatchingUp &&
          s.acked >= s.live_start && head - s.acked <= kCatchUpSlack) {
        s.stage = Standby::Stage::kWaited;  // replies wait for it from now on
        s.mark = head;
      }
      if (!s.dropping && (s.stage == Standby::Stage::kInSync ||
                          (s.stage == Standby::Stage::kWaited && s.acked >= s.mark))) {
        desired.push_back(s.id);
      }
    }
    std::sort(desired.begin(), desired.end());
    if (desired != published_) {
      lock.unlock();
      Status recorded = options_.publish_in_sync(desired);
      lock.lock();
      if (!recorded.ok()) {
        LOG_EVERY_N(WARNING, 20) << "master: cannot record the in-sync standbys (replies wait): "
                                 << recorded.message();
        continue;
      }
      published_ = desired;
      for (auto& standby : standbys_) {
        if (standby->stage == Standby::Stage::kWaited &&
            std::binary_search(desired.begin(), desired.end(), standby->id)) {
          standby->stage = Standby::Stage::kInSync;
          LOG(INFO) << "master: standby " << standby->id << " is in sync";
        }
      }
    }
    std::vector<std::shared_ptr<Standby>> removed;
    for (auto it = standbys_.begin(); it != standbys_.end();) {
      Standby& s = **it;
      const bool named = s.stage == Standby::Stage::kInSync &&
                         std::binary_search(published_.begin(), published_.end(), s.id);
      if (s.dropping && !named) {
        ::shutdown(s.fd.get(), SHUT_RDWR);
        removed.push_back(*it);
        it = standbys_.erase(it);
      } else {
        ++it;
      }
    }
    recountLocked();
    in_sync_count_.store(std::count_if(standbys_.begin(), standbys_.end(), [](const auto& s) {
      return s->stage == Standby::Stage::kInSync;
    }));
    if (standbys_.empty()) {
      base_ += buffer_.size();
      buffer_.clear();
      buffer_.shrink_to_fit();
    } else {
      uint64_t lowest = head;
      for (const auto& standby : standbys_) lowest = std::min(lowest, standby->sent);
      // Cut in pieces of at least half the buffer, so the bytes moved stay proportional to
      // the bytes streamed even when a standby lags far behind.
      if (lowest - base_ >= std::max<uint64_t>(kTrimStep, buffer_.size() / 2)) {
        buffer_.erase(0, lowest - base_);
        base_ = lowest;
      }
    }
    if (!removed.empty()) {
      ack_cv_.notify_all();
      data_cv_.notify_all();
      lock.unlock();
      for (auto& standby : removed) {
        standby->sender.join();
        standby->reader.join();
      }
      lock.lock();
    }
  }
}

}  // namespace mooncake::store
