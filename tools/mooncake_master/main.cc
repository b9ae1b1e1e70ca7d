// mooncake_master: the Mooncake Store master (object metadata, space allocation, leases,
// eviction, client liveness) over gRPC, optionally with the HTTP metadata server embedded.
// Flags keep upstream's names and defaults. Serves until Ctrl-C / SIGTERM.
#include <gflags/gflags.h>
#include <glog/logging.h>
#include <unistd.h>

#include <atomic>
#include <cctype>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <thread>

#include "mooncake/store/ha_master.h"
#include "mooncake/store/master_server.h"
#include "mooncake_master/config_file.h"
#include "mooncake_master/upstream_flags.h"
#include "tool_support/tool_flags.h"

DEFINE_int32(port, 50051, "gRPC port of the master (0 picks a free one)");
DEFINE_int32(rpc_port, 0, "upstream's newer name for --port; wins when above 0");
DEFINE_string(rpc_address, "0.0.0.0", "address the gRPC service listens on");
DEFINE_bool(enable_fast_rpc, true,
            "also serve the same RPCs over a plain framed TCP protocol, which store clients find "
            "through gRPC and prefer (a lookup costs ~20 us and far less CPU than over gRPC); "
            "clients fall back to gRPC when it is off or unreachable");
DEFINE_int32(fast_rpc_port, 0, "port of the fast RPC listener (0 picks a free one)");
DEFINE_string(tls_cert_file, "",
              "PEM certificate (chain) for TLS on the gRPC port; with --tls_key_file. Clients "
              "then need MC_TLS_CA_FILE. Empty: plain gRPC");
DEFINE_string(tls_key_file, "", "PEM private key of --tls_cert_file");
DEFINE_string(config_path, "",
              "upstream's master config file (JSON: keys are flag names); flags given on the "
              "command line win over it");
DEFINE_string(default_kv_lease_ttl, "10000",
              "read lease: leased objects are neither evicted nor removed without force (ms, or "
              "a number with ms/s/m/h)");
DEFINE_string(default_kv_soft_pin_ttl, "1800000",
              "soft pin lifetime (ms, or a number with ms/s/m/h)");
DEFINE_string(max_kv_soft_pin_ttl, "86400000",
              "upper bound for a requested soft pin (ms, or a number with ms/s/m/h)");
DEFINE_bool(allow_evict_soft_pinned_objects, true,
            "evict soft-pinned objects when nothing else can be evicted");
DEFINE_double(eviction_high_watermark_ratio, 0.90, "usage (0..1] that starts eviction");
DEFINE_double(eviction_ratio, 0.05, "share (0..1] of capacity one eviction pass frees");
DEFINE_uint64(client_ttl, 10,
              "seconds without a ping before a client is declared dead and "
              "its segments unmounted");
DEFINE_uint64(dead_client_grace_sec, 600,
              "objects held by a client declared dead are hidden, not dropped, for this long: a "
              "paused or cut-off client that comes back with its memory gets them back (a put "
              "of one of their keys meanwhile replaces it); 0 drops them at once");
DEFINE_uint64(put_start_discard_timeout_sec, 30,
              "an unfinished put older than this can be taken over by a new put of the key");
DEFINE_uint64(put_start_release_timeout_sec, 600,
              "an abandoned put's space returns to the pool after this long");
DEFINE_string(allocation_strategy, "random",
              "where replicas go after a put's preferred segments: random (spread evenly), "
              "free_ratio_first (emptiest segments first) or local_first (the writer's own "
              "segment first)");
DEFINE_bool(enable_offload, false,
            "disk tier: objects whose memory replica is on a client with a disk tier "
            "(setup(enable_ssd_offload=True) or mooncake_client --enable_offload) get a copy on "
            "that client's disk, kept after eviction and read from there");
DEFINE_bool(offload_on_evict, false,
            "write objects to disk only when eviction picks them, freeing their memory once the "
            "write is durable (default: every put is written behind)");
DEFINE_bool(offload_force_evict, false,
            "evict objects without a disk copy once an eviction pass deferred its share of the "
            "offload queue (else such objects stay in memory until their writes land, and puts "
            "wait for them up to 2 s)");
DEFINE_uint64(offloading_queue_limit, 50000, "offloads waiting per disk tier holder");
DEFINE_double(offload_cap_ratio, 0.5,
              "share of --offloading_queue_limit one eviction pass may defer");
DEFINE_bool(promotion_on_hit, false,
            "copy disk-only objects back to memory in the background after "
            "--promotion_admission_threshold reads");
DEFINE_uint64(promotion_admission_threshold, 2, "reads from disk before an object is promoted");
DEFINE_uint64(promotion_queue_limit, 50000, "promotions waiting per disk tier holder");
DEFINE_bool(enable_disk_eviction, true,
            "a full disk tier drops its oldest objects (else offloading pauses until there is "
            "room)");
DEFINE_bool(enable_ha, false,
            "high availability: several masters elect a leader through etcd; only the leader "
            "serves (needs --ha_backend_connstring or --etcd_endpoints, a reachable "
            "--rpc_address and a fixed --port)");
DEFINE_string(ha_backend_type, "etcd", "HA backend: etcd");
DEFINE_string(ha_backend_connstring, "", "etcd endpoints for HA, e.g. \"h1:2379;h2:2379\"");
DEFINE_string(etcd_endpoints, "", "legacy alias of --ha_backend_connstring");
DEFINE_string(cluster_id, "",
              "HA cluster name; the leader is mooncake-store/<cluster_id>/master_view in etcd "
              "(default: $MC_STORE_CLUSTER_ID, else mooncake_cluster)");
DEFINE_uint32(ha_replication_port, 0,
              "HA: the port standbys follow the leader's metadata changes on (0: any free "
              "port; the leader publishes it in etcd)");
DEFINE_int64(ha_lease_ttl_sec, 5,
             "HA: the leader's etcd lease; a dead leader is replaced after about this long");
DEFINE_string(metadata_dir, "auto",
              "durable metadata: the master's log and snapshots, so a restarted master (crash, "
              "kill -9, upgrade) serves every object it had. 'auto': "
              "$XDG_STATE_HOME/mooncake/master-<port> when XDG_STATE_HOME is set, else "
              "/var/lib/mooncake/master-<port> as root, else "
              "~/.local/state/mooncake/master-<port>; 'none': memory only (a restart forgets "
              "every object). One directory per master");
DEFINE_string(snapshot_backup_dir, "",
              "upstream's name for the snapshot directory: the same as --metadata_dir when set");
DEFINE_uint64(snapshot_interval_seconds, 600,
              "write a metadata snapshot at least this often while the log has changes (also "
              "whenever the log outgrows max(128 MiB, 4 x the last snapshot))");
DEFINE_bool(enable_snapshot, false,
            "upstream flag; metadata snapshots are always on here with --metadata_dir");
DEFINE_bool(enable_snapshot_restore, false,
            "upstream flag; a master always restores its --metadata_dir here");
DEFINE_bool(enable_oplog, false,
            "upstream flag; every metadata change is always logged here with --metadata_dir");
DEFINE_bool(enable_metric_reporting, true, "serve /metrics and the admin endpoints");
DEFINE_int32(metrics_port, 9003,
             "port of /metrics, /health, /query_key, /get_all_keys, "
             "/get_all_segments (0 picks a free one)");
DEFINE_string(metrics_host, "0.0.0.0", "address of the metrics/admin HTTP server");
DEFINE_bool(enable_http_metadata_server, false,
            "also serve the Transfer Engine HTTP metadata server (metadata_server="
            "http://<host>:<http_metadata_server_port>/metadata)");
DEFINE_int32(http_metadata_server_port, 8080, "port of the embedded HTTP metadata server");
DEFINE_string(http_metadata_server_host, "0.0.0.0", "address of the embedded HTTP metadata server");

namespace {
std::atomic<bool> g_stop{false};
void onSignal(int) { g_stop.store(true); }

bool validRatio(double value) { return value > 0 && value <= 1; }

// "10000", "500ms", "10s", "5m", "1h" -> milliseconds; nullopt when malformed.
std::optional<uint64_t> parseMilliseconds(const std::string& text) {
  size_t digits = 0;
  while (digits < text.size() && std::isdigit(static_cast<unsigned char>(text[digits]))) ++digits;
  if (digits == 0 || digits > 15) return std::nullopt;
  const uint64_t number = std::stoull(text.substr(0, digits));
  const std::string unit = text.substr(digits);
  if (unit.empty() || unit == "ms") return number;
  if (unit == "s") return number * 1000;
  if (unit == "m") return number * 60 * 1000;
  if (unit == "h") return number * 3600 * 1000;
  return std::nullopt;
}
bool validPort(int value) { return value >= 0 && value <= 65535; }

std::string metadataDirFromFlags(int port) {
  std::string dir =
      FLAGS_snapshot_backup_dir.empty() ? FLAGS_metadata_dir : FLAGS_snapshot_backup_dir;
  if (dir == "none" || dir.empty()) return "";
  if (dir == "auto") return mooncake::store::defaultMetadataDir(static_cast<uint16_t>(port));
  return dir;
}

std::optional<mooncake::store::AllocationStrategy> parseAllocationStrategy(
    const std::string& name) {
  using mooncake::store::AllocationStrategy;
  if (name == "random") return AllocationStrategy::kRandom;
  if (name == "free_ratio_first") return AllocationStrategy::kFreeRatioFirst;
  if (name == "local_first") return AllocationStrategy::kLocalFirst;
  return std::nullopt;
}

// Fills `options` from the flags; an error message for the first bad one.
std::string optionsFromFlags(mooncake::store::MasterServerOptions& options) {
  const int port = FLAGS_rpc_port > 0 ? FLAGS_rpc_port : FLAGS_port;
  if (!validRatio(FLAGS_eviction_high_watermark_ratio) || !validRatio(FLAGS_eviction_ratio) ||
      !validRatio(FLAGS_offload_cap_ratio) || !validPort(port) ||
      !validPort(FLAGS_http_metadata_server_port) || !validPort(FLAGS_metrics_port) ||
      !validPort(FLAGS_fast_rpc_port)) {
    return "ratios must be in (0, 1] and ports in 0..65535";
  }
  auto strategy = parseAllocationStrategy(FLAGS_allocation_strategy);
  if (!strategy) {
    return "--allocation_strategy=" + FLAGS_allocation_strategy +
           ": use random, free_ratio_first or local_first (ssd_free_ratio_first and cxl need "
           "tiers this build does not have)";
  }
  auto lease = parseMilliseconds(FLAGS_default_kv_lease_ttl);
  auto soft_pin = parseMilliseconds(FLAGS_default_kv_soft_pin_ttl);
  auto max_soft_pin = parseMilliseconds(FLAGS_max_kv_soft_pin_ttl);
  if (!lease || !soft_pin || !max_soft_pin) {
    return "--default_kv_lease_ttl, --default_kv_soft_pin_ttl and --max_kv_soft_pin_ttl take "
           "milliseconds, or a number with ms, s, m or h (e.g. 5000 or 5s)";
  }
  options.rpc_address = FLAGS_rpc_address;
  options.rpc_port = static_cast<uint16_t>(port);
  options.enable_fast_rpc = FLAGS_enable_fast_rpc;
  options.fast_rpc_port = static_cast<uint16_t>(FLAGS_fast_rpc_port);
  options.service.default_kv_lease_ttl_ms = *lease;
  options.service.default_kv_soft_pin_ttl_ms = *soft_pin;
  options.service.max_kv_soft_pin_ttl_ms = *max_soft_pin;
  options.service.allow_evict_soft_pinned_objects = FLAGS_allow_evict_soft_pinned_objects;
  options.service.eviction_high_watermark_ratio = FLAGS_eviction_high_watermark_ratio;
  options.service.eviction_ratio = FLAGS_eviction_ratio;
  options.service.client_ttl_sec = FLAGS_client_ttl;
  options.service.dead_client_grace_sec = FLAGS_dead_client_grace_sec;
  options.service.put_start_discard_timeout_sec = FLAGS_put_start_discard_timeout_sec;
  options.service.put_start_release_timeout_sec = FLAGS_put_start_release_timeout_sec;
  options.service.allocation_strategy = *strategy;
  options.service.enable_offload = FLAGS_enable_offload;
  options.service.offload_on_evict = FLAGS_offload_on_evict;
  options.service.offload_force_evict = FLAGS_offload_force_evict;
  options.service.offloading_queue_limit = FLAGS_offloading_queue_limit;
  options.service.offload_cap_ratio = FLAGS_offload_cap_ratio;
  options.service.promotion_on_hit = FLAGS_promotion_on_hit;
  options.service.promotion_admission_threshold = FLAGS_promotion_admission_threshold;
  options.service.promotion_queue_limit = FLAGS_promotion_queue_limit;
  options.service.enable_disk_eviction = FLAGS_enable_disk_eviction;
  options.enable_metric_reporting = FLAGS_enable_metric_reporting;
  if (FLAGS_snapshot_interval_seconds == 0) return "--snapshot_interval_seconds must be above 0";
  options.snapshot_interval = std::chrono::seconds(FLAGS_snapshot_interval_seconds);
  if (port == 0 && FLAGS_metadata_dir == "auto" && FLAGS_snapshot_backup_dir.empty()) {
    options.metadata_dir = "";  // a port picked at random names no stable directory
  } else {
    options.metadata_dir = metadataDirFromFlags(port);
  }
  if (FLAGS_tls_cert_file.empty() != FLAGS_tls_key_file.empty()) {
    return "--tls_cert_file and --tls_key_file go together";
  }
  options.tls_cert_file = FLAGS_tls_cert_file;
  options.tls_key_file = FLAGS_tls_key_file;
  options.metrics_host = FLAGS_metrics_host;
  options.metrics_port = static_cast<uint16_t>(FLAGS_metrics_port);
  options.enable_http_metadata_server = FLAGS_enable_http_metadata_server;
  options.http_metadata_server_host = FLAGS_http_metadata_server_host;
  options.http_metadata_server_port = static_cast<uint16_t>(FLAGS_http_metadata_server_port);
  return "";
}
}  // namespace

// Which of the master's listeners other machines can reach without authentication (said once
// at start; nothing when a cluster secret is set). Ports as bound, or as configured for a
// standby that binds them only once it leads.
void warnOpenListeners(const mooncake::store::MasterServerOptions& options,
                       const mooncake::store::MasterServer* server) {
  using mooncake::tools::isLoopbackAddress;
  std::vector<std::string> open;
  auto add = [&open](const std::string& what, const std::string& host, int port, bool on) {
    if (on && !isLoopbackAddress(host)) {
      open.push_back(what + " " + host + ":" + (port != 0 ? std::to_string(port) : "(picked)"));
    }
  };
  add("gRPC", options.rpc_address, server ? server->rpcPort() : options.rpc_port, true);
  add("fast RPC", options.rpc_address, server ? server->fastRpcPort() : options.fast_rpc_port,
      options.enable_fast_rpc);
  add("metrics/admin", options.metrics_host, server ? server->metricsPort() : options.metrics_port,
      options.enable_metric_reporting);
  add("HTTP metadata", options.http_metadata_server_host,
      server ? server->httpMetadataPort() : options.http_metadata_server_port,
      options.enable_http_metadata_server);
  mooncake::tools::warnUnauthenticated("mooncake_master", open);
}

int runHa(const mooncake::store::MasterServerOptions& options) {
  if (FLAGS_ha_backend_type != "etcd") {
    std::fprintf(stderr, "mooncake_master: --ha_backend_type=%s: only etcd is supported\n",
                 FLAGS_ha_backend_type.c_str());
    return 2;
  }
  warnOpenListeners(options, nullptr);
  mooncake::store::HaOptions ha;
  // Standbys hold the leader's state (docs/STORE.md "HA"); the directory is not used.
  mooncake::store::MasterServerOptions term_options = options;
  term_options.metadata_dir.clear();
  if (!gflags::GetCommandLineFlagInfoOrDie("metadata_dir").is_default ||
      !FLAGS_snapshot_backup_dir.empty()) {
    std::fprintf(stderr,
                 "mooncake_master: WARNING: with --enable_ha the metadata directory is not used "
                 "(the standbys keep a copy of the leader's state; docs/STORE.md \"HA\")\n");
  }
  if (FLAGS_ha_replication_port > 65535 || FLAGS_ha_lease_ttl_sec < 2 ||
      FLAGS_ha_lease_ttl_sec > 3600) {
    std::fprintf(stderr,
                 "mooncake_master: --ha_replication_port must be 0..65535 and "
                 "--ha_lease_ttl_sec 2..3600\n");
    return 2;
  }
  ha.replication_port = static_cast<uint16_t>(FLAGS_ha_replication_port);
  ha.lease_ttl_sec = FLAGS_ha_lease_ttl_sec;
  ha.etcd_endpoints =
      FLAGS_ha_backend_connstring.empty() ? FLAGS_etcd_endpoints : FLAGS_ha_backend_connstring;
  ha.cluster_id = FLAGS_cluster_id;
  mooncake::Status status =
      mooncake::store::runHighlyAvailableMaster(term_options, ha, [] { return g_stop.load(); });
  if (!status.ok()) {
    std::fprintf(stderr, "mooncake_master: %s\n", status.toString().c_str());
    return status.is(mooncake::ErrorCode::ERR_INVALID_ARGUMENT) ? 2 : 1;
  }
  return 0;
}

int main(int argc, char** argv) {
  mooncake::tools::parseToolFlags(
      "mooncake_master",
      "Mooncake Store master: object metadata, placement, leases, eviction and client liveness "
      "over gRPC (plus fast RPC), with /metrics and an optional embedded HTTP metadata server",
      &argc, &argv);
  google::InitGoogleLogging(argv[0]);
  FLAGS_logtostderr = true;
  if (!FLAGS_config_path.empty()) {
    std::string error = mooncake::tools::applyMasterConfigFile(FLAGS_config_path);
    if (!error.empty()) {
      std::fprintf(stderr, "mooncake_master: %s\n", error.c_str());
      return 2;
    }
  }
  if (int code = mooncake::tools::checkUpstreamOnlyFlags(); code != 0) return code;
  mooncake::store::MasterServerOptions options;
  if (std::string error = optionsFromFlags(options); !error.empty()) {
    std::fprintf(stderr, "mooncake_master: %s\n", error.c_str());
    return 2;
  }
  std::signal(SIGINT, onSignal);
  std::signal(SIGTERM, onSignal);
  if (FLAGS_enable_ha) return runHa(options);
  auto server = mooncake::store::MasterServer::start(options);
  if (!server.ok()) {
    std::fprintf(stderr, "mooncake_master: %s\n", server.status().toString().c_str());
    return 1;
  }
  std::printf("mooncake_master listening on %s:%u (fast RPC port %u, metrics port %u)\n",
              FLAGS_rpc_address.c_str(), (*server)->rpcPort(), (*server)->fastRpcPort(),
              (*server)->metricsPort());
  if (!options.metadata_dir.empty()) {
    std::printf("mooncake_master metadata in %s\n", options.metadata_dir.c_str());
  }
  std::fflush(stdout);
  warnOpenListeners(options, server->get());
  while (!g_stop.load()) std::this_thread::sleep_for(std::chrono::milliseconds(100));
  (*server)->stop();
  return 0;
}
