// Cost of one eviction pass of the master (MasterService::evict freeing eviction_ratio = 5% of
// capacity) with N objects of 4 KiB stored, and of a put that has to evict to find room.
// Run: build/bench/master_eviction_bench
#include <benchmark/benchmark.h>

#include <string>

#include "store/master/master_service.h"

namespace mooncake::store {
namespace {

constexpr uint64_t kObject = 4096;

// A master whose one segment holds exactly `objects` objects of 4 KiB, all stored.
std::unique_ptr<MasterService> fullMaster(uint64_t objects) {
  MasterOptions options;
  options.default_kv_lease_ttl_ms = 0;  // no leases in the way
  auto master = std::make_unique<MasterService>(options);
  (void)master->mountSegment("c", {"node", 0x100000000, objects * kObject, "node:1"});
  for (uint64_t i = 0; i < objects; ++i) {
    std::string key = "k" + std::to_string(i);
    (void)master->putStart("c", key, kObject, {});
    (void)master->putEnd("c", key);
  }
  return master;
}

void BM_EvictionPass(benchmark::State& state) {
  const auto objects = static_cast<uint64_t>(state.range(0));
  auto master = fullMaster(objects);
  uint64_t next = objects;
  for (auto _ : state) {
    uint64_t freed = master->evict(objects * kObject / 20);
    state.PauseTiming();
    // Refill what was evicted so every pass starts from a full segment.
    for (uint64_t b = 0; b < freed; b += kObject, ++next) {
      std::string key = "k" + std::to_string(next);
      (void)master->putStart("c", key, kObject, {});
      (void)master->putEnd("c", key);
    }
    state.ResumeTiming();
  }
  state.counters["objects"] = static_cast<double>(objects);
}
BENCHMARK(BM_EvictionPass)->Arg(10000)->Arg(100000)->Arg(1000000)->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace mooncake::store

BENCHMARK_MAIN();
