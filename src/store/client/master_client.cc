#include "store/client/master_client.h"

#include <grpcpp/grpcpp.h>

#include <fstream>
#include <sstream>

#include "common/config/env.h"
#include "common/config/parse.h"
#include "common/logging.h"
#include "master.grpc.pb.h"
#include "mooncake/store/ha_master.h"
#include "store/client/fast_rpc_channel.h"
#include "store/master/ha/leader_election.h"
#include "store/proto/fast_rpc_frame.h"

namespace mooncake::store {

// One master method: its fast RPC number and its gRPC stub member.
template <typename StubMethod>
struct Rpc {
  fast_rpc::MethodId id;
  StubMethod stub_method;
};
#define MC_RPC(Name) (Rpc{fast_rpc::MethodId::k##Name, &proto::Master::Stub::Name})

namespace {

// After the fast RPC listener could not be found or reached, gRPC carries the calls for this
// long before the client looks again.
constexpr std::chrono::seconds kFastRpcRetryInterval{5};
// After the listener or the lookup failed (a master restarting): look again this soon.
constexpr std::chrono::milliseconds kFastRpcRecheckInterval{250};

bool fastRpcWanted() {
  auto text = config::readEnv("MC_STORE_MASTER_FAST_RPC");
  if (!text) return true;
  auto wanted = config::parseBool(*text);
  if (!wanted.ok()) {
    LOG(WARNING) << "MC_STORE_MASTER_FAST_RPC=" << *text << ": " << wanted.status().message()
                 << "; using the fast RPC listener";
    return true;
  }
  return *wanted;
}

Status fromError(const proto::Error& error) {
  if (error.code() == 0) return Status::OK();
  return Status::storeError(static_cast<StoreErrorCode>(error.code()), error.message());
}

void toProto(const SegmentInfo& info, proto::Segment* out) {
  out->set_name(info.name);
  out->set_base(info.base);
  out->set_size(info.size);
  out->set_te_endpoint(info.te_endpoint);
}

void toProto(const ReplicateConfig& config, proto::ReplicateConfig* c) {
  c->set_replica_num(config.replica_num);
  c->set_with_soft_pin(config.with_soft_pin);
  if (config.soft_pin_ttl_ms) c->set_soft_pin_ttl_ms(*config.soft_pin_ttl_ms);
  c->set_with_hard_pin(config.with_hard_pin);
  for (const auto& name : config.preferred_segments) c->add_preferred_segments(name);
  c->set_prefer_alloc_in_same_node(config.prefer_alloc_in_same_node);
}

std::vector<ReplicaDescriptor> fromProto(
    const google::protobuf::RepeatedPtrField<proto::Replica>& replicas) {
  std::vector<ReplicaDescriptor> out;
  for (const auto& r : replicas) {
    out.push_back({r.te_endpoint(), r.address(), r.size(), r.disk_endpoint()});
  }
  return out;
}

}  // namespace

class MasterClient::Stub {
 public:
  // `tls_roots`: PEM certificates to trust; empty: plain gRPC.
  Stub(const std::string& address, const std::string& tls_roots) {
    // Its own connection: gRPC otherwise shares one subchannel between every channel to the
    // same address in the process, so several clients in one process would queue on one socket.
    grpc::ChannelArguments args;
    args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
    // gRPC's own retries would re-send calls the store revokes or retries itself.
    args.SetInt(GRPC_ARG_ENABLE_RETRIES, 0);
    // A restarted master (durable metadata brings it back in well under a second) is reached
    // again within ~100-500 ms, not after gRPC's default 1 s-and-growing reconnect backoff.
    args.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS, 100);
    args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, 500);
    std::shared_ptr<grpc::ChannelCredentials> credentials = grpc::InsecureChannelCredentials();
    if (!tls_roots.empty()) {
      grpc::SslCredentialsOptions tls;
      tls.pem_root_certs = tls_roots;
      credentials = grpc::SslCredentials(tls);
    }
    stub = proto::Master::NewStub(grpc::CreateCustomChannel(address, credentials, args));
  }
  std::unique_ptr<proto::Master::Stub> stub;
};

MasterClient::MasterClient(const std::string& address, std::chrono::milliseconds timeout,
                           auth::SecretRef secret)
    : address_(address),
      timeout_(timeout),
      secret_(secret),
      credential_(std::move(secret), std::string(kGrpcAuthLabel)),
      fast_rpc_wanted_(fastRpcWanted()) {
  // MC_TLS_CA_FILE: the master's gRPC port speaks TLS; trust these certificates.
  if (auto path = config::readEnv("MC_TLS_CA_FILE"); path && !path->empty()) {
    std::ifstream in(*path, std::ios::binary);
    std::ostringstream content;
    if (in) content << in.rdbuf();
    tls_roots_ = content.str();
    if (!in || tls_roots_.find("-----BEGIN") == std::string::npos) {
      tls_error_ = Status::storeError(StoreErrorCode::INVALID_PARAMS,
                                      "MC_TLS_CA_FILE=" + *path + ": cannot read a PEM file there");
      tls_roots_.clear();
    }
  }
  constexpr std::string_view kHaScheme = "etcd://";
  if (address.rfind(kHaScheme, 0) == 0) {
    etcd_ =
        std::make_unique<etcd::EtcdGateway>(etcd::splitEndpoints(address.substr(kHaScheme.size())));
    cluster_id_ = defaultClusterId();
    return;  // the first call looks the leader up
  }
  leader_address_ = address;
  stub_ = std::make_shared<Stub>(address, tls_roots_);
}

MasterClient::~MasterClient() = default;

Status MasterClient::refreshLeader(const std::string& failed_address) {
  auto view = readMasterView(*etcd_, cluster_id_);
  if (!view.ok()) {
    return Status::storeError(StoreErrorCode::RPC_FAIL,
                              "master " + address_ + ": " + view.status().message());
  }
  std::lock_guard lock(mutex_);
  if (view->leader_address != leader_address_ || view->leader_address == failed_address) {
    if (view->leader_address != leader_address_) {
      LOG(INFO) << "store client: master leader is " << view->leader_address << " (view "
                << view->version << ")";
    }
    leader_address_ = view->leader_address;
    epoch_.fetch_add(1, std::memory_order_acq_rel);
    stub_ = std::make_shared<Stub>(leader_address_, tls_roots_);
    fast_.reset();
    next_fast_lookup_ = {};
  }
  return Status::OK();
}

std::shared_ptr<FastRpcChannel> MasterClient::fastChannel() {
  if (!fast_rpc_wanted_) return nullptr;
  std::string leader;
  {
    std::lock_guard lock(mutex_);
    if (fast_) return fast_;
    auto now = std::chrono::steady_clock::now();
    if (leader_address_.empty() || now < next_fast_lookup_) return nullptr;
    next_fast_lookup_ = now + kFastRpcRetryInterval;
    leader = leader_address_;
  }
  proto::FastRpcPortResponse answer;
  if (!callGrpc(&proto::Master::Stub::GetFastRpcPort, proto::Empty(), &answer).ok()) {
    std::lock_guard lock(mutex_);
    next_fast_lookup_ = std::chrono::steady_clock::now() + kFastRpcRecheckInterval;
    return nullptr;  // no master right now
  }
  if (answer.port() == 0) return nullptr;  // an older master, or --enable_fast_rpc=false
  auto host = net::parseHostPort(leader, 0);
  if (!host.ok()) return nullptr;
  auto channel = std::make_shared<FastRpcChannel>(
      net::HostPort{host->host, static_cast<uint16_t>(answer.port())}, timeout_, secret_);
  std::lock_guard lock(mutex_);
  if (leader_address_ != leader) return nullptr;  // the leader moved meanwhile
  fast_ = channel;
  return fast_;
}

// The fast RPC listener when there is one; gRPC when there is none or it cannot be reached
// (nothing was sent then, so the call cannot run twice).
template <typename StubMethod, typename Request, typename Response>
Status MasterClient::call(const Rpc<StubMethod>& rpc, const Request& request, Response* response) {
  Status status = callOnce(rpc, request, response);
  if (status.is(StoreErrorCode::RPC_FAIL) || status.is(StoreErrorCode::RPC_TIMEOUT)) {
    epoch_.fetch_add(1, std::memory_order_acq_rel);  // the master may be another one next time
  }
  return status;
}

template <typename StubMethod, typename Request, typename Response>
Status MasterClient::callOnce(const Rpc<StubMethod>& rpc, const Request& request,
                              Response* response) {
  if (auto channel = fastChannel()) {
    bool delivered = false;
    Status status = channel->call(static_cast<uint32_t>(rpc.id), request, response, &delivered);
    if (status.ok() || delivered) return status;
    LOG_EVERY_N(WARNING, 20) << status.message() << "; using gRPC until it is back";
    std::lock_guard lock(mutex_);
    if (fast_ == channel) fast_.reset();
    next_fast_lookup_ = std::chrono::steady_clock::now() + kFastRpcRecheckInterval;
  }
  return callGrpc(rpc.stub_method, request, response);
}

// Runs one unary gRPC call with the deadline and maps transport failures. With HA, a master
// that cannot be reached (UNAVAILABLE: nothing was delivered, so a retry cannot apply twice)
// sends the call to the current leader once more.
template <typename Method, typename Request, typename Response>
Status MasterClient::callGrpc(Method method, const Request& request, Response* response) {
  MC_RETURN_IF_ERROR(tls_error_);
  grpc::Status status;
  std::string target;
  bool answered_challenge = false;
  for (int attempt = 0; attempt < 2; ++attempt) {
    std::shared_ptr<Stub> stub;
    {
      std::lock_guard lock(mutex_);
      stub = stub_;
      target = leader_address_;
    }
    if (!stub) {
      MC_RETURN_IF_ERROR(refreshLeader(""));
      continue;
    }
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + timeout_);
    std::string credential = credential_.current();
    if (!credential.empty()) context.AddMetadata("authorization", credential);
    status = (stub->stub.get()->*method)(&context, request, response);
    if (status.ok()) return Status::OK();
    if (status.error_code() == grpc::StatusCode::UNAUTHENTICATED) {
      // Refused unread, with a challenge: answer it once (first call, or a master that
      // restarted or changed) and send the call again.
      const auto& trailers = context.GetServerTrailingMetadata();
      auto challenge = trailers.find(auth::kChallengeTrailer);
      if (answered_challenge || challenge == trailers.end() || !credential_.enabled() ||
          !credential_.answer(
              std::string_view(challenge->second.data(), challenge->second.size()))) {
        return Status::storeError(
            StoreErrorCode::RPC_FAIL,
            "master " + target + " refused the call: " +
                (credential_.enabled()
                     ? std::string("it does not accept this process's MC_AUTH_SECRET")
                     : std::string("it requires authentication; run with the cluster's "
                                   "MC_AUTH_SECRET (or --auth_secret_file)")));
      }
      answered_challenge = true;
      --attempt;
      continue;
    }
    if (!etcd_ && status.error_code() == grpc::StatusCode::UNAVAILABLE) {
      // gRPC fails calls at once while it backs off between reconnects (seconds, growing), so
      // a master restarted in a fraction of a second would stay unreachable that long: a new
      // channel (at most every kFastRpcRecheckInterval) connects on the next call instead.
      std::lock_guard lock(mutex_);
      auto now = std::chrono::steady_clock::now();
      if (stub_ == stub && now - stub_renewed_ >= kFastRpcRecheckInterval) {
        stub_ = std::make_shared<Stub>(leader_address_, tls_roots_);
        stub_renewed_ = now;
      }
    }
    if (!etcd_ || status.error_code() != grpc::StatusCode::UNAVAILABLE) break;
    if (!refreshLeader(target).ok()) break;
  }
  StoreErrorCode code = status.error_code() == grpc::StatusCode::DEADLINE_EXCEEDED
                            ? StoreErrorCode::RPC_TIMEOUT
                            : StoreErrorCode::RPC_FAIL;
  return Status::storeError(
      code, "master " + (etcd_ ? target + " (leader from " + address_ + ")" : address_) + ": " +
                status.error_message() + " (is mooncake_master running there?)");
}

Result<ClientStatus> MasterClient::ping(const std::string& client_id) {
  proto::PingRequest request;
  request.set_client_id(client_id);
  proto::PingResponse response;
  MC_RETURN_IF_ERROR(call(MC_RPC(Ping), request, &response));
  MC_RETURN_IF_ERROR(fromError(response.error()));
  return static_cast<ClientStatus>(response.client_status());
}

Result<std::string> MasterClient::probeFastRpc(const std::string& client_id) {
  proto::FastRpcPortResponse answer;
  MC_RETURN_IF_ERROR(callGrpc(&proto::Master::Stub::GetFastRpcPort, proto::Empty(), &answer));
  if (answer.port() == 0) return std::string();
  std::string leader;
  {
    std::lock_guard lock(mutex_);
    leader = leader_address_;
  }
  MC_ASSIGN_OR_RETURN(net::HostPort host, net::parseHostPort(leader, 0));
  const net::HostPort address{host.host, static_cast<uint16_t>(answer.port())};
  FastRpcChannel channel(address, timeout_, secret_);
  proto::PingRequest request;
  request.set_client_id(client_id);
  proto::PingResponse response;
  bool delivered = false;
  MC_RETURN_IF_ERROR(channel.call(static_cast<uint32_t>(fast_rpc::MethodId::kPing), request,
                                  &response, &delivered));
  return address.toString();
}

Result<SegmentId> MasterClient::mountSegment(const std::string& client_id,
                                             const SegmentInfo& segment) {
  proto::MountSegmentRequest request;
  request.set_client_id(client_id);
  toProto(segment, request.mutable_segment());
  proto::MountSegmentResponse response;
  MC_RETURN_IF_ERROR(call(MC_RPC(MountSegment), request, &response));
  MC_RETURN_IF_ERROR(fromError(response.error()));
  return response.segment_id();
}

Result<std::vector<SegmentId>> MasterClient::remountSegments(
    const std::string& client_id, const std::vector<SegmentInfo>& segments) {
  proto::ReMountSegmentRequest request;
  request.set_client_id(client_id);
  for (const SegmentInfo& segment : segments) toProto(segment, request.add_segments());
  proto::ReMountSegmentResponse response;
  MC_RETURN_IF_ERROR(call(MC_RPC(ReMountSegment), request, &response));
  MC_RETURN_IF_ERROR(fromError(response.error()));
  return std::vector<SegmentId>(response.segment_ids().begin(), response.segment_ids().end());
}

Status MasterClient::unmountSegment(const std::string& client_id, SegmentId segment) {
  proto::UnmountSegmentRequest request;
  request.set_client_id(client_id);
  request.set_segment_id(segment);
  proto::ErrorResponse response;
  MC_RETURN_IF_ERROR(call(MC_RPC(UnmountSegment), request, &response));
  return fromError(response.error());
}

Result<ReservedSpace> MasterClient::reserve(const std::string& client_id, uint64_t size,
                                            const ReplicateConfig& config,
                                            const std::vector<std::string>& avoid,
                                            const std::vector<uint64_t>& release) {
  proto::ReserveRequest request;
  request.set_client_id(client_id);
  request.set_size(size);
  toProto(config, request.mutable_config());
  for (const std::string& endpoint : avoid) request.add_avoid_endpoints(endpoint);
  for (uint64_t id : release) request.add_release_ids(id);
  proto::ReserveResponse response;
  MC_RETURN_IF_ERROR(call(MC_RPC(Reserve), request, &response));
  MC_RETURN_IF_ERROR(fromError(response.error()));
  return ReservedSpace{response.reservation_id(), fromProto(response.replicas())};
}

Result<std::optional<ReservedSpace>> MasterClient::commitReserved(
    const std::string& client_id, const std::string& key, uint64_t reservation_id,
    bool reserve_next, const std::vector<std::string>& avoid) {
  proto::CommitReservedRequest request;
  request.set_client_id(client_id);
  request.set_key(key);
  request.set_reservation_id(reservation_id);
  request.set_reserve_next(reserve_next);
  for (const std::string& endpoint : avoid) request.add_avoid_endpoints(endpoint);
  proto::CommitReservedResponse response;
  MC_RETURN_IF_ERROR(call(MC_RPC(CommitReserved), request, &response));
  MC_RETURN_IF_ERROR(fromError(response.error()));
  std::optional<ReservedSpace> next;
  if (response.has_next() && response.next().error().code() == 0 &&
      response.next().reservation_id() != 0) {
    next = ReservedSpace{response.next().reservation_id(), fromProto(response.next().replicas())};
  }
  return next;
}

Result<MasterClient::BatchCommitOutcome> MasterClient::batchCommitReserved(
    const std::string& client_id, const std::vector<std::string>& keys,
    const std::vector<uint64_t>& reservation_ids, const std::vector<ReserveShape>& reserve,
    const std::vector<std::string>& avoid, const std::vector<uint64_t>& release) {
  proto::BatchCommitReservedRequest request;
  request.set_client_id(client_id);
  for (const std::string& key : keys) request.add_keys(key);
  for (uint64_t id : reservation_ids) request.add_reservation_ids(id);
  for (const ReserveShape& shape : reserve) {
    proto::ReserveShape* wanted = request.add_reserve();
    wanted->set_size(shape.size);
    toProto(shape.config, wanted->mutable_config());
  }
  for (const std::string& endpoint : avoid) request.add_avoid_endpoints(endpoint);
  for (uint64_t id : release) request.add_release_ids(id);
  proto::BatchCommitReservedResponse response;
  MC_RETURN_IF_ERROR(call(MC_RPC(BatchCommitReserved), request, &response));
  BatchCommitOutcome out;
  for (size_t i = 0; i < keys.size(); ++i) {
    out.commits.push_back(
        i < static_cast<size_t>(response.errors_size())
            ? fromError(response.errors(static_cast<int>(i)))
            : Status::storeError(StoreErrorCode::RPC_FAIL, "short BatchCommitReserved reply"));
  }
  for (size_t i = 0; i < reserve.size(); ++i) {
    if (i >= static_cast<size_t>(response.reserved_size())) {
      out.reserved.emplace_back(
          Status::storeError(StoreErrorCode::RPC_FAIL, "short BatchCommitReserved reply"));
      continue;
    }
    const proto::ReserveResponse& granted = response.reserved(static_cast<int>(i));
    Status status = fromError(granted.error());
    if (status.ok()) {
      out.reserved.emplace_back(
          ReservedSpace{granted.reservation_id(), fromProto(granted.replicas())});
    } else {
      out.reserved.emplace_back(status);
    }
  }
  return out;
}

Status MasterClient::releaseReserved(const std::string& client_id,
                                     const std::vector<uint64_t>& ids) {
  proto::ReleaseReservedRequest request;
  request.set_client_id(client_id);
  for (uint64_t id : ids) request.add_reservation_ids(id);
  proto::ErrorResponse response;
  MC_RETURN_IF_ERROR(call(MC_RPC(ReleaseReserved), request, &response));
  return fromError(response.error());
}

Result<std::vector<ReplicaDescriptor>> MasterClient::putStart(
    const std::string& client_id, const std::string& key, uint64_t size,
    const ReplicateConfig& config, WriteKind kind, const std::vector<std::string>& avoid) {
  proto::PutStartRequest request;
  request.set_client_id(client_id);
  request.set_key(key);
  request.set_size(size);
  toProto(config, request.mutable_config());
  for (const std::string& endpoint : avoid) request.add_avoid_endpoints(endpoint);
  proto::PutStartResponse response;
  MC_RETURN_IF_ERROR(call(kind == WriteKind::kUpsert ? MC_RPC(UpsertStart) : MC_RPC(PutStart),
                          request, &response));
  MC_RETURN_IF_ERROR(fromError(response.error()));
  return fromProto(response.replicas());
}

Result<std::vector<Result<std::vector<ReplicaDescriptor>>>> MasterClient::batchPutStart(
    const std::string& client_id, const std::vector<std::string>& keys,
    const std::vector<uint64_t>& sizes, const ReplicateConfig& config, WriteKind kind,
    const std::vector<std::string>& avoid) {
  proto::BatchPutStartRequest request;
  for (size_t i = 0; i < keys.size(); ++i) {
    proto::PutStartRequest* item = request.add_items();
    item->set_client_id(client_id);
    item->set_key(keys[i]);
    item->set_size(sizes[i]);
    toProto(config, item->mutable_config());
    for (const std::string& endpoint : avoid) item->add_avoid_endpoints(endpoint);
  }
  proto::BatchPutStartResponse response;
  MC_RETURN_IF_ERROR(
      call(kind == WriteKind::kUpsert ? MC_RPC(BatchUpsertStart) : MC_RPC(BatchPutStart), request,
           &response));
  std::vector<Result<std::vector<ReplicaDescriptor>>> out;
  for (const auto& item : response.items()) {
    Status status = fromError(item.error());
    if (status.ok()) {
      out.emplace_back(fromProto(item.replicas()));
    } else {
      out.emplace_back(status);
    }
  }
  return out;
}

static proto::KeysRequest keysRequest(const std::string& client_id,
                                      const std::vector<std::string>& keys) {
  proto::KeysRequest request;
  request.set_client_id(client_id);
  for (const std::string& key : keys) request.add_keys(key);
  return request;
}

Result<std::vector<Status>> MasterClient::batchPutEnd(const std::string& client_id,
                                                      const std::vector<std::string>& keys,
                                                      WriteKind kind) {
  proto::ErrorsResponse response;
  MC_RETURN_IF_ERROR(call(kind == WriteKind::kUpsert ? MC_RPC(BatchUpsertEnd) : MC_RPC(BatchPutEnd),
                          keysRequest(client_id, keys), &response));
  std::vector<Status> out;
  for (const auto& error : response.errors()) out.push_back(fromError(error));
  return out;
}

Result<std::vector<Status>> MasterClient::batchPutRevoke(const std::string& client_id,
                                                         const std::vector<std::string>& keys,
                                                         WriteKind kind) {
  proto::ErrorsResponse response;
  MC_RETURN_IF_ERROR(
      call(kind == WriteKind::kUpsert ? MC_RPC(BatchUpsertRevoke) : MC_RPC(BatchPutRevoke),
           keysRequest(client_id, keys), &response));
  std::vector<Status> out;
  for (const auto& error : response.errors()) out.push_back(fromError(error));
  return out;
}

Result<std::vector<Result<ReplicaList>>> MasterClient::batchGetReplicaList(
    const std::vector<std::string>& keys) {
  proto::BatchGetReplicaListResponse response;
  MC_RETURN_IF_ERROR(call(MC_RPC(BatchGetReplicaList), keysRequest("", keys), &response));
  std::vector<Result<ReplicaList>> out;
  for (const auto& item : response.items()) {
    Status status = fromError(item.error());
    if (status.ok()) {
      out.emplace_back(
          ReplicaList{fromProto(item.replicas()), item.lease_ttl_ms(), item.version()});
    } else {
      out.emplace_back(status);
    }
  }
  return out;
}

Result<std::vector<bool>> MasterClient::batchExistKey(const std::vector<std::string>& keys) {
  proto::BatchExistKeyResponse response;
  MC_RETURN_IF_ERROR(call(MC_RPC(BatchExistKey), keysRequest("", keys), &response));
  std::vector<bool> out;
  for (const auto& item : response.items()) out.push_back(item.exists());
  return out;
}

Status MasterClient::putEnd(const std::string& client_id, const std::string& key, WriteKind kind,
                            const std::vector<std::string>& failed_endpoints) {
  proto::KeyRequest request;
  request.set_client_id(client_id);
  request.set_key(key);
  for (const std::string& endpoint : failed_endpoints) request.add_failed_endpoints(endpoint);
  proto::ErrorResponse response;
  MC_RETURN_IF_ERROR(
      call(kind == WriteKind::kUpsert ? MC_RPC(UpsertEnd) : MC_RPC(PutEnd), request, &response));
  return fromError(response.error());
}

Status MasterClient::putRevoke(const std::string& client_id, const std::string& key,
                               WriteKind kind) {
  proto::KeyRequest request;
  request.set_client_id(client_id);
  request.set_key(key);
  proto::ErrorResponse response;
  MC_RETURN_IF_ERROR(call(kind == WriteKind::kUpsert ? MC_RPC(UpsertRevoke) : MC_RPC(PutRevoke),
                          request, &response));
  return fromError(response.error());
}

Result<ReplicaList> MasterClient::getReplicaList(const std::string& key) {
  proto::KeyRequest request;
  request.set_key(key);
  proto::GetReplicaListResponse response;
  MC_RETURN_IF_ERROR(call(MC_RPC(GetReplicaList), request, &response));
  MC_RETURN_IF_ERROR(fromError(response.error()));
  return ReplicaList{fromProto(response.replicas()), response.lease_ttl_ms(), response.version()};
}

Result<bool> MasterClient::existKey(const std::string& key) {
  proto::KeyRequest request;
  request.set_key(key);
  proto::ExistKeyResponse response;
  MC_RETURN_IF_ERROR(call(MC_RPC(ExistKey), request, &response));
  MC_RETURN_IF_ERROR(fromError(response.error()));
  return response.exists();
}

Status MasterClient::remove(const std::string& key, bool force) {
  proto::KeyRequest request;
  request.set_key(key);
  request.set_force(force);
  proto::ErrorResponse response;
  MC_RETURN_IF_ERROR(call(MC_RPC(Remove), request, &response));
  return fromError(response.error());
}

Result<std::vector<Status>> MasterClient::batchRemove(const std::vector<std::string>& keys,
                                                      bool force) {
  proto::KeysRequest request = keysRequest("", keys);
  request.set_force(force);
  proto::ErrorsResponse response;
  MC_RETURN_IF_ERROR(call(MC_RPC(BatchRemove), request, &response));
  std::vector<Status> out;
  for (const auto& error : response.errors()) out.push_back(fromError(error));
  return out;
}

Result<uint64_t> MasterClient::removeAll(bool force) {
  proto::RegexRequest request;
  request.set_force(force);
  proto::CountResponse response;
  MC_RETURN_IF_ERROR(call(MC_RPC(RemoveAll), request, &response));
  MC_RETURN_IF_ERROR(fromError(response.error()));
  return response.count();
}

Result<std::vector<std::string>> MasterClient::batchReplicaClear(
    const std::string& client_id, const std::vector<std::string>& keys,
    const std::string& segment_name) {
  proto::ReplicaClearRequest request;
  request.set_client_id(client_id);
  for (const std::string& key : keys) request.add_keys(key);
  request.set_segment_name(segment_name);
  proto::KeysResponse response;
  MC_RETURN_IF_ERROR(call(MC_RPC(BatchReplicaClear), request, &response));
  MC_RETURN_IF_ERROR(fromError(response.error()));
  return std::vector<std::string>(response.keys().begin(), response.keys().end());
}

Status MasterClient::reportUnreachable(const std::string& client_id,
                                       const std::vector<std::string>& endpoints) {
  proto::ReportUnreachableRequest request;
  request.set_client_id(client_id);
  for (const std::string& endpoint : endpoints) request.add_te_endpoints(endpoint);
  proto::ErrorResponse response;
  MC_RETURN_IF_ERROR(call(MC_RPC(ReportUnreachable), request, &response));
  return fromError(response.error());
}

Result<uint64_t> MasterClient::removeByRegex(const std::string& pattern, bool force) {
  proto::RegexRequest request;
  request.set_pattern(pattern);
  request.set_force(force);
  proto::CountResponse response;
  MC_RETURN_IF_ERROR(call(MC_RPC(RemoveByRegex), request, &response));
  MC_RETURN_IF_ERROR(fromError(response.error()));
  return response.count();
}

namespace {

template <typename Repeated>
void addDiskObjects(const std::vector<DiskObjectRef>& objects, Repeated* out) {
  for (const DiskObjectRef& ref : objects) {
    proto::DiskObject* o = out->Add();
    o->set_key(ref.key);
    o->set_version(ref.version);
    o->set_size(ref.size);
  }
}

Result<std::vector<Status>> perItem(const proto::ErrorsResponse& response, size_t expected) {
  if (static_cast<size_t>(response.errors_size()) != expected) {
    return Status::storeError(StoreErrorCode::RPC_FAIL,
                              "the master answered for " + std::to_string(response.errors_size()) +
                                  " items of " + std::to_string(expected));
  }
  std::vector<Status> out;
  out.reserve(expected);
  for (const proto::Error& error : response.errors()) out.push_back(fromError(error));
  return out;
}

}  // namespace

Result<bool> MasterClient::mountDiskTier(const std::string& client_id, const DiskTierInfo& info) {
  proto::MountLocalDiskSegmentRequest request;
  request.set_client_id(client_id);
  request.set_disk_endpoint(info.disk_endpoint);
  request.set_te_endpoint(info.te_endpoint);
  request.set_capacity(info.capacity);
  proto::MountLocalDiskSegmentResponse response;
  MC_RETURN_IF_ERROR(call(MC_RPC(MountLocalDiskSegment), request, &response));
  MC_RETURN_IF_ERROR(fromError(response.error()));
  return response.enable_disk_eviction();
}

Result<OffloadWork> MasterClient::offloadHeartbeat(const std::string& client_id,
                                                   const DiskUsage& usage, uint32_t max_tasks) {
  proto::OffloadObjectHeartbeatRequest request;
  request.set_client_id(client_id);
  request.set_capacity(usage.capacity);
  request.set_bytes(usage.bytes);
  request.set_objects(usage.objects);
  request.set_checksum_failures(usage.checksum_failures);
  request.set_accepting(usage.accepting);
  request.set_max_tasks(max_tasks);
  proto::OffloadObjectHeartbeatResponse response;
  MC_RETURN_IF_ERROR(call(MC_RPC(OffloadObjectHeartbeat), request, &response));
  MC_RETURN_IF_ERROR(fromError(response.error()));
  OffloadWork work;
  for (const proto::OffloadTask& t : response.offload()) {
    work.offload.push_back({t.key(), t.version(), t.address(), t.size()});
  }
  for (const proto::DiskObject& d : response.drop()) {
    work.drop.push_back({d.key(), d.version(), d.size()});
  }
  for (const proto::PromotionTask& p : response.promote()) {
    work.promote.push_back(
        {p.key(),
         p.version(),
         {p.target().te_endpoint(), p.target().address(), p.target().size(), ""}});
  }
  return work;
}

Result<std::vector<Status>> MasterClient::offloadDone(const std::string& client_id,
                                                      const std::vector<DiskObjectRef>& written,
                                                      const std::vector<DiskObjectRef>& failed) {
  proto::NotifyOffloadSuccessRequest request;
  request.set_client_id(client_id);
  addDiskObjects(written, request.mutable_written());
  addDiskObjects(failed, request.mutable_failed());
  proto::ErrorsResponse response;
  MC_RETURN_IF_ERROR(call(MC_RPC(NotifyOffloadSuccess), request, &response));
  return perItem(response, written.size());
}

Result<std::vector<Status>> MasterClient::registerDiskObjects(
    const std::string& client_id, const std::vector<DiskObjectRef>& objects) {
  proto::DiskObjectsRequest request;
  request.set_client_id(client_id);
  addDiskObjects(objects, request.mutable_objects());
  proto::ErrorsResponse response;
  MC_RETURN_IF_ERROR(call(MC_RPC(RegisterDiskReplicas), request, &response));
  return perItem(response, objects.size());
}

Status MasterClient::evictDiskReplicas(const std::string& client_id,
                                       const std::vector<DiskObjectRef>& objects) {
  proto::DiskObjectsRequest request;
  request.set_client_id(client_id);
  addDiskObjects(objects, request.mutable_objects());
  proto::ErrorResponse response;
  MC_RETURN_IF_ERROR(call(MC_RPC(BatchEvictDiskReplica), request, &response));
  return fromError(response.error());
}

Status MasterClient::promotionDone(const std::string& client_id, const std::string& key,
                                   uint64_t version, bool ok) {
  proto::NotifyPromotionRequest request;
  request.set_client_id(client_id);
  request.set_key(key);
  request.set_version(version);
  request.set_ok(ok);
  proto::ErrorResponse response;
  MC_RETURN_IF_ERROR(call(MC_RPC(NotifyPromotionDone), request, &response));
  return fromError(response.error());
}

}  // namespace mooncake::store
