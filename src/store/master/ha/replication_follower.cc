#include "store/master/ha/replication_follower.h"

#include <sys/socket.h>

#include <chrono>
#include <cstring>

#include "common/auth/stream_auth.h"
#include "common/etcd/etcd_gateway.h"
#include "common/logging.h"
#include "common/net/socket.h"
#include "store/master/durable/metadata_log.h"
#include "store/master/ha/replica_set.h"
#include "store/master/ha/replication_wire.h"

namespace mooncake::store {
namespace {

// Tombstones are dropped after this many stream bytes once past the dump (see kDumpEnd):
// a compaction visits every entity, so it must stay rare next to the records it follows.
constexpr uint64_t kCompactEveryBytes = 256ull << 20;
// Frames cut across live messages wait here; more than a frame's worth is a damaged stream.
constexpr size_t kMaxPending = 80 << 20;

Status streamError(const std::string& what) {
  return Status::error(ErrorCode::ERR_INVALID_ARGUMENT, "replication stream: " + what);
}

}  // namespace

ReplicationFollower::ReplicationFollower(ReplicationFollowerOptions options)
    : options_(std::move(options)) {}

ReplicationFollower::~ReplicationFollower() { (void)stop(); }

void ReplicationFollower::start() {
  thread_ = std::thread([this] { run(); });
}

std::optional<LeaderReplica> ReplicationFollower::stop() {
  stopping_.store(true);
  {
    std::lock_guard lock(fd_mutex_);
    if (fd_ >= 0) ::shutdown(fd_, SHUT_RDWR);
  }
  if (thread_.joinable()) thread_.join();
  if (!replica_ || !whole_) return std::nullopt;
  replica_->state.compact();
  std::optional<LeaderReplica> out(std::move(*replica_));
  replica_.reset();
  whole_.store(false);
  return out;
}

void ReplicationFollower::run() {
  etcd::EtcdGateway gateway(options_.etcd_endpoints);
  std::string last_report;
  auto report = [&](const std::string& text) {
    if (text != last_report) LOG(INFO) << "master: standby: " << text;
    last_report = text;
  };
  while (!stopping_.load()) {
    auto kv = gateway.get(replicationKey(options_.cluster_id));
    std::optional<ReplicationEndpoint> endpoint;
    if (kv.ok() && *kv) endpoint = ReplicationEndpoint::decode((*kv)->value);
    if (endpoint) {
      Status ended = follow(endpoint->address);
      if (!stopping_.load()) report("following " + endpoint->address + ": " + ended.message());
    } else if (!kv.ok()) {
      report("cannot read " + replicationKey(options_.cluster_id) + ": " + kv.status().message());
    }
    for (int i = 0; i < 10 && !stopping_.load(); ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
  }
}

Status ReplicationFollower::follow(const std::string& address) {
  MC_ASSIGN_OR_RETURN(net::HostPort host_port, net::parseHostPort(address, 0));
  MC_ASSIGN_OR_RETURN(net::UniqueFd fd, net::connectTcp(host_port, std::chrono::seconds(1)));
  {
    // From here stop() can cut the connection short (a paused leader answers nothing).
    std::lock_guard lock(fd_mutex_);
    if (stopping_.load()) return Status::OK();
    fd_ = fd.get();
  }
  struct Unpublish {
    ReplicationFollower* self;
    ~Unpublish() {
      std::lock_guard lock(self->fd_mutex_);
      self->fd_ = -1;
    }
  } unpublish{this};
  if (options_.secret) {
    MC_RETURN_IF_ERROR(auth::clientHandshake(fd.get(), options_.secret, replication::kAuthLabel,
                                             address, replication::kSilenceLimit));
  }
  std::string hello(replication::kHelloMagic);
  const auto id_length = static_cast<uint32_t>(options_.self_address.size());
  hello.append(reinterpret_cast<const char*>(&id_length), sizeof(id_length));
  hello += options_.self_address;
  MC_RETURN_IF_ERROR(net::sendAll(fd.get(), hello.data(), hello.size()));
  net::setNoDelay(fd.get());
  net::setReceiveTimeout(fd.get(), replication::kSilenceLimit);

  auto ack = [&](uint64_t position) { return net::sendAll(fd.get(), &position, sizeof(position)); };
  std::string body;
  std::string pending;
  uint64_t applied = 0;    // the stream position everything before which is applied
  uint64_t dump_head = 0;  // past it, tombstones can go
  uint64_t since_compact = 0;
  bool in_term = false;
  while (true) {
    replication::Header header;
    MC_RETURN_IF_ERROR(net::recvAll(fd.get(), &header, sizeof(header)));
    if (header.length > replication::kMaxMessage) {
      return streamError("a message of " + std::to_string(header.length) + " bytes");
    }
    body.resize(header.length);
    if (header.length > 0) MC_RETURN_IF_ERROR(net::recvAll(fd.get(), body.data(), body.size()));
    if (header.kind != replication::kTerm && !in_term) return streamError("no term first");
    switch (header.kind) {
      case replication::kTerm: {
        uint64_t term = 0;
        if (body.size() != sizeof(term)) return streamError("bad term message");
        std::memcpy(&term, body.data(), sizeof(term));
        replica_ = std::make_unique<LeaderReplica>();
        replica_->term = static_cast<int64_t>(term);
        replica_->leader = address;
        whole_.store(false);
        in_term = true;
        term_.store(static_cast<int64_t>(term));
        LOG(INFO) << "master: standby: copying the leader's state (term " << term << ", stream at "
                  << address << ")";
        break;
      }
      case replication::kDump:
        if (whole_) return streamError("a dump after its end");
        if (durable::applyFrames(body, replica_->state) != body.size()) {
          return streamError("a damaged dump piece");
        }
        MC_RETURN_IF_ERROR(ack(0));  // (keeps the leader from taking us for gone)
        break;
      case replication::kDumpEnd: {
        uint64_t positions[2] = {0, 0};
        if (body.size() != sizeof(positions)) return streamError("bad dump end");
        std::memcpy(positions, body.data(), sizeof(positions));
        applied = positions[0];
        dump_head = positions[1];
        whole_.store(true);
        applied_records_.store(replica_->state.records);
        LOG(INFO) << "master: standby: have the leader's state (" << replica_->state.liveObjects()
                  << " objects); following its changes";
        MC_RETURN_IF_ERROR(ack(applied));
        break;
      }
      case replication::kLive: {
        if (!whole_) return streamError("live records before the dump's end");
        std::string_view data = body;
        if (!pending.empty()) {
          pending += body;
          data = pending;
        }
        size_t used = durable::applyFrames(data, replica_->state);
        applied += used;
        since_compact += used;
        std::string rest(data.substr(used));
        pending.swap(rest);
        if (pending.size() > kMaxPending) return streamError("a frame that never ends");
        if (applied >= dump_head && since_compact >= kCompactEveryBytes) {
          replica_->state.compact();
          since_compact = 0;
        }
        applied_records_.store(replica_->state.records);
        MC_RETURN_IF_ERROR(ack(applied));
        break;
      }
      case replication::kKeepalive:
        MC_RETURN_IF_ERROR(ack(applied));
        break;
      default:
        return streamError("unknown message kind " + std::to_string(header.kind));
    }
  }
}

}  // namespace mooncake::store
