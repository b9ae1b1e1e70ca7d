#include "mooncake_master/upstream_flags.h"

#include <gflags/gflags.h>

#include <cstdint>
#include <cstdio>
#include <limits>

// Tuning flags: accepted; set to anything but the default, one warning line each.
DEFINE_int32(rpc_thread_num, 0, "upstream tuning flag; no effect here (event-driven servers)");
DEFINE_int32(max_threads, 4, "upstream tuning flag; no effect here");
DEFINE_int32(rpc_conn_timeout_seconds, 0, "upstream tuning flag; no effect here");
DEFINE_bool(rpc_enable_tcp_no_delay, true, "upstream tuning flag; no effect here");
DEFINE_string(rpc_interface, "", "upstream tuning flag; no effect here (use --rpc_address)");
DEFINE_string(memory_allocator, "offset", "upstream tuning flag; no effect here");
DEFINE_bool(enable_metadata_cleanup_on_timeout, false, "upstream tuning flag; no effect here");
DEFINE_uint64(max_total_finished_tasks, 10000, "upstream task-queue flag; no effect here");
DEFINE_uint64(max_total_pending_tasks, 10000, "upstream task-queue flag; no effect here");
DEFINE_uint64(max_total_processing_tasks, 10000, "upstream task-queue flag; no effect here");
DEFINE_uint64(pending_task_timeout_sec, 300, "upstream task-queue flag; no effect here");
DEFINE_uint64(processing_task_timeout_sec, 300, "upstream task-queue flag; no effect here");
DEFINE_uint32(max_retry_attempts, 10, "upstream task-queue flag; no effect here");
DEFINE_int64(global_file_segment_size, std::numeric_limits<int64_t>::max(),
             "upstream disk-tier flag; no effect here");
DEFINE_uint64(promotion_max_per_heartbeat, 1, "upstream promotion flag; no effect here");
DEFINE_uint64(snapshot_child_timeout_seconds, 300, "upstream snapshot flag; no effect here");
DEFINE_uint32(snapshot_retention_count, 2, "upstream snapshot flag; no effect here");
DEFINE_string(snapshot_object_store_type, "", "upstream snapshot flag; no effect here");
DEFINE_string(snapshot_payload_store_type, "", "upstream snapshot flag; no effect here");
DEFINE_string(snapshot_payload_backend_type, "", "upstream snapshot flag; no effect here");
DEFINE_string(snapshot_catalog_store_type, "", "upstream snapshot flag; no effect here");
DEFINE_string(snapshot_catalog_backend_type, "", "upstream snapshot flag; no effect here");
DEFINE_string(snapshot_catalog_store_connstring, "", "upstream snapshot flag; no effect here");
DEFINE_string(snapshot_catalog_backend_connstring, "", "upstream snapshot flag; no effect here");
DEFINE_uint64(oplog_poll_interval_ms, 1000, "upstream oplog flag; no effect here");
DEFINE_uint64(oplog_batch_max_entries, 1024, "upstream oplog flag; no effect here");
DEFINE_uint64(batch_oplog_retry_timeout_sec, 180, "upstream oplog flag; no effect here");
DEFINE_string(cxl_path, "/dev/dax0.0", "upstream CXL flag; no effect here");
DEFINE_uint64(cxl_size, 8589934592ull, "upstream CXL flag; no effect here");
DEFINE_string(kv_events_bind_endpoint, "", "upstream KV-events flag; no effect here");
DEFINE_string(kv_events_backend_id, "", "upstream KV-events flag; no effect here");
DEFINE_bool(kv_events_emit_legacy_compat, true, "upstream KV-events flag; no effect here");
DEFINE_bool(kv_events_emit_object_key, true, "upstream KV-events flag; no effect here");
DEFINE_uint64(kv_events_queue_capacity, 65536, "upstream KV-events flag; no effect here");
DEFINE_string(kv_events_model_name, "", "upstream KV-events flag; no effect here");
DEFINE_string(kv_events_additional_salt, "", "upstream KV-events flag; no effect here");
DEFINE_string(kv_events_lora_name, "", "upstream KV-events flag; no effect here");
DEFINE_uint64(kv_events_block_size, 0, "upstream KV-events flag; no effect here");
DEFINE_uint64(kv_events_dp_rank, 0, "upstream KV-events flag; no effect here");
DEFINE_string(kv_events_tenant_id, "default", "upstream KV-events flag; no effect here");
DEFINE_string(tenant_quota_connector_type, "file", "upstream tenant flag; no effect here");
DEFINE_string(tenant_quota_connector_uri, "", "upstream tenant flag; no effect here");

// Feature flags: the master refuses to start when one asks for the feature.
DEFINE_string(root_fs_dir, "",
              "upstream shared-file-system DISK replicas (not in this build; the disk tier is "
              "--enable_offload with clients' own disks)");
DEFINE_bool(enable_cxl, false, "upstream CXL memory segments (not in this build)");
DEFINE_bool(enable_kv_events, false, "upstream KV cache events (not in this build)");
DEFINE_bool(enable_multi_tenants, false, "upstream multi-tenancy (not in this build)");
DEFINE_uint64(quota_bytes, 0, "upstream per-tenant quota (not in this build)");

namespace mooncake::tools {
namespace {

struct FeatureFlag {
  const char* flag;
  const char* feature;
};

constexpr FeatureFlag kFeatureFlags[] = {
    {"root_fs_dir", "shared-file-system DISK replicas (use --enable_offload)"},
    {"enable_cxl", "CXL memory segments"},
    {"enable_kv_events", "KV cache events"},
    {"enable_multi_tenants", "multi-tenancy"},
    {"quota_bytes", "tenant quotas"},
};

bool isFeatureFlag(const std::string& name) {
  for (const FeatureFlag& feature : kFeatureFlags) {
    if (name == feature.flag) return true;
  }
  return false;
}

}  // namespace

int checkUpstreamOnlyFlags() {
  for (const FeatureFlag& feature : kFeatureFlags) {
    gflags::CommandLineFlagInfo info;
    if (gflags::GetCommandLineFlagInfo(feature.flag, &info) && !info.is_default &&
        info.current_value != info.default_value) {
      std::fprintf(stderr,
                   "mooncake_master: --%s=%s asks for %s, which is not available in this build; "
                   "remove the flag\n",
                   feature.flag, info.current_value.c_str(), feature.feature);
      return 2;
    }
  }
  std::vector<gflags::CommandLineFlagInfo> flags;
  gflags::GetAllFlags(&flags);
  for (const auto& info : flags) {
    if (info.filename.find("upstream_flags.cc") == std::string::npos || info.is_default ||
        info.current_value == info.default_value || isFeatureFlag(info.name)) {
      continue;
    }
    std::fprintf(stderr,
                 "mooncake_master: WARNING: --%s=%s is accepted for compatibility with upstream "
                 "and has no effect in this build\n",
                 info.name.c_str(), info.current_value.c_str());
  }
  return 0;
}

}  // namespace mooncake::tools
