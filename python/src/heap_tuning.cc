#include "heap_tuning.h"

#include <malloc.h>

#include <mutex>
#include <string>

#include "common/config/env.h"
#include "common/config/parse.h"
#include "common/logging.h"

namespace mooncake::python {
namespace {

constexpr int64_t kDefaultKeepMiB = 128;
constexpr int64_t kMaxKeepMiB = 2047;  // mallopt takes an int
// glibc's own ceiling for its moving mmap threshold (and for M_MMAP_THRESHOLD) on 64-bit: larger
// blocks always get a mapping of their own.
constexpr int kMmapThresholdBytes = 32 << 20;

bool userTunedGlibc() {
  if (config::readEnv("MALLOC_TRIM_THRESHOLD_") || config::readEnv("MALLOC_MMAP_THRESHOLD_")) {
    return true;
  }
  auto tunables = config::readEnv("GLIBC_TUNABLES");
  return tunables && (tunables->find("glibc.malloc.trim_threshold") != std::string::npos ||
                      tunables->find("glibc.malloc.mmap_threshold") != std::string::npos);
}

void keepFreedHeap() {
  int64_t keep_mib = kDefaultKeepMiB;
  if (auto text = config::readEnv("MC_PYTHON_HEAP_KEEP_MB")) {
    auto parsed = config::parseInt(*text, 0, kMaxKeepMiB);
    if (!parsed.ok()) {
      LOG(WARNING) << "MC_PYTHON_HEAP_KEEP_MB=" << *text << ": " << parsed.status().message()
                   << "; leaving the C heap's settings as they are";
      return;
    }
    keep_mib = *parsed;
  }
  if (keep_mib == 0 || userTunedGlibc()) return;
  const bool set = ::mallopt(M_MMAP_THRESHOLD, kMmapThresholdBytes) == 1 &&
                   ::mallopt(M_TRIM_THRESHOLD, static_cast<int>(keep_mib << 20)) == 1;
  if (!set) {
    LOG(WARNING) << "mallopt refused the C heap's thresholds; large gets may fault their pages in";
    return;
  }
  VLOG(1) << "C heap: keeping up to " << keep_mib
          << " MiB of freed memory (MC_PYTHON_HEAP_KEEP_MB)";
}

}  // namespace

void prepareHeapFor(uint64_t object_bytes) {
  if (object_bytes < kLargeObjectBytes) return;
  static std::once_flag once;
  std::call_once(once, keepFreedHeap);
}

}  // namespace mooncake::python
