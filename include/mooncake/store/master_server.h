// A running Store master: the gRPC service, its periodic maintenance (client expiry, abandoned
// puts, watermark eviction) and, optionally, the embedded HTTP metadata server, so one process
// is a complete small deployment.
//
// Thread-safe. stop() (or the destructor) stops serving and joins every thread.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "mooncake/common/status.h"
#include "mooncake/store/master_options.h"

namespace mooncake::store {

namespace durable {
struct RecoveredState;
}
class ReplicationHub;

struct MasterServerOptions {
  std::string rpc_address = "0.0.0.0";  // --rpc_address
  uint16_t rpc_port = 50051;            // --port (0 picks a free port)
  // The fast RPC listener (same messages, plain framing; clients find it through gRPC).
  bool enable_fast_rpc = true;  // --enable_fast_rpc
  uint16_t fast_rpc_port = 0;   // --fast_rpc_port (0 picks a free port)
  MasterOptions service;
  bool enable_http_metadata_server = false;           // --enable_http_metadata_server
  std::string http_metadata_server_host = "0.0.0.0";  // --http_metadata_server_host
  uint16_t http_metadata_server_port = 8080;          // --http_metadata_server_port
  bool enable_metric_reporting = true;                // --enable_metric_reporting
  std::string metrics_host = "0.0.0.0";               // --metrics_host
  uint16_t metrics_port = 9003;                       // --metrics_port (0 picks a free one)
  std::chrono::milliseconds maintenance_interval{100};
  // Durable metadata (docs/STORE.md "Durable metadata"): the directory of the master's metadata
  // log and snapshots. A master started on it again (after a crash, kill -9 or a restart) serves
  // every object, segment and reservation it had. Empty: metadata lives in memory only (a
  // restarted master starts empty). mooncake_master defaults it (--metadata_dir).
  std::string metadata_dir;
  // --snapshot_interval_seconds: a snapshot at least this often while the log has records
  // (also whenever the log outgrows max(128 MiB, 4 x the last snapshot)).
  std::chrono::seconds snapshot_interval{600};
  // The cluster secret every client must prove on gRPC, fast RPC, the embedded HTTP metadata
  // server and the admin endpoints that read keys (docs/SECURITY.md). nullopt: the
  // environment's (MC_AUTH_SECRET_FILE, else MC_AUTH_SECRET; neither: no authentication).
  std::optional<std::string> auth_secret;
  // --tls_cert_file / --tls_key_file: PEM files; both set, the gRPC port, the embedded HTTP
  // metadata server and the admin port speak TLS only (clients trust it through
  // MC_TLS_CA_FILE). Fast RPC stays plain TCP, authenticated by the secret (docs/SECURITY.md).
  std::string tls_cert_file;
  std::string tls_key_file;
};

// mooncake_master's --metadata_dir=auto for a master on `port`:
// $XDG_STATE_HOME/mooncake/master-<port> when XDG_STATE_HOME is set, else
// /var/lib/mooncake/master-<port> for root, else ~/.local/state/mooncake/master-<port>.
std::string defaultMetadataDir(uint16_t port);

class MasterServer {
 public:
  // Errors: ERR_SOCKET "bind address already in use: host:port" for either listener;
  // ERR_INVALID_ARGUMENT for an unusable secret.
  static Result<std::unique_ptr<MasterServer>> start(const MasterServerOptions& options);
  // For runHighlyAvailableMaster: serves `state` (a replica of the previous leader's metadata;
  // empty for a fresh start; options.metadata_dir is not used) and streams every change to
  // `hub`'s standbys, every reply waiting for the in-sync ones. `hub` must outlive the server.
  static Result<std::unique_ptr<MasterServer>> startLeader(const MasterServerOptions& options,
                                                           durable::RecoveredState& state,
                                                           ReplicationHub& hub);
  // Adds the whole metadata to `state` (after stop(): a leader stepping down keeps its state).
  Status copyState(durable::RecoveredState& state);
  ~MasterServer();
  MasterServer(const MasterServer&) = delete;
  MasterServer& operator=(const MasterServer&) = delete;

  void stop();
  uint16_t rpcPort() const;
  uint16_t fastRpcPort() const;       // 0 when not enabled
  uint16_t httpMetadataPort() const;  // 0 when not enabled
  uint16_t metricsPort() const;       // 0 when not enabled

 private:
  struct Impl;
  explicit MasterServer(std::unique_ptr<Impl> impl);
  // Opens options.metadata_dir and rebuilds the service from it.
  static Status recoverMetadata(Impl& impl);
  // Opens the listeners and starts the threads of a prepared server.
  static Result<std::unique_ptr<MasterServer>> serve(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace mooncake::store
