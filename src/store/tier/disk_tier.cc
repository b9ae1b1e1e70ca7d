#include "store/tier/disk_tier.h"

#include <glog/logging.h>
#include <sys/mman.h>

#include <algorithm>
#include <cstring>

#include "common/config/config_table.h"
#include "common/net/socket.h"
#include "mooncake/transfer_engine/transfer_engine.h"

namespace mooncake::store::tier {
namespace {

// After a write failed for lack of space (and the disk does not evict), the tier declines
// offloads this long before it tries again.
constexpr std::chrono::seconds kFullPause{5};
constexpr size_t kRegisterBatch = 4096;

}  // namespace

Result<DiskTierOptions> DiskTierOptions::fromEnvironment(const std::string& path) {
  DiskTierOptions options;
  std::string env_path;
  std::string interval;
  std::vector<config::ConfigEntry> table = {
      config::stringEntry("MOONCAKE_OFFLOAD_FILE_STORAGE_PATH",
                          "directory of the disk tier (when setup() names none)", &env_path),
      config::sizeEntry("MOONCAKE_OFFLOAD_TOTAL_SIZE_LIMIT_BYTES",
                        "bytes the disk tier may use (0: 90% of the free space)", &options.capacity,
                        0, UINT64_MAX),
      config::sizeEntry("MOONCAKE_OFFLOAD_BUCKET_SIZE_LIMIT",
                        "bytes per bucket file (1 MiB .. 4 GiB)", &options.bucket_size, 1ull << 20,
                        4ull << 30),
      config::sizeEntry("MOONCAKE_OFFLOAD_LOCAL_BUFFER_SIZE_BYTES",
                        "registered memory that disk objects are staged in for readers",
                        &options.staging_size, 1ull << 20, 1ull << 40),
      config::stringEntry("MOONCAKE_OFFLOAD_HEARTBEAT_INTERVAL_SECONDS",
                          "seconds between the tier's polls of the master (default 0.1)",
                          &interval),
  };
  MC_RETURN_IF_ERROR(config::applyEnvironment(table));
  options.path = path.empty() ? env_path : path;
  if (!interval.empty()) {
    char* end = nullptr;
    double seconds = std::strtod(interval.c_str(), &end);
    if (end == interval.c_str() || *end != '\0' || seconds <= 0 || seconds > 3600) {
      return Status::error(ErrorCode::ERR_INVALID_ARGUMENT,
                           "MOONCAKE_OFFLOAD_HEARTBEAT_INTERVAL_SECONDS=" + interval +
                               ": want seconds in (0, 3600]");
    }
    options.heartbeat_interval =
        std::chrono::milliseconds(std::max<int64_t>(1, static_cast<int64_t>(seconds * 1000)));
  }
  if (options.path.empty()) {
    return Status::storeError(StoreErrorCode::INVALID_PARAMS,
                              "SSD offload is on but no path was given (ssd_offload_path or "
                              "MOONCAKE_OFFLOAD_FILE_STORAGE_PATH)");
  }
  return options;
}

DiskTier::DiskTier(DiskTierOptions options, DiskTierHost& host, TransferEngine& engine,
                   uint64_t segment_base, uint64_t segment_size, auth::SecretRef secret)
    : options_(std::move(options)),
      host_(host),
      engine_(engine),
      segment_base_(segment_base),
      segment_size_(segment_size),
      secret_(std::move(secret)) {}

DiskTier::~DiskTier() { stop(); }

Status DiskTier::start() {
  DiskStoreOptions store_options;
  store_options.path = options_.path;
  store_options.capacity = options_.capacity;
  store_options.bucket_size = options_.bucket_size;
  MC_ASSIGN_OR_RETURN(store_, DiskStore::open(store_options));

  void* memory = ::mmap(nullptr, options_.staging_size, PROT_READ | PROT_WRITE,
                        MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (memory == MAP_FAILED) {
    return Status::storeError(StoreErrorCode::INTERNAL_ERROR,
                              "disk tier: cannot map " + std::to_string(options_.staging_size) +
                                  " bytes of staging memory");
  }
  staging_ = static_cast<char*>(memory);
  MC_RETURN_IF_ERROR(engine_.registerLocalMemory(staging_, options_.staging_size, "cpu:0", true));
  staging_registered_ = true;
  allocator_ = std::make_unique<SegmentAllocator>(reinterpret_cast<uint64_t>(staging_),
                                                  options_.staging_size);

  // The service listens where the Transfer Engine is reachable.
  std::string host = engine_.getLocalIpAndPort();
  if (auto colon = host.rfind(':'); colon != std::string::npos) host.resize(colon);
  if (host.size() > 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  service_ = std::make_unique<DiskService>(*this, secret_);
  MC_RETURN_IF_ERROR(service_->start(host));
  endpoint_ = net::HostPort{host, service_->port()}.toString();
  MC_RETURN_IF_ERROR(mountAndRegister());
  worker_ = std::thread([this] { run(); });
  LOG(INFO) << "disk tier: " << options_.path << " serving on " << endpoint_
            << (store_->stats().direct_io ? " (O_DIRECT)" : " (page cache)");
  return Status::OK();
}

Status DiskTier::mountAndRegister() {
  DiskStats disk = store_->stats();
  MC_ASSIGN_OR_RETURN(
      bool evicts, host_.mountDiskTier({endpoint_, engine_.getLocalSegmentName(), disk.capacity}));
  store_->setEvictWhenFull(evicts);
  if (!evicts) {
    LOG(INFO) << "disk tier: the master runs with --enable_disk_eviction=false: a full disk "
                 "pauses offloading";
  }
  std::vector<DiskObject> objects = store_->objects();
  size_t accepted = 0, refused = 0;
  for (size_t first = 0; first < objects.size(); first += kRegisterBatch) {
    size_t end = std::min(objects.size(), first + kRegisterBatch);
    std::vector<DiskObjectRef> batch;
    for (size_t i = first; i < end; ++i) {
      batch.push_back({objects[i].key, objects[i].version, objects[i].size});
    }
    MC_ASSIGN_OR_RETURN(std::vector<Status> results, host_.registerDiskObjects(batch));
    for (size_t i = 0; i < results.size() && i < batch.size(); ++i) {
      if (results[i].ok()) {
        ++accepted;
      } else {
        ++refused;
        store_->remove(batch[i].key, batch[i].version);
      }
    }
  }
  (void)store_->flush();
  registered_ += accepted;
  if (!objects.empty()) {
    LOG(INFO) << "disk tier: registered " << accepted << " object(s) from " << options_.path
              << " with the master" << (refused > 0 ? ", deleted " : "")
              << (refused > 0 ? std::to_string(refused) + " it holds another version of" : "");
  }
  return Status::OK();
}

Status DiskTier::remount() {
  need_remount_ = true;
  cv_.notify_all();
  return Status::OK();
}

void DiskTier::stop() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (worker_.joinable()) worker_.join();
  if (service_) service_->stop();
  if (staging_registered_) {
    (void)engine_.unregisterLocalMemory(staging_);
    staging_registered_ = false;
  }
  if (store_) {
    Status flushed = store_->flush();
    if (!flushed.ok()) LOG(WARNING) << flushed.toString();
  }
  if (staging_ != nullptr) {
    ::munmap(staging_, options_.staging_size);
    staging_ = nullptr;
  }
}

void DiskTier::run() {
  std::unique_lock lock(mutex_);
  while (!stopping_) {
    lock.unlock();
    bool more = false;
    if (need_remount_.exchange(false)) {
      Status status = mountAndRegister();
      if (!status.ok()) {
        LOG(WARNING) << "disk tier: remount failed: " << status.toString();
        need_remount_ = true;
      } else {
        // Every copy on disk was registered: earlier reports are moot.
        unreported_written_.clear();
        unreported_failed_.clear();
      }
    } else {
      more = pollOnce();
    }
    releaseExpired();
    lock.lock();
    if (!more) cv_.wait_for(lock, options_.heartbeat_interval);
  }
}

bool DiskTier::pollOnce() {
  report();  // what an earlier poll could not tell the master
  DiskStats disk = store_->stats();
  const bool accepting = std::chrono::steady_clock::now() >= paused_until_;
  accepting_ = accepting;
  DiskUsage usage{disk.capacity, disk.bytes, disk.objects, disk.checksum_failures, accepting};
  auto work = host_.offloadHeartbeat(usage, options_.max_tasks);
  {
    std::vector<DiskObjectRef> gone;
    {
      std::lock_guard lock(gone_mutex_);
      gone.swap(gone_);
    }
    if (!gone.empty()) reportGone(std::move(gone));
  }
  if (!work.ok()) {
    LOG_EVERY_N(WARNING, 50) << "disk tier: poll failed: " << work.status().toString();
    return false;
  }
  for (const DiskObjectRef& drop : work->drop) store_->remove(drop.key, drop.version);
  if (!work->drop.empty()) (void)store_->flush();
  for (const PromotionTask& task : work->promote) promote(task);
  if (!work->offload.empty()) offload(work->offload);
  return work->offload.size() >= options_.max_tasks;
}

void DiskTier::offload(const std::vector<OffloadTask>& tasks) {
  std::vector<DiskWrite> writes;
  std::vector<DiskObjectRef> failed;
  for (const OffloadTask& task : tasks) {
    // The master names memory in this client's own segment; nothing else is read.
    if (task.size == 0 || task.address < segment_base_ ||
        task.address + task.size > segment_base_ + segment_size_ ||
        task.address + task.size < task.address) {
      LOG_EVERY_N(WARNING, 100) << "disk tier: offload of '" << task.key
                                << "' names memory outside this client's segment; refused";
      failed.push_back({task.key, task.version, task.size});
      continue;
    }
    writes.push_back(
        {task.key, task.version, reinterpret_cast<const char*>(task.address), task.size});
  }
  // Group commits of at most max_batch_bytes each.
  std::vector<DiskObjectRef> written;
  std::vector<DiskObject> evicted;
  size_t first = 0;
  while (first < writes.size()) {
    size_t end = first;
    uint64_t bytes = 0;
    while (end < writes.size() &&
           (end == first || bytes + writes[end].size <= options_.max_batch_bytes)) {
      bytes += writes[end].size;
      ++end;
    }
    std::vector<Status> results =
        store_->write(std::span<const DiskWrite>(writes.data() + first, end - first), evicted);
    for (size_t i = first; i < end; ++i) {
      const Status& result = results[i - first];
      if (result.ok()) {
        written.push_back({writes[i].key, writes[i].version, writes[i].size});
        continue;
      }
      failed.push_back({writes[i].key, writes[i].version, writes[i].size});
      if (result.is(StoreErrorCode::FILE_WRITE_FAIL) &&
          std::chrono::steady_clock::now() >= paused_until_) {
        LOG(WARNING) << "disk tier: offload paused for " << kFullPause.count()
                     << " s: " << result.message();
        paused_until_ = std::chrono::steady_clock::now() + kFullPause;
      }
    }
    first = end;
  }
  if (!evicted.empty()) {
    std::vector<DiskObjectRef> gone;
    for (DiskObject& object : evicted) {
      gone.push_back({std::move(object.key), object.version, object.size});
    }
    reportGone(std::move(gone));
  }
  offload_failed_ += failed.size();
  unreported_written_.insert(unreported_written_.end(), written.begin(), written.end());
  unreported_failed_.insert(unreported_failed_.end(), failed.begin(), failed.end());
  report();
}

void DiskTier::report() {
  if (unreported_written_.empty() && unreported_failed_.empty()) return;
  auto results = host_.offloadDone(unreported_written_, unreported_failed_);
  if (!results.ok()) {
    // Told again at the next poll (the master keeps them as running meanwhile; a restarted
    // master learns the copies when this client registers them).
    LOG_EVERY_N(WARNING, 10) << "disk tier: cannot report offloads: "
                             << results.status().toString();
    return;
  }
  bool rejected = false;
  for (size_t i = 0; i < results->size(); ++i) {
    if ((*results)[i].ok()) {
      ++offloaded_;
    } else {
      ++offload_rejected_;
      rejected = true;
      store_->remove(unreported_written_[i].key, unreported_written_[i].version);
    }
  }
  if (rejected) (void)store_->flush();
  unreported_written_.clear();
  unreported_failed_.clear();
}

void DiskTier::promote(const PromotionTask& task) {
  // The same staging as a reader's (absent or damaged copies fail there), then a Transfer
  // Engine write to the memory the master placed.
  StageReply staged = stage({{task.key, task.version}});
  const StagedObject& object = staged.objects.front();
  bool ok = false;
  if (object.status.ok()) {
    Status wrote =
        host_.writeTo(reinterpret_cast<const char*>(object.address), object.size, task.target);
    ok = wrote.ok();
    if (!ok) {
      LOG_EVERY_N(WARNING, 10) << "disk tier: promotion of '" << task.key
                               << "': " << wrote.toString();
    }
  }
  release(staged.stage_id);
  Status reported = host_.promotionDone(task.key, task.version, ok);
  if (ok && reported.ok()) ++promoted_;
}

void DiskTier::reportGone(std::vector<DiskObjectRef> objects) {
  Status status = host_.evictDiskReplicas(objects);
  if (!status.ok()) {
    std::lock_guard lock(gone_mutex_);
    gone_.insert(gone_.end(), objects.begin(), objects.end());  // next poll
  }
}

StageReply DiskTier::stage(const std::vector<StageItem>& items) {
  StageReply reply;
  reply.objects.resize(items.size());
  std::vector<DiskStore::Location> where;
  std::vector<char*> dests;
  std::vector<size_t> index;
  Staged staged;
  releaseExpired();
  {
    std::lock_guard lock(staging_mutex_);
    for (size_t i = 0; i < items.size(); ++i) {
      auto located = store_->locate(items[i].key, items[i].version);
      if (!located.ok()) {
        reply.objects[i].status = located.status();
        continue;
      }
      auto allocation = allocator_->allocate(located->record.span());
      if (!allocation || allocation->address % kBlock != 0) {
        if (allocation) allocator_->free(*allocation);
        ++staging_full_;
        reply.objects[i].status =
            Status::storeError(StoreErrorCode::NO_AVAILABLE_HANDLE,
                               "disk tier " + endpoint_ + ": staging memory is busy; ask again");
        continue;
      }
      staged.allocations.push_back(*allocation);
      dests.push_back(reinterpret_cast<char*>(allocation->address));
      where.push_back(std::move(*located));
      index.push_back(i);
    }
    if (!staged.allocations.empty()) {
      reply.stage_id = next_stage_id_++;
      staged.expires = std::chrono::steady_clock::now() + kStageLease;
      staged_.emplace(reply.stage_id, staged);
    }
  }
  if (where.empty()) return reply;
  std::vector<Status> results = store_->read(where, dests);
  std::vector<DiskObjectRef> damaged;
  for (size_t j = 0; j < where.size(); ++j) {
    StagedObject& out = reply.objects[index[j]];
    out.status = results[j];
    if (!results[j].ok()) {
      damaged.push_back({where[j].record.key, where[j].record.version, where[j].record.value_size});
      continue;
    }
    out.address = reinterpret_cast<uint64_t>(dests[j]) + where[j].record.valueOffset();
    out.size = where[j].record.value_size;
    ++staged_reads_;
  }
  if (!damaged.empty()) {
    std::lock_guard lock(gone_mutex_);
    gone_.insert(gone_.end(), damaged.begin(), damaged.end());
  }
  return reply;
}

void DiskTier::release(uint64_t stage_id) {
  std::lock_guard lock(staging_mutex_);
  auto it = staged_.find(stage_id);
  if (it == staged_.end()) return;
  for (const auto& allocation : it->second.allocations) allocator_->free(allocation);
  staged_.erase(it);
}

void DiskTier::releaseExpired() {
  const auto now = std::chrono::steady_clock::now();
  std::lock_guard lock(staging_mutex_);
  for (auto it = staged_.begin(); it != staged_.end();) {
    if (it->second.expires > now) {
      ++it;
      continue;
    }
    for (const auto& allocation : it->second.allocations) allocator_->free(allocation);
    it = staged_.erase(it);
  }
}

DiskTierStats DiskTier::stats() const {
  DiskTierStats out;
  if (store_) out.disk = store_->stats();
  out.offloaded = offloaded_.load();
  out.offload_rejected = offload_rejected_.load();
  out.offload_failed = offload_failed_.load();
  out.promoted = promoted_.load();
  out.staged_reads = staged_reads_.load();
  out.staging_full = staging_full_.load();
  out.registered = registered_.load();
  out.accepting = accepting_.load();
  return out;
}

void DiskTier::renderMetrics(std::string& out) const {
  DiskTierStats s = stats();
  auto line = [&out](const char* name, const char* type, const char* help, uint64_t value) {
    out += std::string("# HELP ") + name + " " + help + "\n# TYPE " + name + " " + type + "\n" +
           name + " " + std::to_string(value) + "\n";
  };
  line("mooncake_disk_tier_objects", "gauge", "Objects on this client's disk tier.",
       s.disk.objects);
  line("mooncake_disk_tier_bytes", "gauge", "Value bytes on the disk tier.", s.disk.bytes);
  line("mooncake_disk_tier_file_bytes", "gauge", "Bytes of its bucket files.", s.disk.file_bytes);
  line("mooncake_disk_tier_capacity_bytes", "gauge", "What the tier may use.", s.disk.capacity);
  line("mooncake_disk_tier_accepting", "gauge", "1 while offloads are taken (0: paused, full).",
       s.accepting ? 1 : 0);
  line("mooncake_disk_tier_written_objects_total", "counter", "Objects written (durable).",
       s.disk.written_objects);
  line("mooncake_disk_tier_written_bytes_total", "counter", "Bytes written (durable).",
       s.disk.written_bytes);
  line("mooncake_disk_tier_read_objects_total", "counter", "Objects read and verified.",
       s.disk.read_objects);
  line("mooncake_disk_tier_read_bytes_total", "counter", "Bytes read and verified.",
       s.disk.read_bytes);
  line("mooncake_disk_tier_checksum_failures_total", "counter",
       "Records whose bytes were not what was written (dropped, never returned).",
       s.disk.checksum_failures);
  line("mooncake_disk_tier_evicted_objects_total", "counter",
       "Objects dropped to make room (oldest bucket first).", s.disk.evicted_objects);
  line("mooncake_disk_tier_recovered_objects", "gauge", "Objects indexed at start.",
       s.disk.recovered_objects);
  line("mooncake_disk_tier_offloaded_total", "counter", "Offloads the master accepted.",
       s.offloaded);
  line("mooncake_disk_tier_offload_rejected_total", "counter",
       "Offloads whose object changed meanwhile (deleted again).", s.offload_rejected);
  line("mooncake_disk_tier_offload_failures_total", "counter",
       "Offloads that could not be written.", s.offload_failed);
  line("mooncake_disk_tier_promoted_total", "counter", "Objects copied back to memory.",
       s.promoted);
  line("mooncake_disk_tier_staged_reads_total", "counter", "Objects staged for readers.",
       s.staged_reads);
  line("mooncake_disk_tier_staging_full_total", "counter",
       "Stage requests deferred for lack of staging memory.", s.staging_full);
  if (store_) {
    out +=
        "# HELP mooncake_disk_tier_write_seconds Time per group commit (write + fdatasync).\n"
        "# TYPE mooncake_disk_tier_write_seconds histogram\n";
    store_->writeLatency().render("mooncake_disk_tier_write_seconds", "", out);
    out +=
        "# HELP mooncake_disk_tier_read_seconds Time per batched disk read.\n"
        "# TYPE mooncake_disk_tier_read_seconds histogram\n";
    store_->readLatency().render("mooncake_disk_tier_read_seconds", "", out);
  }
}

}  // namespace mooncake::store::tier
