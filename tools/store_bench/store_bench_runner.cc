#include "store_bench/store_bench_runner.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <random>
#include <thread>
#include <vector>

#include "mooncake/store/client.h"
#include "tool_support/bench_memory.h"

namespace mooncake::bench {
namespace {

using Clock = std::chrono::steady_clock;
std::atomic<bool> g_stop{false};
void onSignal(int) { g_stop.store(true); }

std::string keyName(const StoreBenchConfig& config, uint64_t index) {
  return config.key_prefix + "/" + std::to_string(index);
}

// Value bytes derived from the key index, so any reader can verify any value.
void fillValue(std::vector<char>& value, uint64_t index) {
  uint64_t state = index * 0x9E3779B97F4A7C15ull + 1;
  for (size_t i = 0; i < value.size(); ++i) {
    if (i % 8 == 0) state = state * 6364136223846793005ull + 1442695040888963407ull;
    value[i] = static_cast<char>(state >> ((i % 8) * 8));
  }
}

struct OpStats {
  std::vector<double> latencies_us;
  uint64_t bytes = 0;
  uint64_t errors = 0;
  Status first_error;  // what to tell the user about the errors

  void fail(const Status& status) {
    if (errors++ == 0) first_error = status;
  }
};

struct ThreadStats {
  OpStats put;
  OpStats get;
  Status failure;
};

double percentile(std::vector<double>& values, double p) {
  if (values.empty()) return 0;
  std::sort(values.begin(), values.end());
  return values[std::min(values.size() - 1, static_cast<size_t>(p * values.size()))];
}

// Writes the key's pattern when `patterned` (fill passes, --verify); timed puts otherwise send
// whatever `value` holds, so generating bytes is not what gets measured.
Status putOne(store::Client& client, const StoreBenchConfig& config, uint64_t index,
              std::vector<char>& value, OpStats& stats, bool patterned = true) {
  if (patterned) fillValue(value, index);
  store::ReplicateConfig replicate;
  replicate.replica_num = config.replica_num;
  auto start = Clock::now();
  Status status = client.put(keyName(config, index), value.data(), value.size(), replicate);
  stats.latencies_us.push_back(
      std::chrono::duration<double, std::micro>(Clock::now() - start).count());
  if (status.ok()) {
    stats.bytes += value.size();
  } else {
    stats.fail(status);
  }
  return status;
}

Status getOne(store::Client& client, const StoreBenchConfig& config, uint64_t index,
              std::vector<char>& expected, OpStats& stats) {
  auto start = Clock::now();
  auto value = client.get(keyName(config, index));
  stats.latencies_us.push_back(
      std::chrono::duration<double, std::micro>(Clock::now() - start).count());
  if (!value.ok()) {
    stats.fail(value.status());
    return value.status();
  }
  stats.bytes += value->size();
  if (config.verify) {
    fillValue(expected, index);
    if (value->size() != expected.size() ||
        std::memcmp(value->data(), expected.data(), expected.size()) != 0) {
      Status wrong = Status::storeError(StoreErrorCode::INVALID_READ,
                                        "verify: " + keyName(config, index) + " holds wrong data");
      stats.fail(wrong);
      return wrong;
    }
  }
  return Status::OK();
}

// Zero-copy form of timedLoop: each operation moves `batch_size` keys (putFrom/getInto for one,
// the batch calls for more) through a registered per-thread area; the latency recorded per key
// is the operation's latency.
void timedBatchLoop(store::Client& client, const StoreBenchConfig& config, uint64_t thread,
                    Clock::time_point deadline, char* area, ThreadStats& stats) {
  std::mt19937_64 random(thread + 1);
  uint64_t next_fresh = config.num_keys + thread;
  std::vector<char> value(config.value_size);
  for (uint64_t op = 0; Clock::now() < deadline && !g_stop.load(); ++op) {
    bool do_put = config.operation == "put" || (config.operation == "mixed" && op % 2 == 0);
    std::vector<std::string> keys;
    std::vector<size_t> sizes(config.batch_size, config.value_size);
    std::vector<const void*> from;
    std::vector<void*> into;
    for (uint64_t k = 0; k < config.batch_size; ++k) {
      char* slot = area + k * config.value_size;
      uint64_t index = do_put ? next_fresh : random() % config.num_keys;
      if (do_put) {
        if (config.verify) {
          fillValue(value, index);
          std::memcpy(slot, value.data(), value.size());
        }
        next_fresh += config.threads;
      }
      keys.push_back(keyName(config, index));
      from.push_back(slot);
      into.push_back(slot);
    }
    OpStats& target = do_put ? stats.put : stats.get;
    auto start = Clock::now();
    size_t ok = 0;
    Status first_failure;
    if (config.batch_size == 1) {
      store::ReplicateConfig replicate;
      replicate.replica_num = config.replica_num;
      Status s = do_put ? client.putFrom(keys[0], from[0], sizes[0], replicate)
                        : client.getInto(keys[0], into[0], sizes[0]).status();
      ok += s.ok();
      if (!s.ok()) first_failure = s;
    } else if (do_put) {
      store::ReplicateConfig replicate;
      replicate.replica_num = config.replica_num;
      for (const Status& s : client.batchPutFrom(keys, from, sizes, replicate)) {
        ok += s.ok();
        if (!s.ok() && first_failure.ok()) first_failure = s;
      }
    } else {
      for (const auto& r : client.batchGetInto(keys, into, sizes)) {
        ok += r.ok();
        if (!r.ok() && first_failure.ok()) first_failure = r.status();
      }
    }
    double us = std::chrono::duration<double, std::micro>(Clock::now() - start).count();
    for (uint64_t k = 0; k < config.batch_size; ++k) target.latencies_us.push_back(us);
    target.bytes += ok * config.value_size;
    for (uint64_t k = ok; k < config.batch_size; ++k) target.fail(first_failure);
  }
}

// put: fresh keys above num_keys; get: random keys below num_keys; mixed: half each.
void timedLoop(store::Client& client, const StoreBenchConfig& config, uint64_t thread,
               Clock::time_point deadline, ThreadStats& stats) {
  std::vector<char> value(config.value_size);
  std::vector<char> expected(config.value_size);
  std::mt19937_64 random(thread + 1);
  uint64_t next_fresh = config.num_keys + thread;
  for (uint64_t op = 0; Clock::now() < deadline && !g_stop.load(); ++op) {
    bool do_put = config.operation == "put" || (config.operation == "mixed" && op % 2 == 0);
    if (do_put) {
      (void)putOne(client, config, next_fresh, value, stats.put, config.verify);
      next_fresh += config.threads;
    } else {
      Status status = getOne(client, config, random() % config.num_keys, expected, stats.get);
      if (!status.ok() && config.verify && status.is(StoreErrorCode::INVALID_READ)) {
        stats.failure = status;
        return;
      }
    }
  }
}

void printReport(const StoreBenchConfig& config, std::vector<ThreadStats>& threads, double seconds,
                 const store::ClientReadStats& reads, const store::ClientWriteStats& writes) {
  OpStats put;
  OpStats get;
  for (ThreadStats& t : threads) {
    put.latencies_us.insert(put.latencies_us.end(), t.put.latencies_us.begin(),
                            t.put.latencies_us.end());
    get.latencies_us.insert(get.latencies_us.end(), t.get.latencies_us.begin(),
                            t.get.latencies_us.end());
    put.bytes += t.put.bytes;
    get.bytes += t.get.bytes;
    if (put.errors == 0 && t.put.errors > 0) put.first_error = t.put.first_error;
    if (get.errors == 0 && t.get.errors > 0) get.first_error = t.get.first_error;
    put.errors += t.put.errors;
    get.errors += t.get.errors;
  }
  // Rates count successful operations only; failures are reported beside them.
  double put_ops = static_cast<double>(put.latencies_us.size() - put.errors) / seconds;
  double get_ops = static_cast<double>(get.latencies_us.size() - get.errors) / seconds;
  if (put.errors > 0) {
    std::fprintf(stderr, "store_bench: %llu puts failed; the first: %s\n",
                 (unsigned long long)put.errors, put.first_error.toString().c_str());
  }
  if (get.errors > 0) {
    std::fprintf(stderr, "store_bench: %llu gets failed; the first: %s\n",
                 (unsigned long long)get.errors, get.first_error.toString().c_str());
  }
  double put_gbps = put.bytes / seconds / 1e9;
  double get_gbps = get.bytes / seconds / 1e9;
  std::printf("%-5s %12s %10s %12s %12s %8s\n", "op", "ops/s", "GB/s", "p50 us", "p99 us",
              "errors");
  std::printf("%-5s %12.0f %10.3f %12.1f %12.1f %8llu\n", "put", put_ops, put_gbps,
              percentile(put.latencies_us, 0.5), percentile(put.latencies_us, 0.99),
              (unsigned long long)put.errors);
  std::printf("%-5s %12.0f %10.3f %12.1f %12.1f %8llu\n", "get", get_ops, get_gbps,
              percentile(get.latencies_us, 0.5), percentile(get.latencies_us, 0.99),
              (unsigned long long)get.errors);
  if (reads.overlapped + reads.stale > 0) {
    std::printf("gets from a remembered replica (lookup overlapped): %llu, stale: %llu\n",
                (unsigned long long)reads.overlapped, (unsigned long long)reads.stale);
  }
  if (writes.reserved + writes.fallback > 0) {
    std::printf("puts on reserved space (write + one round trip): %llu, fell back: %llu\n",
                (unsigned long long)writes.reserved, (unsigned long long)writes.fallback);
  }
  std::printf(
      "{\"bench\":\"store_bench\",\"operation\":\"%s\",\"zero_copy\":%s,\"batch_size\":%llu,"
      "\"value_size\":%llu,\"threads\":%llu,"
      "\"replica_num\":%llu,\"seconds\":%.3f,\"put_ops\":%.0f,\"put_bytes_per_sec\":%.0f,"
      "\"get_ops\":%.0f,\"get_bytes_per_sec\":%.0f}\n",
      config.operation.c_str(), config.zero_copy ? "true" : "false",
      (unsigned long long)config.batch_size, (unsigned long long)config.value_size,
      (unsigned long long)config.threads, (unsigned long long)config.replica_num, seconds, put_ops,
      put.bytes / seconds, get_ops, get.bytes / seconds);
  std::printf("Store bench completed: put %.0f ops/s %.3f GB/s, get %.0f ops/s %.3f GB/s\n",
              put_ops, put_gbps, get_ops, get_gbps);
  std::fflush(stdout);
}

// fill / check: one pass over the num_keys keys, split across threads.
Status onePass(store::Client& client, const StoreBenchConfig& config, bool fill) {
  std::vector<ThreadStats> stats(config.threads);
  std::vector<std::thread> workers;
  for (uint64_t t = 0; t < config.threads; ++t) {
    workers.emplace_back([&, t] {
      std::vector<char> value(config.value_size);
      for (uint64_t i = t; i < config.num_keys && stats[t].failure.ok(); i += config.threads) {
        stats[t].failure = fill ? putOne(client, config, i, value, stats[t].put)
                                : getOne(client, config, i, value, stats[t].get);
      }
    });
  }
  for (auto& worker : workers) worker.join();
  for (ThreadStats& s : stats) MC_RETURN_IF_ERROR(s.failure);
  std::printf("%s: %llu keys of %llu bytes %s\n", fill ? "fill" : "check",
              (unsigned long long)config.num_keys, (unsigned long long)config.value_size,
              fill ? "stored" : "read back and verified");
  std::fflush(stdout);
  return Status::OK();
}

}  // namespace

Status runStoreBench(const StoreBenchConfig& config) {
  std::signal(SIGINT, onSignal);
  std::signal(SIGTERM, onSignal);
  store::ClientOptions options;
  options.local_hostname = config.local_hostname;
  options.metadata_server = config.metadata_server;
  options.protocol = config.protocol;
  options.master_server_address = config.master_server_address;
  options.global_segment_size = config.global_segment_size;
  options.local_buffer_size = config.local_buffer_size;
  MC_ASSIGN_OR_RETURN(auto client, store::Client::create(options));
  if (config.operation == "serve") {
    std::printf("store_bench serving %llu bytes as segment %s\n",
                (unsigned long long)config.global_segment_size, client->segmentName().c_str());
    std::fflush(stdout);
    while (!g_stop.load()) std::this_thread::sleep_for(std::chrono::milliseconds(100));
    return Status::OK();
  }
  StoreBenchConfig verified = config;
  if (config.operation == "fill" || config.operation == "check") {
    verified.verify = true;
    return onePass(*client, verified, config.operation == "fill");
  }
  if (config.operation == "get" || config.operation == "mixed") {
    MC_RETURN_IF_ERROR(onePass(*client, config, /*fill=*/true));
  }
  std::vector<ThreadStats> stats(config.threads);
  std::vector<std::thread> workers;
  store::ClientReadStats reads_before = client->readStats();
  store::ClientWriteStats writes_before = client->writeStats();
  auto start = Clock::now();
  auto deadline = start + std::chrono::duration_cast<Clock::duration>(
                              std::chrono::duration<double>(config.duration_sec));
  // Batched runs move data through one registered area per thread (zero-copy calls). A
  // std::vector area, 16 bytes past a cache line, made zero-copy gets on an AMD EPYC VM 0.63x
  // (TCP) and 0.22x (same host) as fast as this mapping (docs/BENCHMARKS.md, "Fifth session").
  tools::BenchMapping areas(
      config.zero_copy ? config.threads * config.batch_size * config.value_size : 0);
  if (config.zero_copy && areas.data() == nullptr) {
    return Status::error(ErrorCode::ERR_MEMORY, "cannot allocate the zero-copy area");
  }
  if (areas.size() > 0) MC_RETURN_IF_ERROR(client->registerBuffer(areas.data(), areas.size()));
  for (uint64_t t = 0; t < config.threads; ++t) {
    workers.emplace_back([&, t] {
      if (config.zero_copy) {
        char* area = areas.data() + t * config.batch_size * config.value_size;
        timedBatchLoop(*client, config, t, deadline, area, stats[t]);
      } else {
        timedLoop(*client, config, t, deadline, stats[t]);
      }
    });
  }
  for (auto& worker : workers) worker.join();
  double seconds = std::chrono::duration<double>(Clock::now() - start).count();
  for (ThreadStats& s : stats) MC_RETURN_IF_ERROR(s.failure);
  store::ClientReadStats reads = client->readStats();
  reads.overlapped -= reads_before.overlapped;
  reads.stale -= reads_before.stale;
  store::ClientWriteStats writes = client->writeStats();
  writes.reserved -= writes_before.reserved;
  writes.fallback -= writes_before.fallback;
  printReport(config, stats, seconds, reads, writes);
  return Status::OK();
}

}  // namespace mooncake::bench
