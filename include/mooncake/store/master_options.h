// Options of the Store master's metadata service (mooncake_master flags fill them; names and
// defaults as upstream).
#pragma once

#include <cstdint>

namespace mooncake::store {

// --allocation_strategy: where replicas go after the put's preferred segments.
enum class AllocationStrategy {
  kRandom,          // "random": a random order of segments (spreads load evenly)
  kFreeRatioFirst,  // "free_ratio_first": emptiest segments (by free share) first
  kLocalFirst,      // "local_first": the writer's own segments first, then random
};

struct MasterOptions {
  // --default_kv_lease_ttl: ms a read lease protects an object from eviction and removal.
  uint64_t default_kv_lease_ttl_ms = 10000;
  // --default_kv_soft_pin_ttl / --max_kv_soft_pin_ttl: soft pin lifetime, ms.
  uint64_t default_kv_soft_pin_ttl_ms = 30 * 60 * 1000;
  uint64_t max_kv_soft_pin_ttl_ms = 24 * 60 * 60 * 1000;
  // --allow_evict_soft_pinned_objects: evict soft-pinned objects when nothing else is left.
  bool allow_evict_soft_pinned_objects = true;
  // --eviction_high_watermark_ratio: usage that starts background eviction.
  double eviction_high_watermark_ratio = 0.90;
  // --eviction_ratio: share of total capacity one eviction pass frees.
  double eviction_ratio = 0.05;
  // --client_ttl: seconds without a ping before a client is declared dead.
  uint64_t client_ttl_sec = 10;
  // --dead_client_grace_sec: how long the objects of a client declared dead are kept, hidden,
  // in case it comes back (a paused or cut-off process whose memory is intact); 0 drops them at
  // once.
  uint64_t dead_client_grace_sec = 600;
  // --put_start_discard_timeout_sec: an unfinished put older than this can be taken over.
  uint64_t put_start_discard_timeout_sec = 30;
  // --put_start_release_timeout_sec: an abandoned put's space is reused only after this long,
  // so a writer that was merely slow cannot overwrite someone else's data.
  uint64_t put_start_release_timeout_sec = 600;
  AllocationStrategy allocation_strategy = AllocationStrategy::kRandom;
  // Metadata shards; unrelated keys on different shards never contend.
  uint32_t shard_count = 64;
};

}  // namespace mooncake::store
