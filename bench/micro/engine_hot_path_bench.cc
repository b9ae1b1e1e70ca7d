// Micro benchmarks of the engine's per-request and per-slice work: slicing, registered-range
// lookups (local registry and remote descriptor), handshake frame encoding, and the ring queue
// the TCP lanes use. Run: build/bench/engine_hot_path_bench
#include <benchmark/benchmark.h>

#include "common/ring_queue.h"
#include "transfer_engine/engine/batch.h"
#include "transfer_engine/engine/buffer_registry.h"
#include "transfer_engine/handshake/frame_codec.h"
#include "transfer_engine/metadata/segment_descriptor.h"

namespace mooncake::te {
namespace {

void BM_SliceOneMiB(benchmark::State& state) {
  uint64_t total = 0;
  for (auto _ : state) {
    forEachSlice(1 << 20, 65536,
                 [&](uint64_t offset, uint64_t length) { total += offset ^ length; });
  }
  benchmark::DoNotOptimize(total);
  state.SetItemsProcessed(state.iterations() * 16);
}
BENCHMARK(BM_SliceOneMiB);

void BM_RegistryContains(benchmark::State& state) {
  BufferRegistry registry;
  const auto buffers = static_cast<uintptr_t>(state.range(0));
  for (uintptr_t i = 0; i < buffers; ++i) {
    (void)registry.add({0x100000 + i * 0x20000, 0x10000, "cpu:0", true});
  }
  uintptr_t i = 0;
  for (auto _ : state) {
    uintptr_t addr = 0x100000 + (i++ % buffers) * 0x20000 + 64;
    benchmark::DoNotOptimize(registry.contains(addr, 4096, true));
  }
}
BENCHMARK(BM_RegistryContains)->Arg(1)->Arg(64)->Arg(4096);

void BM_DescriptorContainsRange(benchmark::State& state) {
  SegmentDescriptor descriptor;
  for (uint64_t i = 0; i < static_cast<uint64_t>(state.range(0)); ++i) {
    descriptor.buffers.push_back({"cpu:0", 0x100000 + i * 0x20000, 0x10000});
  }
  uint64_t i = 0;
  for (auto _ : state) {
    uint64_t addr = 0x100000 + (i++ % descriptor.buffers.size()) * 0x20000 + 64;
    benchmark::DoNotOptimize(descriptor.containsRange(addr, 4096));
  }
}
BENCHMARK(BM_DescriptorContainsRange)->Arg(1)->Arg(64)->Arg(4096);

void BM_EncodeHandshakeFrame(benchmark::State& state) {
  std::string json(static_cast<size_t>(state.range(0)), 'x');
  for (auto _ : state) benchmark::DoNotOptimize(encodeFrame(FrameType::kMetadata, json));
  state.SetBytesProcessed(state.iterations() * state.range(0));
}
BENCHMARK(BM_EncodeHandshakeFrame)->Arg(256)->Arg(64 << 10);

void BM_RingQueuePushPop(benchmark::State& state) {
  RingQueue<void*> queue;
  for (auto _ : state) {
    for (int i = 0; i < 32; ++i) queue.push(&queue);
    for (int i = 0; i < 32; ++i) benchmark::DoNotOptimize(queue.pop());
  }
  state.SetItemsProcessed(state.iterations() * 32);
}
BENCHMARK(BM_RingQueuePushPop);

}  // namespace
}  // namespace mooncake::te

BENCHMARK_MAIN();
