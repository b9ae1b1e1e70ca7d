// Lifecycle, local segment, metadata and handshake parts of TransferEngineImpl; the batch and
// slice paths are in transfer_engine_batches.cc.
#include "transfer_engine/engine/transfer_engine_impl.h"

#include <arpa/inet.h>

#include <mutex>
#include <nlohmann/json.hpp>
#include <set>

#include "common/logging.h"
#include "transfer_engine/engine/advertised_host.h"
#include "transfer_engine/engine/startup_checks.h"
#include "transfer_engine/handshake/handshake_client.h"
#include "transfer_engine/transport/tcp/tcp_transport.h"

namespace mooncake::te {

TransferEngineImpl::TransferEngineImpl(const TransferEngineOptions& options) : options_(options) {}

TransferEngineImpl::~TransferEngineImpl() { (void)shutdown(); }

namespace {

constexpr size_t kMaxQueuedNotifies = 65536;

}  // namespace

Result<std::string> TransferEngineImpl::resolveAdvertisedHost(const std::string& name_host,
                                                              const std::string& ip_or_host_name,
                                                              bool peer_to_peer) {
  AdvertisedHost chosen =
      chooseAdvertisedHost(options_.tcp_bind_address, ip_or_host_name, name_host, peer_to_peer);
  std::string host = chosen.host;
  if (host != name_host && chosen.origin.rfind("the first non-loopback", 0) == 0) {
    LOG(INFO) << "transfer_engine: advertising " << host
              << " (the host's first non-loopback address; set MC_TCP_BIND_ADDRESS to choose)";
  }
  Status resolvable = net::checkResolvable(host);
  if (!resolvable.ok()) {
    return resolvable.withContext("connectable_name '" + host +
                                  "' does not resolve; pass an IP address or a resolvable name "
                                  "(local_server_name, ip_or_host_name or MC_TCP_BIND_ADDRESS)");
  }
  if (net::isLoopbackHost(host)) {
    LOG(WARNING) << "transfer_engine: connectable_name '" << host
                 << "' is a loopback address: only processes on this machine can reach this "
                    "node (set MC_TCP_BIND_ADDRESS or a routable local_server_name for a "
                    "cluster)";
  }
  return host;
}

namespace {

// The cheap checks mooncake_doctor also runs (startup_checks.h), logged with their fixes; each
// message once per process (a process may start several engines).
void logStartupFindings(const std::string& metadata_conn_string, const std::string& name) {
  NodeConfig node;
  node.metadata_server = metadata_conn_string;
  node.local_server_name = name;
  static std::mutex mutex;
  static std::set<std::string> logged;
  for (const Finding& finding : startupChecks(node)) {
    if (finding.verdict == Verdict::kPass) continue;
    std::lock_guard lock(mutex);
    if (!logged.insert(finding.message).second) continue;
    LOG(WARNING) << "transfer_engine: " << (finding.verdict == Verdict::kFail ? "FAIL " : "WARN ")
                 << finding.check << ": " << finding.message
                 << " (mooncake_doctor checks this too)";
  }
}

}  // namespace

Status TransferEngineImpl::init(const std::string& metadata_conn_string,
                                const std::string& local_server_name,
                                const std::string& ip_or_host_name) {
  if (initialized_) {
    return Status::error(ErrorCode::ERR_INVALID_ARGUMENT, "engine already initialized");
  }
  std::string name_text = local_server_name.empty() ? net::localHostName() : local_server_name;
  MC_ASSIGN_OR_RETURN(MetadataConnection connection, parseMetadataConnection(metadata_conn_string));
  const bool peer_to_peer = connection.backend == MetadataBackend::kP2PHandshake;
  // P2P: the name is host[:port] and the port is bound. With a metadata service it is any
  // string; "host:port" only tells where to listen under MC_LEGACY_RPC_PORT_BINDING.
  auto parsed = net::parseHostPort(name_text, 0);
  if (peer_to_peer && !parsed.ok()) return parsed.status();
  net::HostPort name = parsed.ok() ? *parsed : net::HostPort{"", 0};
  if (!peer_to_peer && !options_.legacy_rpc_port_binding) name.port = 0;
  MC_ASSIGN_OR_RETURN(advertised_host_,
                      resolveAdvertisedHost(name.host, ip_or_host_name, peer_to_peer));
  MC_ASSIGN_OR_RETURN(secret_, auth::resolveSecret(options_.auth_secret));
  MC_ASSIGN_OR_RETURN(std::unique_ptr<MetadataStore> store,
                      createMetadataStore(connection, options_, secret_));
  metadata_ = std::make_unique<TransferMetadata>(std::move(store), options_, secret_);

  // A loopback-only node listens on loopback only; anything else listens on every interface.
  std::string bind_host = net::isLoopbackHost(advertised_host_) ? advertised_host_ : "0.0.0.0";
  const int backlog = static_cast<int>(options_.handshake_listen_backlog);
  auto listen_fd = name.port != 0 ? net::listenTcp(bind_host, name.port, backlog)
                                  : net::listenTcpInRange(
                                        bind_host, static_cast<uint16_t>(options_.min_rpc_port),
                                        static_cast<uint16_t>(options_.max_rpc_port), backlog);
  if (!listen_fd.ok()) return listen_fd.status().withContext("rpc port");
  MC_ASSIGN_OR_RETURN(rpc_port_, net::boundPort(listen_fd->get()));
  segment_name_ =
      metadata_->peerToPeer() ? net::HostPort{advertised_host_, rpc_port_}.toString() : name_text;

  transport_ = std::make_unique<TcpTransport>(options_, bind_host, registry_, *this, secret_);
  SegmentDescriptor descriptor;
  MC_RETURN_IF_ERROR(transport_->start(descriptor));
  tcp_data_port_ = descriptor.tcp_data_port;
  tcp_proto_version_ = descriptor.tcp_proto_version;
  slice_size_ = transport_->sliceSize();
  if (options_.same_host_direct) {
    direct_ = std::make_unique<DirectTransport>(*this, *transport_, segment_name_);
    MC_RETURN_IF_ERROR(direct_->start(direct_offer_));
    BufferRegistry::RemoteListener listener;
    DirectTransport* direct = direct_.get();
    listener.reset = [direct](const std::vector<RegisteredBuffer>& remote) {
      std::vector<LiveRange> ranges;
      ranges.reserve(remote.size());
      for (const RegisteredBuffer& buffer : remote) ranges.push_back({buffer.addr, buffer.length});
      direct->publishRanges(ranges);
    };
    listener.added = [direct](const RegisteredBuffer& b) { direct->addRange({b.addr, b.length}); };
    listener.removed = [direct](const RegisteredBuffer& b) { direct->removeRange(b.addr); };
    registry_.setRemoteListener(std::move(listener));
  }

  handshake_ = std::make_unique<HandshakeServer>(
      options_.handshake_max_length,
      [this](FrameType type, const std::string& json) { return handleHandshake(type, json); },
      secret_);
  MC_RETURN_IF_ERROR(handshake_->start(std::move(listen_fd).value()));

  MC_RETURN_IF_ERROR(checkNameNotInUse());  // on failure the destructor stops what started
  MC_RETURN_IF_ERROR(republish());
  initialized_ = true;
  if (bind_host == "0.0.0.0" && !secret_) {
    // Nothing authenticates these ports: say so once per process.
    static std::once_flag warned;
    std::call_once(warned, [&] {
      LOG(WARNING) << "transfer_engine: rpc port " << rpc_port_ << " and data port "
                   << tcp_data_port_
                   << " listen on every interface without authentication: any process that "
                      "reaches them can read and write this node's registered memory; set a "
                      "cluster secret (MC_AUTH_SECRET), advertise a loopback or trusted address "
                      "(MC_TCP_BIND_ADDRESS) or firewall them";
    });
  }
  logStartupFindings(metadata_conn_string, name_text);
  LOG(INFO) << "transfer_engine: segment '" << segment_name_ << "' ready, rpc " << advertised_host_
            << ":" << rpc_port_ << ", tcp data port " << tcp_data_port_ << ", metadata "
            << metadata_->describe();
  return Status::OK();
}

// Two live processes publishing one segment name overwrite each other's records, and peers'
// transfers then reach the wrong process: refuse to start instead. A record left by a process
// that is gone (its rpc port does not answer) is taken over.
Status TransferEngineImpl::checkNameNotInUse() {
  if (metadata_->peerToPeer()) return Status::OK();  // the name is host:port, unique already
  auto existing = metadata_->rpcAddressOf(segment_name_);
  if (!existing.ok()) return Status::OK();  // no record (an unreadable store shows up next)
  if (existing->host == advertised_host_ && existing->port == rpc_port_) return Status::OK();
  if (!probePeer(*existing).ok()) {
    LOG(INFO) << "transfer_engine: taking over segment name '" << segment_name_ << "' from "
              << existing->toString() << ", which does not answer";
    return Status::OK();
  }
  return Status::error(ErrorCode::ERR_INVALID_ARGUMENT,
                       "segment name '" + segment_name_ + "' is already used by a live node at " +
                           existing->toString() + " (" + metadata_->describe() +
                           "); give every process its own local_server_name, e.g. host:port");
}

Status TransferEngineImpl::shutdown() {
  if (stopping_.exchange(true)) return Status::OK();
  if (metadata_ && initialized_) metadata_->unpublish(segment_name_);
  if (handshake_) handshake_->stop();
  if (transport_) transport_->stop();
  if (direct_) direct_->stop();
  metadata_.reset();
  return Status::OK();
}

SegmentDescriptor TransferEngineImpl::localDescriptor() const {
  SegmentDescriptor descriptor;
  descriptor.name = segment_name_;
  descriptor.protocol = "tcp";
  descriptor.tcp_data_port = tcp_data_port_;
  descriptor.tcp_proto_version = tcp_proto_version_;
  descriptor.host_instance = direct_offer_.host_instance;
  descriptor.pid = direct_offer_.pid;
  descriptor.pid_start = direct_offer_.pid_start;
  descriptor.direct_socket = direct_offer_.direct_socket;
  descriptor.timestamp = descriptorTimestamp();
  for (const RegisteredBuffer& buffer : registry_.list(/*remote_only=*/true)) {
    descriptor.buffers.push_back({buffer.location, buffer.addr, buffer.length});
  }
  return descriptor;
}

Status TransferEngineImpl::republish() {
  MC_RETURN_IF_ERROR(
      metadata_->publishRpcMeta(segment_name_, RpcMeta{advertised_host_, rpc_port_}));
  return publishLocalSegment();
}

Status TransferEngineImpl::publishLocalSegment() {
  if (metadata_->peerToPeer()) {
    // Peers fetch the descriptor through the rpc port: if it cannot be taken, say why here. An
    // estimate (a buffer entry is at most ~72 bytes of JSON), so registering stays O(1).
    const size_t buffers = registry_.remoteCount();
    const size_t bytes = 256 + 72 * buffers;
    if (bytes > options_.handshake_max_length) {
      LOG_EVERY_N(WARNING, 1000) << "transfer_engine: the descriptor of segment '" << segment_name_
                                 << "' (" << buffers << " buffers) may reach " << bytes
                                 << " bytes, over MC_HANDSHAKE_MAX_LENGTH ("
                                 << options_.handshake_max_length
                                 << "): peers may not fetch it; raise MC_HANDSHAKE_MAX_LENGTH "
                                    "on every node or register fewer, larger buffers";
    }
    return Status::OK();
  }
  return metadata_->publishSegment(localDescriptor());
}

Result<std::string> TransferEngineImpl::handleHandshake(FrameType type, const std::string& json) {
  switch (type) {
    case FrameType::kMetadata:
      return encodeSegmentDescriptor(localDescriptor());
    case FrameType::kProbe:
      return std::string(R"({"status":"success"})");
    case FrameType::kNotify: {
      auto parsed = nlohmann::json::parse(json, nullptr, false);
      if (!parsed.is_object() || !parsed.value("name", nlohmann::json()).is_string() ||
          !parsed.value("notify_msg", nlohmann::json()).is_string()) {
        return Status::error(ErrorCode::ERR_MALFORMED_JSON,
                             "notify: expected {\"name\": string, \"notify_msg\": string}");
      }
      std::lock_guard lock(notify_mutex_);
      if (notifies_.size() >= kMaxQueuedNotifies) {
        notifies_.pop_front();
        LOG_EVERY_N(WARNING, 1000) << "transfer_engine: " << kMaxQueuedNotifies
                                   << " notifies wait unread (get_notifies); dropping the oldest";
      }
      notifies_.push_back(
          {parsed["name"].get<std::string>(), parsed["notify_msg"].get<std::string>()});
      return std::string(R"({"name":"","notify_msg":"success"})");
    }
    case FrameType::kConnection:
      break;
  }
  (void)json;
  return Status::error(ErrorCode::ERR_REJECT_HANDSHAKE,
                       "this node runs no transport that needs a connection handshake");
}

Status TransferEngineImpl::registerBuffers(const std::vector<RegisteredBuffer>& buffers,
                                           bool update_metadata) {
  MC_RETURN_IF_ERROR(registry_.addAll(buffers));
  bool published = std::any_of(buffers.begin(), buffers.end(),
                               [](const RegisteredBuffer& b) { return b.remote_accessible; });
  if (!update_metadata || !published || !initialized_) return Status::OK();
  Status status = publishLocalSegment();
  if (!status.ok()) {
    for (const RegisteredBuffer& buffer : buffers) (void)registry_.remove(buffer.addr);
    return status.withContext("registered memory could not be published (rolled back)");
  }
  return Status::OK();
}

Status TransferEngineImpl::unregisterBuffers(const std::vector<void*>& addresses,
                                             bool update_metadata) {
  Status first_error;
  for (void* addr : addresses) {
    auto removed = registry_.remove(reinterpret_cast<uintptr_t>(addr));
    if (!removed.ok() && first_error.ok()) first_error = removed.status();
  }
  if (update_metadata && initialized_) {
    Status status = publishLocalSegment();
    if (!status.ok() && first_error.ok()) first_error = status;
  }
  return first_error;
}

Result<SegmentHandle> TransferEngineImpl::openSegment(const std::string& segment_name) {
  size_t start = segment_name.find_first_not_of('/');
  std::string name = start == std::string::npos ? "" : segment_name.substr(start);
  if (name.empty()) {
    return Status::error(ErrorCode::ERR_INVALID_ARGUMENT, "openSegment: empty segment name");
  }
  if (name == segment_name_) return LOCAL_SEGMENT_ID;
  if (!options_.disable_metacache) {
    if (auto id = segments_.find(name)) return *id;
  }
  MC_ASSIGN_OR_RETURN(RemoteSegment segment,
                      metadata_->fetchSegment(name, encodeSegmentDescriptor(localDescriptor())));
  VLOG(1) << "transfer_engine: opened segment " << name << " with "
          << segment.descriptor.buffers.size() << " buffers at " << segment.host;
  // A same-host peer hands over its live range table now, while it answers anyway.
  if (direct_) (void)direct_->reaches(segment.descriptor);
  return segments_.put(name, std::make_shared<const RemoteSegment>(std::move(segment)));
}

Status TransferEngineImpl::syncSegmentCache(const std::string& segment_name) {
  std::vector<std::string> names =
      segment_name.empty() ? segments_.names() : std::vector<std::string>{segment_name};
  std::string own = encodeSegmentDescriptor(localDescriptor());
  for (const std::string& name : names) {
    MC_ASSIGN_OR_RETURN(RemoteSegment segment, metadata_->fetchSegment(name, own));
    segments_.put(name, std::make_shared<const RemoteSegment>(std::move(segment)));
  }
  return Status::OK();
}

Result<std::vector<BufferEntry>> TransferEngineImpl::segmentBuffers(SegmentHandle handle) const {
  std::vector<BufferEntry> out;
  if (handle == LOCAL_SEGMENT_ID) {
    for (const RegisteredBuffer& buffer : registry_.list(/*remote_only=*/true)) {
      out.push_back({reinterpret_cast<void*>(buffer.addr), buffer.length});
    }
    return out;
  }
  SegmentCache::Entry entry = segments_.get(handle);
  if (!entry) {
    return Status::error(ErrorCode::ERR_INVALID_ARGUMENT,
                         "unknown segment id " + std::to_string(handle) + " (use openSegment)");
  }
  for (const BufferDescriptor& buffer : entry->descriptor.buffers) {
    out.push_back({reinterpret_cast<void*>(buffer.addr), buffer.length});
  }
  return out;
}

Result<net::HostPort> TransferEngineImpl::rpcAddressOf(SegmentHandle handle) {
  if (handle == LOCAL_SEGMENT_ID) return net::HostPort{advertised_host_, rpc_port_};
  SegmentCache::Entry entry = segments_.get(handle);
  if (!entry) {
    return Status::error(ErrorCode::ERR_INVALID_ARGUMENT,
                         "unknown segment id " + std::to_string(handle) + " (use openSegment)");
  }
  return net::HostPort{entry->host, entry->rpc_port};
}

Result<net::HostPort> TransferEngineImpl::rpcAddressOf(const std::string& segment_name) {
  return metadata_->rpcAddressOf(segment_name);
}

Status TransferEngineImpl::sendNotify(const std::string& segment_name,
                                      const TransferNotify& notify) {
  MC_ASSIGN_OR_RETURN(net::HostPort address, rpcAddressOf(segment_name));
  nlohmann::json body = {{"name", notify.name}, {"notify_msg", notify.message}};
  return handshakeCall(address, FrameType::kNotify, body.dump(),
                       std::chrono::seconds(options_.handshake_connect_timeout_sec),
                       options_.handshake_max_length, secret_)
      .status();
}

std::vector<TransferNotify> TransferEngineImpl::takeNotifies() {
  std::lock_guard lock(notify_mutex_);
  std::vector<TransferNotify> out(std::make_move_iterator(notifies_.begin()),
                                  std::make_move_iterator(notifies_.end()));
  notifies_.clear();
  return out;
}

Status TransferEngineImpl::probePeer(const net::HostPort& rpc_address) {
  MC_ASSIGN_OR_RETURN(std::string reply,
                      handshakeCall(rpc_address, FrameType::kProbe, "{}",
                                    std::chrono::seconds(options_.handshake_connect_timeout_sec),
                                    options_.handshake_max_length, secret_));
  auto parsed = nlohmann::json::parse(reply, nullptr, false);
  // The peer is not trusted: a reply of any shape is an error, never an exception.
  auto status = parsed.is_object() ? parsed.find("status") : parsed.end();
  if (status == parsed.end() || !status->is_string() || status->get<std::string>() != "success") {
    return Status::error(ErrorCode::ERR_MALFORMED_JSON,
                         "probe of " + rpc_address.toString() + " got an unexpected reply");
  }
  return Status::OK();
}

}  // namespace mooncake::te
