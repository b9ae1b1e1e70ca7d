#include "mooncake/store/master_server.h"

#include <grpcpp/grpcpp.h>
#include <unistd.h>

#include <condition_variable>
#include <fstream>
#include <mutex>
#include <sstream>
#include <thread>

#include "common/auth/secret.h"
#include "common/config/env.h"
#include "common/logging.h"
#include "common/net/tls.h"
#include "mooncake/metadata_server/http_metadata_server.h"
#include "store/master/admin_http_server.h"
#include "store/master/durable/metadata_log.h"
#include "store/master/ha/replication_hub.h"
#include "store/master/master_service.h"
#include "store/proto/fast_rpc_server.h"
#include "store/proto/master_rpc_service.h"

namespace mooncake::store {

struct MasterServer::Impl {
  Impl(const MasterServerOptions& o, auth::SecretRef s)
      : options(o),
        secret(std::move(s)),
        service(o.service),
        rpc(service, secret),
        fast_rpc(service, secret) {}

  // Snapshots when due (and once right after a recovery, to compact what was replayed).
  void snapshotLoop() {
    std::unique_lock lock(mutex);
    bool compact = compact_after_start;
    while (!cv.wait_for(lock, std::chrono::seconds(1), [this] { return stopping; })) {
      if (!compact && !log->snapshotDue(options.snapshot_interval)) continue;
      compact = false;
      lock.unlock();
      const auto started = std::chrono::steady_clock::now();
      Status status = log->snapshot([this](const auto& write) { return service.dumpState(write); });
      if (status.ok()) {
        VLOG(1) << "master: metadata snapshot of " << log->snapshotBytes() << " bytes in "
                << std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count()
                << " s";
      }
      lock.lock();
    }
  }

  void maintain() {
    std::unique_lock lock(mutex);
    while (!cv.wait_for(lock, options.maintenance_interval, [this] { return stopping; })) {
      lock.unlock();
      service.tick();
      lock.lock();
    }
  }

  const MasterServerOptions options;
  const auth::SecretRef secret;
  std::shared_ptr<net::TlsContext> tls;  // the HTTP ports' (with --tls_cert_file)
  MasterService service;
  MasterRpcService rpc;
  FastRpcServer fast_rpc;
  std::unique_ptr<grpc::Server> server;
  int bound_port = 0;
  std::unique_ptr<HttpMetadataServer> http_metadata;
  std::unique_ptr<AdminHttpServer> admin;
  std::mutex mutex;
  std::condition_variable cv;
  bool stopping = false;  // GUARDED_BY(mutex)
  std::thread maintenance;
  std::unique_ptr<durable::MetadataLog> log;  // with options.metadata_dir
  bool compact_after_start = false;
  std::thread snapshots;
};

MasterServer::MasterServer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

namespace {

Result<std::string> readPemFile(const std::string& path, const std::string& flag) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream content;
  if (in) content << in.rdbuf();
  if (!in || content.str().find("-----BEGIN") == std::string::npos) {
    return Status::error(ErrorCode::ERR_INVALID_ARGUMENT,
                         flag + "=" + path + ": cannot read a PEM file there");
  }
  return content.str();
}

}  // namespace

std::string defaultMetadataDir(uint16_t port) {
  std::string base;
  auto xdg = config::readEnv("XDG_STATE_HOME");
  auto home = config::readEnv("HOME");
  if (xdg && !xdg->empty()) {
    base = *xdg;
  } else if (::geteuid() == 0) {
    base = "/var/lib";
  } else if (home && !home->empty()) {
    base = *home + "/.local/state";
  } else {
    base = "/tmp";
  }
  return base + "/mooncake/master-" + std::to_string(port);
}

Status MasterServer::recoverMetadata(Impl& impl) {
  durable::MetadataLogOptions log_options;
  log_options.dir = impl.options.metadata_dir;
  durable::RecoveredState state;
  durable::RecoveryStats stats;
  auto log = durable::MetadataLog::open(log_options, state, stats);
  if (!log.ok()) return log.status().withContext("--metadata_dir");
  impl.log = std::move(*log);
  const auto started = std::chrono::steady_clock::now();
  RestoreStats restored = impl.service.restore(state, impl.log.get());
  const double seconds =
      stats.seconds +
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  impl.compact_after_start = stats.log_records > 0;
  if (stats.snapshot_records + stats.log_records == 0) {
    LOG(INFO) << "master: metadata in " << impl.options.metadata_dir << " (empty)";
    return Status::OK();
  }
  LOG(INFO) << "master: recovered " << restored.objects << " objects ("
            << restored.incomplete_objects << " puts in progress), " << restored.segments
            << " segments, " << restored.reservations << " reservations from "
            << impl.options.metadata_dir << " in " << seconds << " s (" << stats.snapshot_records
            << " snapshot and " << stats.log_records << " log records"
            << (stats.torn_tails > 0
                    ? ", " + std::to_string(stats.torn_tails) + " cut-short tail(s) skipped"
                    : std::string())
            << ")";
  if (restored.dropped_replicas > 0 || stats.malformed > 0) {
    LOG(WARNING) << "master: recovery dropped " << restored.dropped_replicas
                 << " replica(s) on unknown segments or overlapping others and skipped "
                 << stats.malformed << " malformed record(s)";
  }
  return Status::OK();
}

Result<std::unique_ptr<MasterServer>> MasterServer::start(const MasterServerOptions& options) {
  initLogging("mooncake_master");
  MC_ASSIGN_OR_RETURN(auth::SecretRef secret, auth::resolveSecret(options.auth_secret));
  auto impl = std::make_unique<Impl>(options, std::move(secret));
  if (!options.metadata_dir.empty()) MC_RETURN_IF_ERROR(recoverMetadata(*impl));
  return serve(std::move(impl));
}

Result<std::unique_ptr<MasterServer>> MasterServer::startLeader(const MasterServerOptions& options,
                                                                durable::RecoveredState& state,
                                                                ReplicationHub& hub) {
  initLogging("mooncake_master");
  MC_ASSIGN_OR_RETURN(auth::SecretRef secret, auth::resolveSecret(options.auth_secret));
  MasterServerOptions leader_options = options;
  leader_options.metadata_dir.clear();
  auto impl = std::make_unique<Impl>(leader_options, std::move(secret));
  // Numbered above every record of the replica, as a restart on a directory would be.
  impl->log = durable::MetadataLog::inMemory((state.max_lsn >> 40) + 1, &hub);
  RestoreStats restored = impl->service.restore(state, impl->log.get());
  if (restored.objects + restored.segments > 0) {
    LOG(INFO) << "master: took over " << restored.objects << " objects ("
              << restored.incomplete_objects << " puts in progress), " << restored.segments
              << " segments, " << restored.reservations << " reservations";
  }
  impl->service.setReplicationGate(&hub);
  Impl* raw = impl.get();
  MC_RETURN_IF_ERROR(hub.start([raw](const auto& write) { return raw->service.dumpState(write); })
                         .withContext("HA replication listener"));
  return serve(std::move(impl));
}

Status MasterServer::copyState(durable::RecoveredState& state) {
  Status status = impl_->service.dumpState([&state](durable::SnapshotSink& sink) {
    durable::applyFrames(sink.buffer(), state);
    sink.buffer().clear();
    return Status::OK();
  });
  state.compact();
  return status;
}

Result<std::unique_ptr<MasterServer>> MasterServer::serve(std::unique_ptr<Impl> impl) {
  const MasterServerOptions& options = impl->options;
  std::string address = options.rpc_address + ":" + std::to_string(options.rpc_port);
  grpc::ServerBuilder builder;
  // gRPC enables SO_REUSEPORT by default: a second master on the same port would then start
  // "successfully" and split clients between two independent metadata views.
  builder.AddChannelArgument(GRPC_ARG_ALLOW_REUSEPORT, 0);
  // Handlers answer in microseconds, so the server needs no deadline/census filters per call.
  builder.AddChannelArgument(GRPC_ARG_MINIMAL_STACK, 1);
  std::shared_ptr<grpc::ServerCredentials> credentials = grpc::InsecureServerCredentials();
  if (!options.tls_cert_file.empty() || !options.tls_key_file.empty()) {
    MC_ASSIGN_OR_RETURN(std::string cert, readPemFile(options.tls_cert_file, "--tls_cert_file"));
    MC_ASSIGN_OR_RETURN(std::string key, readPemFile(options.tls_key_file, "--tls_key_file"));
    grpc::SslServerCredentialsOptions tls;
    tls.pem_key_cert_pairs.push_back({key, cert});
    credentials = grpc::SslServerCredentials(tls);
    MC_ASSIGN_OR_RETURN(impl->tls,
                        net::TlsContext::server(options.tls_cert_file, options.tls_key_file));
  }
  builder.AddListeningPort(address, credentials, &impl->bound_port);
  builder.RegisterService(&impl->rpc);
  impl->server = builder.BuildAndStart();
  if (!impl->server || impl->bound_port == 0) {
    return Status::error(ErrorCode::ERR_SOCKET,
                         "bind address already in use: " + address +
                             " (another mooncake_master? pick another --port)");
  }
  if (options.enable_fast_rpc) {
    // With durable metadata, a restarted master takes the fast RPC port it had when free, so
    // its clients' pooled connections reach it again without a lookup.
    const std::string port_file =
        options.metadata_dir.empty() ? "" : options.metadata_dir + "/fast_rpc_port";
    uint16_t previous = 0;
    if (options.fast_rpc_port == 0 && !port_file.empty()) {
      std::ifstream in(port_file);
      unsigned value = 0;
      if (in >> value && value < 65536) previous = static_cast<uint16_t>(value);
    }
    Status status = previous != 0 ? impl->fast_rpc.start(options.rpc_address, previous)
                                  : Status::error(ErrorCode::ERR_SOCKET, "no previous port");
    if (!status.ok()) status = impl->fast_rpc.start(options.rpc_address, options.fast_rpc_port);
    if (status.ok() && !port_file.empty()) {
      std::ofstream(port_file, std::ios::trunc) << impl->fast_rpc.port() << "\n";
    }
    if (!status.ok()) {
      impl->server->Shutdown();
      return status;
    }
    impl->service.setFastRpcPort(impl->fast_rpc.port());
  }
  if (options.enable_http_metadata_server) {
    impl->http_metadata = std::make_unique<HttpMetadataServer>(
        options.auth_secret, options.tls_cert_file, options.tls_key_file);
    Status status = impl->http_metadata->start(options.http_metadata_server_host,
                                               options.http_metadata_server_port);
    if (!status.ok()) {
      impl->server->Shutdown();
      impl->fast_rpc.stop();
      return status.withContext("embedded HTTP metadata server");
    }
  }
  if (options.enable_metric_reporting) {
    impl->admin = std::make_unique<AdminHttpServer>(impl->service, impl->secret, impl->tls);
    Status status = impl->admin->start(options.metrics_host, options.metrics_port);
    if (!status.ok()) {
      impl->server->Shutdown();
      impl->fast_rpc.stop();
      return status.withContext("metrics/admin HTTP server");
    }
  }
  Impl* raw = impl.get();
  impl->maintenance = std::thread([raw] { raw->maintain(); });
  if (impl->log && !options.metadata_dir.empty()) {
    impl->snapshots = std::thread([raw] { raw->snapshotLoop(); });
  }
  LOG(INFO) << "master: serving gRPC on " << options.rpc_address << ":" << impl->bound_port
            << (options.enable_fast_rpc
                    ? ", fast RPC on port " + std::to_string(impl->fast_rpc.port())
                    : std::string())
            << (options.enable_http_metadata_server
                    ? ", HTTP metadata on port " + std::to_string(impl->http_metadata->port())
                    : std::string())
            << (impl->secret ? "; clients must prove the cluster secret" : "");
  return std::unique_ptr<MasterServer>(new MasterServer(std::move(impl)));
}

MasterServer::~MasterServer() { stop(); }

void MasterServer::stop() {
  {
    std::lock_guard lock(impl_->mutex);
    if (impl_->stopping) return;
    impl_->stopping = true;
  }
  impl_->cv.notify_all();
  impl_->maintenance.join();
  if (impl_->snapshots.joinable()) impl_->snapshots.join();
  // Bounded: gRPC otherwise waits for every client to acknowledge the shutdown, and an idle
  // synchronous client channel (its calls go over fast RPC) reads nothing until its next call.
  impl_->server->Shutdown(std::chrono::system_clock::now() + std::chrono::milliseconds(200));
  impl_->fast_rpc.stop();
  if (impl_->http_metadata) impl_->http_metadata->stop();
  if (impl_->admin) impl_->admin->stop();
}

uint16_t MasterServer::rpcPort() const { return static_cast<uint16_t>(impl_->bound_port); }

uint16_t MasterServer::fastRpcPort() const { return impl_->fast_rpc.port(); }

uint16_t MasterServer::metricsPort() const { return impl_->admin ? impl_->admin->port() : 0; }

uint16_t MasterServer::httpMetadataPort() const {
  return impl_->http_metadata ? impl_->http_metadata->port() : 0;
}

}  // namespace mooncake::store
