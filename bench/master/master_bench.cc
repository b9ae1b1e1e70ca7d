// master_bench: metadata throughput of a running mooncake_master, with no data movement.
// It mounts a large fake segment (nothing is ever written to it), then for --duration seconds
// per phase runs --threads threads of:
//   put: PutStart + PutEnd per key (single) or BatchPutStart + BatchPutEnd per --batch_size keys
//   get: GetReplicaList per key (single) or BatchGetReplicaList per --batch_size keys
//   resv (single keys only): CommitReserved per key, each bringing the next reservation
// and prints keys/s and RPCs/s per phase, then removes what it wrote and unmounts.
#include <gflags/gflags.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <string>
#include <thread>
#include <vector>

#include "store/client/master_client.h"

DEFINE_string(master_server_address, "127.0.0.1:50051", "mooncake_master host:port");
DEFINE_uint64(threads, 4, "concurrent client threads (each with its own gRPC channel)");
DEFINE_uint64(batch_size, 1, "keys per call; 1 = single-key RPCs");
DEFINE_double(duration, 3, "seconds per phase");
DEFINE_uint64(value_size, 4096, "object size the master allocates (no bytes are moved)");
DEFINE_uint64(pause_us, 0,
              "each thread sleeps this long between calls (0: back to back); a client that "
              "moves data between its master calls");
DEFINE_string(key_prefix, "",
              "prefix of every key this run writes; empty: one of its own (process id and time), "
              "so runs against the same master never collide with an earlier run's keys");

namespace {

using Clock = std::chrono::steady_clock;
using mooncake::Status;
using mooncake::store::MasterClient;
using mooncake::store::ReplicateConfig;

struct PhaseResult {
  uint64_t keys = 0;  // keys handled (for put: keys [0, keys) of the thread, in order)
  uint64_t rpcs = 0;
  uint64_t errors = 0;
  double seconds = 0;
};

std::string& keyPrefix() {
  static std::string prefix;
  return prefix;
}

std::string keyName(uint64_t thread, uint64_t index) {
  return keyPrefix() + std::to_string(thread) + "/" + std::to_string(index);
}

// Runs `step(thread, client, index) -> {keys, rpcs, errors}` on every thread until the deadline.
template <typename Step>
PhaseResult runPhase(std::vector<std::unique_ptr<MasterClient>>& clients, Step step,
                     std::vector<uint64_t>* keys_per_thread = nullptr) {
  std::vector<PhaseResult> per_thread(clients.size());
  std::vector<std::thread> threads;
  auto start = Clock::now();
  auto deadline = start + std::chrono::duration_cast<Clock::duration>(
                              std::chrono::duration<double>(FLAGS_duration));
  for (size_t t = 0; t < clients.size(); ++t) {
    threads.emplace_back([&, t] {
      uint64_t index = 0;
      while (Clock::now() < deadline) {
        PhaseResult r = step(t, *clients[t], index);
        per_thread[t].keys += r.keys;
        per_thread[t].rpcs += r.rpcs;
        per_thread[t].errors += r.errors;
        index += FLAGS_batch_size;
        if (FLAGS_pause_us > 0)
          std::this_thread::sleep_for(std::chrono::microseconds(FLAGS_pause_us));
      }
    });
  }
  for (auto& thread : threads) thread.join();
  if (keys_per_thread != nullptr) {
    for (const PhaseResult& r : per_thread) keys_per_thread->push_back(r.keys);
  }
  PhaseResult total;
  total.seconds = std::chrono::duration<double>(Clock::now() - start).count();
  for (const PhaseResult& r : per_thread) {
    total.keys += r.keys;
    total.rpcs += r.rpcs;
    total.errors += r.errors;
  }
  return total;
}

void report(const char* phase, const PhaseResult& r) {
  std::printf("%-4s %12.0f keys/s %12.0f RPCs/s %8llu errors\n", phase,
              static_cast<double>(r.keys) / r.seconds, static_cast<double>(r.rpcs) / r.seconds,
              static_cast<unsigned long long>(r.errors));
}

}  // namespace

int main(int argc, char** argv) {
  gflags::SetUsageMessage("metadata throughput of a running mooncake_master (see --help)");
  gflags::ParseCommandLineFlags(&argc, &argv, true);
  if (FLAGS_threads == 0 || FLAGS_batch_size == 0 || FLAGS_duration <= 0) {
    std::fprintf(stderr, "master_bench: --threads, --batch_size and --duration must be > 0\n");
    return 2;
  }
  keyPrefix() = !FLAGS_key_prefix.empty()
                    ? FLAGS_key_prefix + "/"
                    : "mb" + std::to_string(::getpid()) + "-" +
                          std::to_string(Clock::now().time_since_epoch().count()) + "/";
  std::vector<std::unique_ptr<MasterClient>> clients;
  for (uint64_t t = 0; t < FLAGS_threads; ++t) {
    clients.push_back(std::make_unique<MasterClient>(FLAGS_master_server_address,
                                                     std::chrono::milliseconds(5000)));
  }
  const std::string client_id = "master_bench";
  auto segment = clients[0]->mountSegment(
      client_id, {"master_bench", uint64_t{1} << 40, uint64_t{1} << 40, "master_bench:1"});
  if (!segment.ok()) {
    std::fprintf(stderr, "master_bench: mount failed: %s\n", segment.status().toString().c_str());
    return 1;
  }
  const uint64_t batch = FLAGS_batch_size;
  ReplicateConfig config;
  config.preferred_segments = {"master_bench"};
  // Each thread writes keys [0, written[t]) of its own; reads cycle over them.
  std::vector<uint64_t> written;
  PhaseResult put = runPhase(
      clients,
      [&](size_t t, MasterClient& c, uint64_t index) {
        PhaseResult r;
        if (batch == 1) {
          std::string key = keyName(t, index);
          auto started = c.putStart(client_id, key, FLAGS_value_size, config);
          Status ended = started.ok() ? c.putEnd(client_id, key) : started.status();
          return PhaseResult{1, 2, ended.ok() ? 0u : 1u, 0};
        }
        std::vector<std::string> keys;
        for (uint64_t i = 0; i < batch; ++i) keys.push_back(keyName(t, index + i));
        auto started = c.batchPutStart(client_id, keys,
                                       std::vector<uint64_t>(batch, FLAGS_value_size), config);
        auto ended = c.batchPutEnd(client_id, keys);
        r.keys = batch;
        r.rpcs = 2;
        if (!started.ok() || !ended.ok()) {
          r.errors = batch;
        } else {
          for (const Status& s : *ended) r.errors += s.ok() ? 0 : 1;
        }
        return r;
      },
      &written);
  PhaseResult get = runPhase(clients, [&](size_t t, MasterClient& c, uint64_t index) {
    uint64_t base = index % written[t];
    if (batch == 1) {
      return PhaseResult{1, 1, c.getReplicaList(keyName(t, base)).ok() ? 0u : 1u, 0};
    }
    std::vector<std::string> keys;
    for (uint64_t i = 0; i < batch; ++i) keys.push_back(keyName(t, (base + i) % written[t]));
    auto lists = c.batchGetReplicaList(keys);
    PhaseResult r{batch, 1, 0, 0};
    if (!lists.ok()) {
      r.errors = batch;
    } else {
      for (const auto& list : *lists) r.errors += list.ok() ? 0 : 1;
    }
    return r;
  });
  // Puts on reserved space (single keys only): one CommitReserved per key, each bringing the
  // next reservation, as a steady stream of small client puts does.
  PhaseResult reserved;
  if (batch == 1) {
    std::vector<uint64_t> next_id(clients.size(), 0);
    reserved = runPhase(clients, [&](size_t t, MasterClient& c, uint64_t index) {
      PhaseResult r{1, 1, 0, 0};
      if (next_id[t] == 0) {
        auto granted = c.reserve(client_id, FLAGS_value_size, config, {}, {});
        ++r.rpcs;
        if (!granted.ok()) return PhaseResult{1, r.rpcs, 1, 0};
        next_id[t] = granted->id;
      }
      auto committed = c.commitReserved(client_id, keyName(t, index) + "/r", next_id[t],
                                        /*reserve_next=*/true);
      next_id[t] = committed.ok() && *committed ? (*committed)->id : 0;
      r.errors = committed.ok() ? 0 : 1;
      return r;
    });
  }
  std::printf("master_bench: %llu threads, batch %llu, %.1f s per phase\n",
              static_cast<unsigned long long>(FLAGS_threads),
              static_cast<unsigned long long>(batch), FLAGS_duration);
  report("put", put);
  report("get", get);
  if (batch == 1) report("resv", reserved);
  const double reserved_rate =
      reserved.seconds > 0 ? static_cast<double>(reserved.keys) / reserved.seconds : 0;
  std::printf(
      "{\"bench\":\"master_bench\",\"threads\":%llu,\"batch_size\":%llu,\"put_keys_per_sec\":%.0f,"
      "\"get_keys_per_sec\":%.0f,\"reserved_put_keys_per_sec\":%.0f,\"errors\":%llu}\n",
      static_cast<unsigned long long>(FLAGS_threads), static_cast<unsigned long long>(batch),
      static_cast<double>(put.keys) / put.seconds, static_cast<double>(get.keys) / get.seconds,
      reserved_rate, static_cast<unsigned long long>(put.errors + get.errors + reserved.errors));
  (void)clients[0]->removeByRegex("^mb/", /*force=*/true);
  (void)clients[0]->unmountSegment(client_id, *segment);
  return put.errors + get.errors + reserved.errors == 0 ? 0 : 1;
}
