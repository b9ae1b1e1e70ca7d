// How long a restarted master takes to rebuild N objects from its --metadata_dir
// (docs/STORE.md "Durable metadata"): from the log alone (a crash before any snapshot), and
// from a snapshot (the usual case), plus what writing that snapshot costs and how much disk the
// metadata takes. Objects of 4 KiB, one replica each over 4 segments, keys like a KV cache's.
// Prints one JSON line per object count.
// Run: build/bench/metadata_recovery_bench [objects...]   (default 10000 100000 1000000);
// `--puts_only N` times only the logged puts (for a profiler).
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include "store/master/durable/metadata_log.h"
#include "store/master/master_service.h"

namespace mooncake::store {
namespace {

using Seconds = std::chrono::duration<double>;

uint64_t directoryBytes(const std::string& dir) {
  uint64_t total = 0;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    if (entry.path().filename() == "LOCK") continue;
    // Chunks are preallocated: count what was written, the data up to the first zero word.
    total += entry.path().extension() == ".mcl" ? 0 : entry.file_size();
  }
  return total;
}

struct Recovery {
  double seconds = 0;
  size_t objects = 0;
};

// Opens (and replays into `state`) the log in `dir`; exits on failure.
std::unique_ptr<durable::MetadataLog> openOrDie(const std::string& dir,
                                                durable::RecoveredState& state) {
  durable::MetadataLogOptions options;
  options.dir = dir;
  durable::RecoveryStats stats;
  auto log = durable::MetadataLog::open(options, state, stats);
  if (!log.ok()) {
    std::fprintf(stderr, "%s\n", log.status().toString().c_str());
    std::exit(1);
  }
  return std::move(*log);
}

Recovery recover(const std::string& dir) {
  const auto started = std::chrono::steady_clock::now();
  durable::RecoveredState state;
  auto log = openOrDie(dir, state);
  MasterService service(MasterOptions{});
  RestoreStats restored = service.restore(state, log.get());
  return {Seconds(std::chrono::steady_clock::now() - started).count(), restored.objects};
}

// Puts per second into a service with `log` (nullptr: memory only), the same work as run()'s.
double putRate(uint64_t objects, durable::MetadataLog* log) {
  durable::RecoveredState empty;
  MasterService service(MasterOptions{});
  (void)service.restore(empty, log);
  const uint64_t segment_bytes = (objects / 4 + 1) * 4096;
  for (uint64_t s = 0; s < 4; ++s) {
    std::string name = "holder-" + std::to_string(s);
    (void)service.mountSegment(name, {name, (s + 1) << 40, segment_bytes, name + ":12345"});
  }
  const auto started = std::chrono::steady_clock::now();
  for (uint64_t i = 0; i < objects; ++i) {
    std::string key = "model-7b/layer-" + std::to_string(i % 32) + "/block-" + std::to_string(i);
    (void)service.putStart("writer-client-0001", key, 4096, ReplicateConfig{});
    (void)service.putEnd("writer-client-0001", key);
  }
  return static_cast<double>(objects) / Seconds(std::chrono::steady_clock::now() - started).count();
}

void run(uint64_t objects) {
  std::string dir =
      (std::filesystem::temp_directory_path() / ("mc-recovery-bench-" + std::to_string(::getpid())))
          .string();
  std::filesystem::remove_all(dir);
  const double memory_rate = putRate(objects, nullptr);
  double logged_rate = 0;
  uint64_t log_bytes = 0;
  {
    durable::RecoveredState empty;
    auto log = openOrDie(dir, empty);
    logged_rate = putRate(objects, log.get());
    log_bytes = log->logBytes();
  }
  Recovery from_log = recover(dir);
  // Snapshot what the log rebuilt, then recover from the snapshot alone.
  double snapshot_seconds = 0;
  {
    durable::RecoveredState state;
    auto log = openOrDie(dir, state);
    MasterService service(MasterOptions{});
    (void)service.restore(state, log.get());
    const auto started = std::chrono::steady_clock::now();
    Status status = log->snapshot([&](const auto& write) { return service.dumpState(write); });
    snapshot_seconds = Seconds(std::chrono::steady_clock::now() - started).count();
    if (!status.ok()) std::fprintf(stderr, "%s\n", status.toString().c_str());
  }
  const uint64_t snapshot_bytes = directoryBytes(dir);
  Recovery from_snapshot = recover(dir);
  std::printf(
      "{\"objects\": %llu, \"puts_per_sec_memory_only\": %.0f, \"puts_per_sec_logged\": %.0f, "
      "\"log_bytes\": %llu, "
      "\"recover_from_log_s\": %.3f, \"snapshot_write_s\": %.3f, \"snapshot_bytes\": %llu, "
      "\"recover_from_snapshot_s\": %.3f, \"recovered\": %zu}\n",
      static_cast<unsigned long long>(objects), memory_rate, logged_rate,
      static_cast<unsigned long long>(log_bytes), from_log.seconds, snapshot_seconds,
      static_cast<unsigned long long>(snapshot_bytes), from_snapshot.seconds,
      from_snapshot.objects);
  std::fflush(stdout);
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace mooncake::store

int main(int argc, char** argv) {
  if (argc > 2 && std::string(argv[1]) == "--puts_only") {  // for profiling the logged put path
    const std::string dir = "/tmp/mc-recovery-bench-puts";
    std::filesystem::remove_all(dir);
    {
      mooncake::store::durable::RecoveredState empty;
      auto log = mooncake::store::openOrDie(dir, empty);
      std::printf("%.0f puts/s\n",
                  mooncake::store::putRate(std::strtoull(argv[2], nullptr, 10), log.get()));
    }
    std::filesystem::remove_all(dir);
    return 0;
  }
  std::vector<uint64_t> counts = {10000, 100000, 1000000};
  if (argc > 1) {
    counts.clear();
    for (int i = 1; i < argc; ++i) counts.push_back(std::strtoull(argv[i], nullptr, 10));
  }
  for (uint64_t count : counts) mooncake::store::run(count);
  return 0;
}
