#include "common/auth/auth_failures.h"

#include <atomic>

namespace mooncake::auth {
namespace {

constexpr int kListeners = static_cast<int>(Listener::kCount);
std::atomic<uint64_t> g_failures[kListeners];
constexpr std::string_view kNames[kListeners] = {"master_grpc", "master_fast_rpc", "te_handshake",
                                                 "te_data",     "http_metadata",   "master_admin",
                                                 "disk_tier"};

}  // namespace

std::string_view listenerName(Listener listener) { return kNames[static_cast<int>(listener)]; }

void countFailure(Listener listener) {
  g_failures[static_cast<int>(listener)].fetch_add(1, std::memory_order_relaxed);
}

uint64_t failures(Listener listener) {
  return g_failures[static_cast<int>(listener)].load(std::memory_order_relaxed);
}

}  // namespace mooncake::auth
