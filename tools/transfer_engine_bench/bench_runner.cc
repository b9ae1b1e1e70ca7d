#include "transfer_engine_bench/bench_runner.h"

#include <glog/logging.h>

#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <map>
#include <thread>
#include <vector>

#include "mooncake/transfer_engine/transfer_engine.h"
#include "tool_support/bench_memory.h"
#include "transfer_engine_bench/data_pattern.h"

namespace mooncake::bench {
namespace {

using Clock = std::chrono::steady_clock;
std::atomic<bool> g_stop{false};

void onSignal(int) { g_stop.store(true); }

Result<double> unitBytes(const std::string& unit) {
  static const std::map<std::string, double> kUnits = {
      {"GB", 1e9},     {"GiB", 1073741824.0}, {"Gb", 1e9 / 8}, {"MB", 1e6},    {"MiB", 1048576.0},
      {"Mb", 1e6 / 8}, {"KB", 1e3},           {"KiB", 1024.0}, {"Kb", 1e3 / 8}};
  auto it = kUnits.find(unit);
  if (it == kUnits.end()) {
    return Status::error(ErrorCode::ERR_INVALID_ARGUMENT,
                         "--report_unit=" + unit + ": expected GB|GiB|Gb|MB|MiB|Mb|KB|KiB|Kb");
  }
  return it->second;
}

Status waitBatch(TransferEngine& engine, BatchID batch, TransferStatus& status) {
  // Block instead of polling: completion wakes the thread, and on a small machine a poller
  // would steal the core the transport threads need.
  while (true) {
    MC_RETURN_IF_ERROR(engine.waitBatchTransferStatus(batch, status, std::chrono::seconds(1)));
    if (status.s != WAITING) return Status::OK();
  }
}

// Runs one batch of requests and waits for it; errors when a task failed.
Status runBatch(TransferEngine& engine, const std::vector<TransferRequest>& requests) {
  MC_ASSIGN_OR_RETURN(BatchID batch, engine.allocateBatchID(requests.size()));
  MC_RETURN_IF_ERROR(engine.submitTransfer(batch, requests));
  TransferStatus status;
  MC_RETURN_IF_ERROR(waitBatch(engine, batch, status));
  MC_RETURN_IF_ERROR(engine.freeBatchID(batch));
  if (status.s != COMPLETED) {
    return Status::error(ErrorCode::ERR_SOCKET, "a batch of " + std::to_string(requests.size()) +
                                                    " requests FAILED (see the log above)");
  }
  return Status::OK();
}

struct ThreadResult {
  uint64_t batches = 0;
  uint64_t bytes = 0;
  Status status;
};

struct Plan {
  const BenchConfig* config;
  TransferEngine* engine;
  SegmentHandle target;
  char* local_base;
  uint64_t remote_base;
  uint64_t region_bytes;  // per thread: batch_size * block_size
};

std::vector<TransferRequest> makeRequests(const Plan& plan, uint64_t thread,
                                          TransferRequest::OpCode opcode, char* local_base) {
  std::vector<TransferRequest> requests(plan.config->batch_size);
  for (uint64_t i = 0; i < plan.config->batch_size; ++i) {
    uint64_t offset = thread * plan.region_bytes + i * plan.config->block_size;
    requests[i].opcode = opcode;
    requests[i].source = local_base + offset;
    requests[i].target_id = plan.target;
    requests[i].target_offset = plan.remote_base + offset;
    requests[i].length = plan.config->block_size;
  }
  return requests;
}

// Every block a read returns must be entirely the target's pattern or entirely the pattern a
// write-mode initiator leaves behind.
Status verifyBlocks(const Plan& plan, uint64_t thread, const char* local_base) {
  for (uint64_t i = 0; i < plan.config->batch_size; ++i) {
    uint64_t offset = thread * plan.region_bytes + i * plan.config->block_size;
    const char* block = local_base + offset;
    if (!matchesPattern(block, plan.config->block_size, offset, kTargetSeed) &&
        !matchesPattern(block, plan.config->block_size, offset, kInitiatorSeed)) {
      return Status::error(
          ErrorCode::ERR_INVALID_ARGUMENT,
          "verify: block at target offset " + std::to_string(offset) + " holds wrong data");
    }
  }
  return Status::OK();
}

void runThread(const Plan& plan, uint64_t thread, Clock::time_point deadline,
               ThreadResult& result) {
  const BenchConfig& config = *plan.config;
  bool write = config.operation == "write";
  auto requests = makeRequests(plan, thread, write ? TransferRequest::WRITE : TransferRequest::READ,
                               plan.local_base);
  const uint64_t slots = config.remote_working_set / plan.region_bytes;
  uint64_t slot = thread;
  while (Clock::now() < deadline && !g_stop.load()) {
    if (slots > 0) {  // next region of the working set (remote side only)
      slot = (slot + config.threads) % slots;
      for (uint64_t i = 0; i < config.batch_size; ++i) {
        requests[i].target_offset =
            plan.remote_base + slot * plan.region_bytes + i * config.block_size;
      }
    }
    result.status = runBatch(*plan.engine, requests);
    if (!result.status.ok()) return;
    if (config.verify && !write) {
      result.status = verifyBlocks(plan, thread, plan.local_base);
      if (!result.status.ok()) return;
    }
    ++result.batches;
    result.bytes += config.batch_size * config.block_size;
  }
}

// After a verified write run: read every written block back into scratch memory and check it.
Status verifyWrites(const Plan& plan, TransferEngine& engine) {
  uint64_t total = plan.region_bytes * plan.config->threads;
  tools::BenchMapping scratch(total);
  if (scratch.data() == nullptr) return Status::error(ErrorCode::ERR_MEMORY, "mmap scratch");
  MC_RETURN_IF_ERROR(engine.registerLocalMemory(scratch.data(), total, "cpu:0", false));
  Status status;
  for (uint64_t t = 0; t < plan.config->threads && status.ok(); ++t) {
    status = runBatch(engine, makeRequests(plan, t, TransferRequest::READ, scratch.data()));
    for (uint64_t i = 0; i < plan.config->batch_size && status.ok(); ++i) {
      uint64_t offset = t * plan.region_bytes + i * plan.config->block_size;
      if (!matchesPattern(scratch.data() + offset, plan.config->block_size, offset,
                          kInitiatorSeed)) {
        status = Status::error(ErrorCode::ERR_INVALID_ARGUMENT,
                               "verify: written block at target offset " + std::to_string(offset) +
                                   " reads back wrong data");
      }
    }
  }
  Status unregistered = engine.unregisterLocalMemory(scratch.data(), false);
  return status.ok() ? unregistered : status;
}

Status checkConfig(const BenchConfig& config) {
  if (config.protocol != "tcp") {
    return Status::error(ErrorCode::ERR_NOT_IMPLEMENTED,
                         "--protocol=" + config.protocol + ": only tcp is built in this release");
  }
  if (config.operation != "read" && config.operation != "write") {
    return Status::error(ErrorCode::ERR_INVALID_ARGUMENT, "--operation must be read or write");
  }
  if (config.block_size == 0 || config.block_size % 8 != 0 || config.batch_size == 0 ||
      config.threads == 0) {
    return Status::error(ErrorCode::ERR_INVALID_ARGUMENT,
                         "--block_size must be a positive multiple of 8; --batch_size and "
                         "--threads positive");
  }
  if (config.threads * config.batch_size * config.block_size > config.buffer_size) {
    return Status::error(ErrorCode::ERR_INVALID_ARGUMENT,
                         "--threads x --batch_size x --block_size exceeds --buffer_size; raise "
                         "--buffer_size (on both sides) or lower the others");
  }
  if (config.remote_working_set > 0) {
    uint64_t region = config.batch_size * config.block_size;
    if (config.verify) {
      return Status::error(ErrorCode::ERR_INVALID_ARGUMENT,
                           "--verify checks fixed regions: run it without --remote_working_set");
    }
    if (config.remote_working_set > config.buffer_size ||
        config.remote_working_set / region < config.threads) {
      return Status::error(ErrorCode::ERR_INVALID_ARGUMENT,
                           "--remote_working_set must fit in --buffer_size and hold at least "
                           "--threads regions of --batch_size x --block_size bytes");
    }
  }
  return Status::OK();
}

}  // namespace

Status runTarget(const BenchConfig& config) {
  std::signal(SIGINT, onSignal);
  std::signal(SIGTERM, onSignal);
  tools::BenchMapping buffer(config.buffer_size);
  if (buffer.data() == nullptr) return Status::error(ErrorCode::ERR_MEMORY, "mmap buffer");
  fillPattern(buffer.data(), config.buffer_size, 0, kTargetSeed);
  TransferEngine engine;
  MC_RETURN_IF_ERROR(engine.init(config.metadata_server, config.local_server_name));
  MC_RETURN_IF_ERROR(engine.registerLocalMemory(buffer.data(), config.buffer_size, "cpu:0"));
  std::printf("Transfer engine target ready: --segment_id=%s (buffer %llu bytes)\n",
              engine.getLocalSegmentName().c_str(),
              static_cast<unsigned long long>(config.buffer_size));
  std::fflush(stdout);
  while (!g_stop.load()) std::this_thread::sleep_for(std::chrono::milliseconds(100));
  return engine.freeEngine();
}

Status runInitiator(const BenchConfig& config) {
  MC_RETURN_IF_ERROR(checkConfig(config));
  MC_ASSIGN_OR_RETURN(double unit, unitBytes(config.report_unit));
  std::signal(SIGINT, onSignal);
  tools::BenchMapping buffer(config.buffer_size);
  if (buffer.data() == nullptr) return Status::error(ErrorCode::ERR_MEMORY, "mmap buffer");
  bool write = config.operation == "write";
  TransferEngine engine;
  MC_RETURN_IF_ERROR(engine.init(config.metadata_server, config.local_server_name));
  MC_RETURN_IF_ERROR(engine.registerLocalMemory(buffer.data(), config.buffer_size, "cpu:0"));
  MC_ASSIGN_OR_RETURN(SegmentHandle target, engine.openSegment(config.segment_id));
  MC_ASSIGN_OR_RETURN(std::vector<BufferEntry> remote, engine.getSegmentBuffers(target));
  if (remote.empty() || remote.front().length < config.buffer_size) {
    return Status::error(ErrorCode::ERR_INVALID_ARGUMENT, "segment " + config.segment_id +
                                                              " has no buffer of --buffer_size " +
                                                              std::to_string(config.buffer_size) +
                                                              " bytes (start the target with "
                                                              "at least the same --buffer_size)");
  }
  Plan plan{&config,
            &engine,
            target,
            buffer.data(),
            reinterpret_cast<uint64_t>(remote.front().addr),
            config.batch_size * config.block_size};
  if (write) fillPattern(buffer.data(), plan.region_bytes * config.threads, 0, kInitiatorSeed);

  std::vector<ThreadResult> results(config.threads);
  std::vector<std::thread> workers;
  auto start = Clock::now();
  auto deadline = start + std::chrono::duration_cast<Clock::duration>(
                              std::chrono::duration<double>(config.duration_sec));
  for (uint64_t t = 0; t < config.threads; ++t) {
    workers.emplace_back([&, t] { runThread(plan, t, deadline, results[t]); });
  }
  for (auto& worker : workers) worker.join();
  double seconds = std::chrono::duration<double>(Clock::now() - start).count();
  uint64_t batches = 0;
  uint64_t bytes = 0;
  for (const ThreadResult& result : results) {
    MC_RETURN_IF_ERROR(result.status);
    batches += result.batches;
    bytes += result.bytes;
  }
  if (config.verify && write) MC_RETURN_IF_ERROR(verifyWrites(plan, engine));
  double throughput = static_cast<double>(bytes) / seconds / unit;
  std::printf("%-10s %-8s %-12s %-8s %-10s %-12s\n", "operation", "threads", "block_size", "batch",
              "verified", "throughput");
  std::printf("%-10s %-8llu %-12llu %-8llu %-10s %.*f %s/s\n", config.operation.c_str(),
              (unsigned long long)config.threads, (unsigned long long)config.block_size,
              (unsigned long long)config.batch_size, config.verify ? "yes" : "no",
              config.report_precision, throughput, config.report_unit.c_str());
  std::printf(
      "{\"bench\":\"transfer_engine_bench\",\"protocol\":\"%s\",\"operation\":\"%s\","
      "\"threads\":%llu,\"block_size\":%llu,\"batch_size\":%llu,\"duration_s\":%.3f,"
      "\"bytes\":%llu,\"batches\":%llu,\"bytes_per_sec\":%.0f,\"verified\":%s}\n",
      config.protocol.c_str(), config.operation.c_str(), (unsigned long long)config.threads,
      (unsigned long long)config.block_size, (unsigned long long)config.batch_size, seconds,
      (unsigned long long)bytes, (unsigned long long)batches, bytes / seconds,
      config.verify ? "true" : "false");
  std::printf("Test completed: duration %.2f, batch count %llu, throughput %.*f %s/s\n", seconds,
              (unsigned long long)batches, config.report_precision, throughput,
              config.report_unit.c_str());
  std::fflush(stdout);
  return engine.freeEngine();
}

}  // namespace mooncake::bench
