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

  // The disk tier (docs/STORE.md "Disk tier"). --enable_offload: objects whose memory replica
  // lives on a client with a disk tier get a copy on that client's disk.
  bool enable_offload = false;
  // --offload_on_evict: write an object to disk only when eviction picks it. Off: every
  // completed put is written behind. Either way eviction frees the memory of an object without
  // a disk copy only once its write is durable (puts that find no room wait for that).
  bool offload_on_evict = false;
  // --offload_force_evict: when an eviction pass has deferred its share of the queue
  // (offload_cap_ratio * offloading_queue_limit), evict further objects without a disk copy
  // instead of keeping them in memory.
  bool offload_force_evict = false;
  // --offloading_queue_limit: offloads waiting per holder; beyond it objects are not queued.
  uint64_t offloading_queue_limit = 50000;
  // --offload_cap_ratio: the share of the queue limit one eviction pass may defer.
  double offload_cap_ratio = 0.5;
  // --promotion_on_hit: copy a disk-only object back to memory after
  // --promotion_admission_threshold reads, in the background.
  bool promotion_on_hit = false;
  uint64_t promotion_admission_threshold = 2;
  // --promotion_queue_limit: promotions waiting per holder.
  uint64_t promotion_queue_limit = 50000;
  // --enable_disk_eviction: a full disk tier drops its oldest objects (told to the holders).
  bool enable_disk_eviction = true;
};

}  // namespace mooncake::store
