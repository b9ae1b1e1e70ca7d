// Allocation throughput of the store's per-segment allocator, for uniform KV-block sizes and for
// mixed sizes, in steady state (a full-ish segment with churn). Utilization after churn is
// reported as a counter. Run: build/bench/segment_allocator_bench
#include <benchmark/benchmark.h>

#include <random>
#include <vector>

#include "store/master/segment_allocator.h"

namespace mooncake::store {
namespace {

void BM_UniformChurn(benchmark::State& state) {
  const uint64_t object = static_cast<uint64_t>(state.range(0));
  SegmentAllocator allocator(0x100000000, 4ull << 30);
  std::vector<SegmentAllocator::Allocation> live;
  while (auto a = allocator.allocate(object)) live.push_back(*a);
  std::mt19937_64 random(1);
  for (auto _ : state) {
    size_t pick = random() % live.size();
    allocator.free(live[pick]);
    live[pick] = *allocator.allocate(object);
  }
  state.SetItemsProcessed(state.iterations());
  state.counters["utilization"] =
      static_cast<double>(allocator.usedBytes()) / static_cast<double>(allocator.capacity());
}
BENCHMARK(BM_UniformChurn)->Arg(4096)->Arg(3198 * 1024)->Arg(1 << 20);

void BM_MixedChurn(benchmark::State& state) {
  SegmentAllocator allocator(0x100000000, 4ull << 30);
  std::vector<SegmentAllocator::Allocation> live;
  std::mt19937_64 random(2);
  auto size = [&] { return uint64_t{4096} << (random() % 9); };  // 4 KiB .. 1 MiB
  while (allocator.usedBytes() < allocator.capacity() * 3 / 4) {
    if (auto a = allocator.allocate(size())) live.push_back(*a);
  }
  uint64_t failures = 0;
  for (auto _ : state) {
    size_t pick = random() % live.size();
    allocator.free(live[pick]);
    if (auto a = allocator.allocate(size())) {
      live[pick] = *a;
    } else {
      live[pick] = live.back();
      live.pop_back();
      ++failures;
    }
  }
  state.SetItemsProcessed(state.iterations());
  state.counters["failed"] = static_cast<double>(failures);
}
BENCHMARK(BM_MixedChurn);

}  // namespace
}  // namespace mooncake::store

BENCHMARK_MAIN();
