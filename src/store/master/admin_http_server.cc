#include "store/master/admin_http_server.h"

#include <nlohmann/json.hpp>
#include <regex>
#include <sstream>
#include <thread>

#include "common/auth/auth_failures.h"
#include "common/net/http_server.h"
#include "store/master/durable/metadata_log.h"
#include "store/master/master_service.h"

namespace mooncake::store {

namespace {

net::HttpServerOptions adminOptions(auth::SecretRef secret, std::shared_ptr<net::TlsContext> tls) {
  net::HttpServerOptions options = net::HttpServerOptions::statusEndpoint("master admin");
  options.auth = std::move(secret);
  options.auth_listener = auth::Listener::kMasterAdmin;
  options.open_paths = {"/metrics", "/health", "/role"};
  options.tls = std::move(tls);
  return options;
}

}  // namespace

struct AdminHttpServer::State {
  State(auth::SecretRef secret, std::shared_ptr<net::TlsContext> tls)
      : server(adminOptions(std::move(secret), std::move(tls))) {}
  net::HttpServer server;
};

std::string renderPrometheusMetrics(MasterService& service) {
  std::ostringstream out;
  auto gauge = [&out](const char* name, const char* help, uint64_t value) {
    out << "# HELP " << name << " " << help << "\n# TYPE " << name << " gauge\n"
        << name << " " << value << "\n";
  };
  auto counter = [&out](const char* name, const char* help, const std::atomic<uint64_t>& value) {
    out << "# HELP " << name << " " << help << "\n# TYPE " << name << " counter\n"
        << name << " " << value.load(std::memory_order_relaxed) << "\n";
  };
  gauge("mooncake_master_is_leader", "1 while this master leads its cluster.", 1);
  gauge("mooncake_master_objects", "Objects (complete or being written).", service.objectCount());
  gauge("mooncake_master_leased_objects",
        "Objects under a read lease (neither evicted nor removed without force).",
        service.leasedObjectCount());
  gauge("mooncake_master_bytes_used", "Allocated bytes across all segments.", service.usedBytes());
  gauge("mooncake_master_bytes_total", "Capacity of all mounted segments.",
        service.capacityBytes());
  gauge("mooncake_master_clients", "Clients that pinged within --client_ttl.",
        service.liveClientCount());
  gauge("mooncake_master_reservations", "Space reserved for clients' next puts (not yet used).",
        service.reservationCount());
  const MasterCounters& c = service.counters();
  counter("mooncake_master_put_start_total", "PutStart calls.", c.put_starts);
  counter("mooncake_master_put_end_total", "Puts made readable.", c.put_ends);
  counter("mooncake_master_put_revoke_total", "Puts revoked.", c.put_revokes);
  counter("mooncake_master_reserve_total", "Reservations granted (Reserve, CommitReserved).",
          c.reservations);
  counter("mooncake_master_reserved_commit_total",
          "Puts made readable by CommitReserved (write + one round trip).", c.reserved_commits);
  counter("mooncake_master_upsert_start_total", "UpsertStart calls.", c.upsert_starts);
  counter("mooncake_master_upsert_in_place_total", "Upserts that reused the old allocation.",
          c.upserts_in_place);
  counter("mooncake_master_degraded_put_total",
          "Puts completed with fewer replicas than placed (a replica write failed).",
          c.degraded_puts);
  counter("mooncake_master_get_replica_list_total",
          "GetReplicaList/ExistKey calls; each found object gets a read lease.",
          c.get_replica_lists);
  counter("mooncake_master_remove_total", "Remove calls.", c.removes);
  counter("mooncake_master_no_space_total", "Puts refused with NO_AVAILABLE_HANDLE.",
          c.no_space_errors);
  counter("mooncake_master_evicted_objects_total", "Objects evicted.", c.evicted_objects);
  counter("mooncake_master_evicted_bytes_total", "Bytes freed by eviction (all replicas).",
          c.evicted_bytes);
  counter("mooncake_master_expired_clients_total", "Clients declared dead.", c.expired_clients);
  counter("mooncake_master_returned_clients_total",
          "Clients declared dead that came back within --dead_client_grace_sec (their objects "
          "with them).",
          c.returned_clients);
  gauge("mooncake_master_detached_segments",
        "Segments of clients declared dead, kept (hidden) in case they come back.",
        service.detachedSegmentCount());
  out << "# HELP mooncake_master_segment_bytes_used Allocated bytes per segment.\n"
      << "# TYPE mooncake_master_segment_bytes_used gauge\n";
  auto segments = service.segmentStats();
  for (const SegmentStats& s : segments) {
    out << "mooncake_master_segment_bytes_used{segment=\"" << s.te_endpoint << "\"} "
        << s.used_bytes << "\n";
  }
  out << "# HELP mooncake_master_segment_bytes_total Capacity per segment.\n"
      << "# TYPE mooncake_master_segment_bytes_total gauge\n";
  for (const SegmentStats& s : segments) {
    out << "mooncake_master_segment_bytes_total{segment=\"" << s.te_endpoint << "\"} "
        << s.capacity_bytes << "\n";
  }
  if (const ReplicationGate* gate = service.replicationGate()) {
    gauge("mooncake_master_ha_in_sync_standbys",
          "Standby masters that hold every change this leader answered (replies wait for them).",
          gate->inSyncStandbys());
  }
  if (const durable::MetadataLog* log = service.metadataLog(); log && !log->dir().empty()) {
    gauge("mooncake_master_metadata_log_bytes",
          "Bytes in the metadata log since the last snapshot.", log->logBytes());
    gauge("mooncake_master_metadata_snapshot_bytes", "Size of the last metadata snapshot.",
          log->snapshotBytes());
    gauge("mooncake_master_metadata_log_failed",
          "1 while the metadata log cannot be written (changes kept in memory only).",
          log->failed() ? 1 : 0);
    out << "# HELP mooncake_master_metadata_snapshots_total Metadata snapshots written.\n"
        << "# TYPE mooncake_master_metadata_snapshots_total counter\n"
        << "mooncake_master_metadata_snapshots_total " << log->snapshots() << "\n"
        << "# HELP mooncake_master_metadata_lost_records_total Changes the metadata log could "
           "not record.\n"
        << "# TYPE mooncake_master_metadata_lost_records_total counter\n"
        << "mooncake_master_metadata_lost_records_total " << log->lostRecords() << "\n";
    gauge("mooncake_master_recovered_objects", "Objects restored from the metadata at start.",
          service.restoreStats().objects);
  }
  if (service.options().enable_offload) {
    counter("mooncake_master_offloads_queued_total", "Objects queued for a holder's disk tier.",
            c.offloads_queued);
    counter("mooncake_master_offloaded_objects_total",
            "Disk copies recorded (the holder's write was durable).", c.offloaded_objects);
    counter("mooncake_master_offloaded_bytes_total", "Bytes of the disk copies recorded.",
            c.offloaded_bytes);
    counter("mooncake_master_offload_failures_total",
            "Offloads a holder could not write (full or failing disk).", c.offload_failures);
    counter("mooncake_master_offload_rejected_total",
            "Offloads that landed after their object changed or went (deleted again).",
            c.offload_rejected);
    counter("mooncake_master_offload_queue_full_total",
            "Objects not queued because their holder's queue was at --offloading_queue_limit.",
            c.offload_queue_full);
    counter("mooncake_master_evicted_to_disk_total",
            "Evictions that freed memory and kept the disk copy.", c.evicted_to_disk);
    counter("mooncake_master_evicted_without_offload_total",
            "Evictions of objects that had no disk copy although offload is on (dropped).",
            c.evicted_without_offload);
    counter("mooncake_master_disk_replica_reads_total",
            "Lookups answered with a disk replica (no memory copy).", c.disk_replica_reads);
    counter("mooncake_master_disk_replicas_registered_total",
            "Disk copies holders registered after they (re)mounted.", c.disk_replicas_registered);
    counter("mooncake_master_disk_replicas_evicted_total",
            "Disk copies holders dropped (full disk, damaged records).", c.disk_replicas_evicted);
    counter("mooncake_master_promotions_queued_total",
            "Disk-only objects queued to be copied back to memory.", c.promotions_queued);
    counter("mooncake_master_promotions_total", "Disk-only objects copied back to memory.",
            c.promotions);
    counter("mooncake_master_promotion_failures_total", "Promotions that could not be done.",
            c.promotion_failures);
    auto holders = service.diskHolderStats();
    auto per_holder = [&](const char* name, const char* help, auto field) {
      out << "# HELP " << name << " " << help << "\n# TYPE " << name << " gauge\n";
      for (const DiskHolderStats& h : holders) {
        out << name << "{holder=\"" << h.disk_endpoint << "\"} " << field(h) << "\n";
      }
    };
    per_holder("mooncake_master_disk_bytes", "Bytes on each holder's disk tier.",
               [](const DiskHolderStats& h) { return h.usage.bytes; });
    per_holder("mooncake_master_disk_objects", "Objects on each holder's disk tier.",
               [](const DiskHolderStats& h) { return h.usage.objects; });
    per_holder("mooncake_master_disk_capacity_bytes", "Capacity of each holder's disk tier.",
               [](const DiskHolderStats& h) { return h.usage.capacity; });
    per_holder("mooncake_master_disk_checksum_failures",
               "Records each holder found damaged (dropped, never returned).",
               [](const DiskHolderStats& h) { return h.usage.checksum_failures; });
    per_holder("mooncake_master_disk_accepting",
               "1 while a holder takes offloads (0: its disk is full and does not evict).",
               [](const DiskHolderStats& h) { return h.usage.accepting ? 1 : 0; });
    per_holder("mooncake_master_offload_queue", "Offloads waiting per holder.",
               [](const DiskHolderStats& h) { return h.offload_queue; });
    per_holder("mooncake_master_promotion_queue", "Promotions waiting per holder.",
               [](const DiskHolderStats& h) { return h.promotion_queue; });
  }
  out << "# HELP mooncake_auth_failures_total Connections or requests refused for a missing or "
         "wrong proof of the cluster secret, per listener.\n"
      << "# TYPE mooncake_auth_failures_total counter\n";
  for (int i = 0; i < static_cast<int>(auth::Listener::kCount); ++i) {
    auto listener = static_cast<auth::Listener>(i);
    out << "mooncake_auth_failures_total{port=\"" << auth::listenerName(listener) << "\"} "
        << auth::failures(listener) << "\n";
  }
  std::string latencies;
  service.renderLatencies(latencies);
  out << latencies;
  return out.str();
}

AdminHttpServer::AdminHttpServer(MasterService& service, auth::SecretRef secret,
                                 std::shared_ptr<net::TlsContext> tls)
    : state_(std::make_unique<State>(std::move(secret), std::move(tls))) {
  net::HttpServer& server = state_->server;
  MasterService* svc = &service;
  server.route("GET", "/metrics",
               [svc](const net::HttpServerRequest&, net::HttpServerResponse& response) {
                 response.set(renderPrometheusMetrics(*svc), "text/plain; version=0.0.4");
               });
  // A standby (--enable_ha) answers these two with "standby" (StandbyStatusServer).
  server.route("GET", "/health",
               [](const net::HttpServerRequest&, net::HttpServerResponse& response) {
                 response.set(R"({"status":"OK","role":"leader"})", "application/json");
               });
  server.route("GET", "/role",
               [](const net::HttpServerRequest&, net::HttpServerResponse& response) {
                 response.set("leader", "text/plain");
               });
  server.route(
      "GET", "/query_key",
      [svc](const net::HttpServerRequest& request, net::HttpServerResponse& response) {
        auto list = svc->replicasByRegex("^" +
                                         std::regex_replace(request.param("key"),
                                                            std::regex(R"([.^$|()\[\]{}*+?\\])"),
                                                            R"(\$&)") +
                                         "$");
        if (!list.ok() || list->empty()) {
          response.status = 404;
          response.set("key not found", "text/plain");
          return;
        }
        nlohmann::json replicas = nlohmann::json::array();
        for (const ReplicaDescriptor& r : list->front().second) {
          replicas.push_back(
              {{"te_endpoint", r.te_endpoint}, {"address", r.address}, {"size", r.size}});
        }
        response.set(nlohmann::json{{"key", list->front().first}, {"replicas", replicas}}.dump(),
                     "application/json");
      });
  server.route("GET", "/get_all_keys",
               [svc](const net::HttpServerRequest&, net::HttpServerResponse& response) {
                 std::string body;
                 for (const std::string& key : svc->allKeys()) body += key + "\n";
                 response.set(body, "text/plain");
               });
  server.route("GET", "/get_all_segments",
               [svc](const net::HttpServerRequest&, net::HttpServerResponse& response) {
                 nlohmann::json segments = nlohmann::json::array();
                 for (const SegmentStats& s : svc->segmentStats()) {
                   segments.push_back({{"id", s.id},
                                       {"name", s.name},
                                       {"te_endpoint", s.te_endpoint},
                                       {"used_bytes", s.used_bytes},
                                       {"capacity_bytes", s.capacity_bytes}});
                 }
                 response.set(segments.dump(), "application/json");
               });
}

AdminHttpServer::~AdminHttpServer() { stop(); }

Status AdminHttpServer::start(const std::string& host, uint16_t port) {
  return state_->server.start(host, port, "--metrics_port");
}

void AdminHttpServer::stop() { state_->server.stop(); }

uint16_t AdminHttpServer::port() const { return state_->server.port(); }

}  // namespace mooncake::store
