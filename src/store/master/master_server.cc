#include "mooncake/store/master_server.h"

#include <grpcpp/grpcpp.h>

#include <condition_variable>
#include <fstream>
#include <mutex>
#include <sstream>
#include <thread>

#include "common/auth/secret.h"
#include "common/logging.h"
#include "common/net/tls.h"
#include "mooncake/metadata_server/http_metadata_server.h"
#include "store/master/admin_http_server.h"
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

Result<std::unique_ptr<MasterServer>> MasterServer::start(const MasterServerOptions& options) {
  initLogging("mooncake_master");
  MC_ASSIGN_OR_RETURN(auth::SecretRef secret, auth::resolveSecret(options.auth_secret));
  auto impl = std::make_unique<Impl>(options, std::move(secret));
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
    Status status = impl->fast_rpc.start(options.rpc_address, options.fast_rpc_port);
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
