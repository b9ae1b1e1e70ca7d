#include "transfer_engine/transport/tcp/tcp_transport.h"

#include "common/logging.h"

namespace mooncake::te {

TcpTransport::TcpTransport(const TransferEngineOptions& options, std::string bind_host,
                           const BufferRegistry& registry, SliceCompletion& sink,
                           auth::SecretRef secret)
    : options_(options),
      bind_host_(std::move(bind_host)),
      secret_(secret),
      sink_(sink),
      server_(registry, std::move(secret)) {}

Status TcpTransport::start(SegmentDescriptor& local_descriptor) {
  MC_ASSIGN_OR_RETURN(
      net::UniqueFd listen_fd,
      net::listenTcpInRange(bind_host_, static_cast<uint16_t>(options_.min_rpc_port),
                            static_cast<uint16_t>(options_.max_rpc_port),
                            static_cast<int>(options_.handshake_listen_backlog)));
  MC_ASSIGN_OR_RETURN(uint16_t port, net::boundPort(listen_fd.get()));
  server_.start(std::move(listen_fd));
  local_descriptor.tcp_data_port = port;
  local_descriptor.tcp_proto_version = tcp::kPaddedProtoVersion;
  LOG(INFO) << "tcp: data port listening on " << bind_host_ << ":" << port;
  return Status::OK();
}

void TcpTransport::stop() {
  server_.stop();
  {
    std::lock_guard lock(pools_mutex_);
    stopped_ = true;
  }
  // Destroying the lanes fails what they hold; the engine does not retry once stopping. The
  // pools themselves stay until destruction: a slice may still name its pool (drive()).
  std::vector<std::unique_ptr<TcpConnection>> lanes;
  {
    std::lock_guard lock(pools_mutex_);
    for (auto& [name, pool] : pools_) {
      std::lock_guard pool_lock(pool->mutex);
      for (auto& lane : pool->lanes) lanes.push_back(std::move(lane));
      for (auto& lane : pool->retiring) lanes.push_back(std::move(lane));
      pool->lanes.clear();
      pool->retiring.clear();
    }
  }
  lanes.clear();
}

bool TcpTransport::drive(Slice* slice, std::chrono::steady_clock::time_point until,
                         const std::function<bool()>& done) {
  auto* pool = static_cast<PeerPool*>(slice->carrier_group.load());
  if (pool == nullptr) return false;
  TcpConnection* lane = nullptr;
  {
    // Lanes are destroyed under this lock, and only once drained; a lane still named by a
    // slice it has not completed is not drained, and the pin keeps it so.
    std::lock_guard lock(pool->mutex);
    lane = static_cast<TcpConnection*>(slice->carrier.load());
    if (lane == nullptr) return false;
    lane->pin();
  }
  bool drove = lane->drive(until, done);
  lane->unpin();
  return drove;
}

void TcpTransport::abandon(Slice* slice) {
  auto* pool = static_cast<PeerPool*>(slice->carrier_group.load());
  if (pool == nullptr) return;
  TcpConnection* lane = nullptr;
  {
    std::lock_guard lock(pool->mutex);  // as drive(): the pin keeps the lane alive
    lane = static_cast<TcpConnection*>(slice->carrier.load());
    if (lane == nullptr) return;
    lane->pin();
  }
  lane->abort(Status::error(ErrorCode::ERR_SOCKET, "the caller's transfer deadline passed"));
  lane->unpin();
}

TcpTransport::PeerPool* TcpTransport::poolFor(const net::HostPort& peer) {
  std::lock_guard lock(pools_mutex_);
  if (stopped_) return nullptr;
  auto& pool = pools_[peer.toString()];
  if (!pool) pool = std::make_unique<PeerPool>();
  return pool.get();
}

TcpConnection* TcpTransport::laneFor(PeerPool* pool, const net::HostPort& peer, bool padded) {
  for (auto it = pool->retiring.begin(); it != pool->retiring.end();) {
    it = (*it)->drained() ? pool->retiring.erase(it) : it + 1;
  }
  auto lane_count = static_cast<size_t>(options_.tcp_lanes_per_peer);
  size_t index = pool->next_lane++ % lane_count;
  if (pool->lanes.size() < lane_count) {
    index = pool->lanes.size();
    pool->lanes.push_back(nullptr);
  } else {
    // An idle lane first: a waiter then reads its own reply instead of queueing behind
    // another thread's (which would hand the reading to the receiver thread).
    for (size_t i = 0; i < lane_count; ++i) {
      size_t candidate = (index + i) % lane_count;
      if (pool->lanes[candidate] && pool->lanes[candidate]->idle()) {
        index = candidate;
        break;
      }
    }
  }
  auto& lane = pool->lanes[index];
  if (!lane || lane->dead()) {
    const auto now = std::chrono::steady_clock::now();
    if (lane && lane->peerDown()) pool->down_until = now + kDownMemory;
    if (lane) pool->retiring.push_back(std::move(lane));
    if (now < pool->down_until) return nullptr;
    TcpConnection::Settings settings;
    settings.connect_timeout = std::chrono::seconds(options_.handshake_connect_timeout_sec);
    settings.stall_timeout = std::chrono::seconds(options_.tcp_status_timeout_sec);
    settings.secret = secret_;
    settings.padded = padded;
    lane = std::make_unique<TcpConnection>(peer, settings, sink_);
  }
  return lane.get();
}

void TcpTransport::submit(const RemoteSegment& target, Slice* const* slices, size_t count) {
  net::HostPort peer{target.host, target.descriptor.tcp_data_port};
  PeerPool* pool = poolFor(peer);
  if (pool == nullptr || target.descriptor.tcp_data_port == 0) {
    Status status = Status::error(
        ErrorCode::ERR_SOCKET,
        pool == nullptr ? "tcp: transport stopped"
                        : "tcp: segment " + target.descriptor.name + " publishes no tcp_data_port");
    for (size_t i = 0; i < count; ++i) sink_.onSliceDone(slices[i], status);
    return;
  }
  // Spread slices in runs of a few so one request's slices use every lane without paying a
  // queue hand-off per slice. A small submit goes on one lane whole: the waiting thread then
  // reads every reply itself, where a second lane's replies would come through its receiver
  // thread and a wake-up (16 x 4 KiB reads from Python: +15% on one lane).
  uint64_t bytes = 0;
  for (size_t i = 0; i < count; ++i) bytes += slices[i]->length;
  const bool padded = options_.tcp_proto >= tcp::kPaddedProtoVersion &&
                      target.descriptor.tcp_proto_version >= tcp::kPaddedProtoVersion;
  std::unique_lock lock(pool->mutex);
  const size_t run =
      bytes < kSpreadBytes
          ? count
          : std::max<size_t>(1, count / static_cast<size_t>(options_.tcp_lanes_per_peer));
  for (size_t begin = 0; begin < count;) {
    size_t n = std::min(run, count - begin);
    TcpConnection* lane = laneFor(pool, peer, padded);
    if (lane == nullptr) {
      // The peer is down: fail the rest here, without a connection (the engine's retries come
      // straight back, so the whole budget costs microseconds).
      lock.unlock();
      Status down = Status::error(
          ErrorCode::ERR_SOCKET,
          "tcp: " + peer.toString() + " refused or did not answer a connection less than " +
              std::to_string(kDownMemory.count()) + " s ago; not trying again before then");
      for (size_t i = begin; i < count; ++i) sink_.onSliceDone(slices[i], down);
      return;
    }
    for (size_t i = begin; i < begin + n; ++i) {
      slices[i]->carrier_group.store(pool);
      slices[i]->carrier.store(lane);
    }
    if (!lane->push(slices + begin, n)) continue;  // died just now; laneFor replaces it
    begin += n;
  }
}

}  // namespace mooncake::te
