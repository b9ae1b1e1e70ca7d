// How a put wants its object stored (upstream's ReplicateConfig).
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace mooncake::store {

struct ReplicateConfig {
  // Copies on distinct segments. Best effort: fewer are placed when space is short even after
  // eviction; the put fails (NO_AVAILABLE_HANDLE) only when none fits.
  size_t replica_num = 1;
  // Soft pin: eviction spares the object while anything else can go, for soft_pin_ttl_ms
  // (default: the master's --default_kv_soft_pin_ttl) from the moment it becomes readable.
  bool with_soft_pin = false;
  std::optional<uint64_t> soft_pin_ttl_ms;
  // Hard pin: never evicted; only an explicit remove deletes it.
  bool with_hard_pin = false;
  // Segment names (a client's local_hostname) tried first, in order.
  std::vector<std::string> preferred_segments;
  // Place the first replica in the writer's own segment when it has room (after
  // preferred_segments), as the master's --allocation_strategy=local_first does for every put.
  bool prefer_alloc_in_same_node = false;
};

}  // namespace mooncake::store
