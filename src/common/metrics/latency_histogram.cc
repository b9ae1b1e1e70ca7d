#include "common/metrics/latency_histogram.h"

#include <cstdio>

namespace mooncake {

void LatencyHistogram::render(const std::string& name, const std::string& labels,
                              std::string& out) const {
  std::string prefix = labels.empty() ? "" : labels + ",";
  uint64_t cumulative = 0;
  char line[96];
  for (size_t i = 0; i <= kBoundsUs.size(); ++i) {
    cumulative += buckets_[i].load(std::memory_order_relaxed);
    if (i < kBoundsUs.size()) {
      std::snprintf(line, sizeof(line), "%g", static_cast<double>(kBoundsUs[i]) / 1e6);
    } else {
      std::snprintf(line, sizeof(line), "+Inf");
    }
    out += name + "_bucket{" + prefix + "le=\"" + line + "\"} " + std::to_string(cumulative) + "\n";
  }
  std::snprintf(line, sizeof(line), "%.9f",
                static_cast<double>(sum_ns_.load(std::memory_order_relaxed)) / 1e9);
  std::string braces = labels.empty() ? "" : "{" + labels + "}";
  out += name + "_sum" + braces + " " + line + "\n";
  out += name + "_count" + braces + " " + std::to_string(count()) + "\n";
}

}  // namespace mooncake
