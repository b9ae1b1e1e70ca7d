// A fixed-bucket latency histogram for Prometheus: lock-free recording (relaxed atomics; each
// bucket is an independent tally), rendered as a cumulative `_bucket{le=...}` series in seconds.
#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <string>

namespace mooncake {

class LatencyHistogram {
 public:
  // Upper bounds in microseconds; a final +Inf bucket catches the rest.
  static constexpr std::array<uint64_t, 14> kBoundsUs = {
      10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000, 25000, 100000, 1000000, 10000000};

  void record(std::chrono::nanoseconds elapsed) {
    auto us = static_cast<uint64_t>(
        std::chrono::duration_cast<std::chrono::microseconds>(elapsed).count());
    size_t bucket = 0;
    while (bucket < kBoundsUs.size() && us > kBoundsUs[bucket]) ++bucket;
    buckets_[bucket].fetch_add(1, std::memory_order_relaxed);
    sum_ns_.fetch_add(static_cast<uint64_t>(elapsed.count()), std::memory_order_relaxed);
    count_.fetch_add(1, std::memory_order_relaxed);
  }

  uint64_t count() const { return count_.load(std::memory_order_relaxed); }

  // Appends `name`_bucket/_sum/_count lines with the given label set (e.g. `method="Ping"`).
  void render(const std::string& name, const std::string& labels, std::string& out) const;

 private:
  std::array<std::atomic<uint64_t>, kBoundsUs.size() + 1> buckets_{};
  std::atomic<uint64_t> sum_ns_{0};
  std::atomic<uint64_t> count_{0};
};

// Records the time from construction to destruction into a histogram.
class ScopedLatency {
 public:
  explicit ScopedLatency(LatencyHistogram& histogram)
      : histogram_(histogram), started_(std::chrono::steady_clock::now()) {}
  ~ScopedLatency() { histogram_.record(std::chrono::steady_clock::now() - started_); }
  ScopedLatency(const ScopedLatency&) = delete;
  ScopedLatency& operator=(const ScopedLatency&) = delete;

 private:
  LatencyHistogram& histogram_;
  std::chrono::steady_clock::time_point started_;
};

}  // namespace mooncake
