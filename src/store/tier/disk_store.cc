#include "store/tier/disk_store.h"

#include <dirent.h>
#include <fcntl.h>
#include <glog/logging.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include "common/crc32c.h"

namespace mooncake::store::tier {

struct DiskStore::Bucket {
  uint32_t id = 0;
  net::UniqueFd fd;
  uint64_t allocated = 0;  // file size (preallocated)
  uint64_t end = 0;        // where the next record goes
  bool sealed = false;
  std::vector<RecordInfo> records;  // the open bucket's, for its index file
  size_t live = 0;                  // indexed values in it; GUARDED_BY(DiskStore::mutex_)
};

namespace {

Status fileError(StoreErrorCode code, const std::string& what, const std::string& path, int error) {
  return Status::storeError(code, what + " " + path + ": " + std::strerror(error));
}

}  // namespace

std::string DiskStore::bucketPath(uint32_t id, const char* suffix) const {
  char name[32];
  std::snprintf(name, sizeof(name), "bucket-%010u.%s", id, suffix);
  return options_.path + "/" + name;
}

Result<std::unique_ptr<DiskStore>> DiskStore::open(DiskStoreOptions options) {
  if (options.path.empty()) {
    return Status::storeError(StoreErrorCode::INVALID_PARAMS, "disk tier: no path given");
  }
  while (options.path.size() > 1 && options.path.back() == '/') options.path.pop_back();
  if (::mkdir(options.path.c_str(), 0755) != 0 && errno != EEXIST) {
    return fileError(StoreErrorCode::FILE_OPEN_FAIL, "disk tier: cannot create", options.path,
                     errno);
  }
  std::unique_ptr<DiskStore> store(new DiskStore(options));
  store->dir_fd_.reset(::open(options.path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!store->dir_fd_.valid()) {
    return fileError(StoreErrorCode::FILE_OPEN_FAIL, "disk tier: cannot open directory",
                     options.path, errno);
  }
  if (::access(options.path.c_str(), W_OK) != 0) {
    return fileError(StoreErrorCode::FILE_OPEN_FAIL, "disk tier: cannot write to", options.path,
                     errno);
  }
  std::string lock_path = options.path + "/LOCK";
  store->lock_fd_.reset(::open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644));
  if (!store->lock_fd_.valid()) {
    return fileError(StoreErrorCode::FILE_OPEN_FAIL, "disk tier: cannot create", lock_path, errno);
  }
  if (::flock(store->lock_fd_.get(), LOCK_EX | LOCK_NB) != 0) {
    return Status::storeError(
        StoreErrorCode::FILE_LOCK_FAIL,
        "disk tier: " + options.path + " is in use by another process (one client per directory)");
  }
  store->capacity_ = options.capacity;
  if (store->capacity_ == 0) {
    struct statvfs fs {};
    if (::fstatvfs(store->dir_fd_.get(), &fs) == 0) {
      store->capacity_ = static_cast<uint64_t>(fs.f_bavail) * fs.f_frsize / 10 * 9;
    }
  }
  MC_RETURN_IF_ERROR(store->load());
  return store;
}

DiskStore::~DiskStore() {
  Status status = flush();
  if (!status.ok()) LOG(WARNING) << "disk tier: " << status.toString();
}

Status DiskStore::load() {
  std::vector<uint32_t> ids;
  DIR* dir = ::opendir(options_.path.c_str());
  if (dir == nullptr) {
    return fileError(StoreErrorCode::FILE_OPEN_FAIL, "disk tier: cannot list", options_.path,
                     errno);
  }
  while (dirent* entry = ::readdir(dir)) {
    unsigned id = 0;
    char suffix[8] = {};
    if (std::sscanf(entry->d_name, "bucket-%10u.%3s", &id, suffix) == 2 &&
        std::strcmp(suffix, "mcb") == 0) {
      ids.push_back(id);
    }
  }
  ::closedir(dir);
  std::sort(ids.begin(), ids.end());
  for (uint32_t id : ids) MC_RETURN_IF_ERROR(loadBucket(id));
  if (!ids.empty()) next_bucket_id_ = ids.back() + 1;
  std::lock_guard lock(stats_mutex_);
  counters_.recovered_objects = index_.size();
  if (!ids.empty()) {
    LOG(INFO) << "disk tier: " << options_.path << ": " << index_.size() << " object(s) in "
              << ids.size() << " bucket(s) indexed";
  }
  return Status::OK();
}

Status DiskStore::loadBucket(uint32_t id) {
  auto bucket = std::make_shared<Bucket>();
  bucket->id = id;
  std::string path = bucketPath(id, "mcb");
  bucket->fd.reset(::open(path.c_str(), O_RDWR | O_CLOEXEC | (direct_ ? O_DIRECT : 0)));
  if (!bucket->fd.valid() && errno == EINVAL && direct_.load()) {
    direct_ = false;
    bucket->fd.reset(::open(path.c_str(), O_RDWR | O_CLOEXEC));
  }
  if (!bucket->fd.valid()) {
    return fileError(StoreErrorCode::FILE_OPEN_FAIL, "disk tier: cannot open", path, errno);
  }
  struct stat st {};
  ::fstat(bucket->fd.get(), &st);
  bucket->allocated = static_cast<uint64_t>(st.st_size);
  file_bytes_ += bucket->allocated;

  // A sealed bucket's index file; else read the records themselves, checking every byte.
  std::vector<RecordInfo> records;
  std::ifstream index_file(bucketPath(id, "idx"), std::ios::binary);
  std::optional<std::vector<RecordInfo>> indexed;
  if (index_file) {
    std::stringstream bytes;
    bytes << index_file.rdbuf();
    indexed = decodeIndex(bytes.str());
  }
  if (indexed) {
    records = std::move(*indexed);
    bucket->sealed = true;
    bucket->end = bucket->allocated;
  } else {
    AlignedBuffer buffer(kBlock);
    uint64_t offset = 0;
    uint64_t failures = 0;
    while (offset + kBlock <= bucket->allocated) {
      ReadOp head{bucket->fd.get(), offset, kBlock, buffer.data()};
      readAll({&head, 1});
      if (head.result != static_cast<ssize_t>(kBlock)) break;
      // The header's key may run past the first block.
      uint32_t key_size = 0;
      std::memcpy(&key_size, buffer.data() + 8, sizeof(key_size));
      if (key_size <= kMaxKeyBytes && kRecordHeaderBytes + key_size > kBlock &&
          offset + alignUp(kRecordHeaderBytes + key_size) <= bucket->allocated) {
        buffer.reserve(alignUp(kRecordHeaderBytes + key_size));
        head = {bucket->fd.get(), offset, alignUp(kRecordHeaderBytes + key_size), buffer.data()};
        readAll({&head, 1});
      }
      auto record = decodeHeader(buffer.data(),
                                 static_cast<size_t>(std::max<ssize_t>(head.result, 0)), offset);
      if (!record || offset + record->span() > bucket->allocated) break;  // the written end
      bool whole = true;
      if (record->kind == RecordKind::kValue) {
        buffer.reserve(record->span());
        ReadOp all{bucket->fd.get(), offset, record->span(), buffer.data()};
        readAll({&all, 1});
        whole = all.result == static_cast<ssize_t>(record->span()) &&
                crc32cStriped(buffer.data() + record->valueOffset(), record->value_size) ==
                    record->value_crc;
      }
      if (whole) {
        records.push_back(*record);
      } else {
        ++failures;
      }
      offset += record->span();
    }
    bucket->end = offset;
    if (failures > 0) {
      LOG(WARNING) << "disk tier: " << path << ": " << failures
                   << " record(s) failed their checksum at start and were dropped";
      std::lock_guard lock(stats_mutex_);
      counters_.checksum_failures += failures;
    }
  }
  for (const RecordInfo& record : records) {
    next_seq_ = std::max(next_seq_, record.seq + 1);
    apply(bucket, record);
  }
  if (!bucket->sealed) bucket->records = std::move(records);
  buckets_.push_back(std::move(bucket));
  return Status::OK();
}

void DiskStore::apply(const std::shared_ptr<Bucket>& bucket, const RecordInfo& record) {
  std::lock_guard lock(mutex_);
  auto it = index_.find(record.key);
  if (record.kind == RecordKind::kTombstone) {
    if (it != index_.end() && it->second.record.version <= record.version) {
      indexed_bytes_ -= it->second.record.value_size;
      --it->second.bucket->live;
      index_.erase(it);
    }
    return;
  }
  if (it != index_.end()) {
    indexed_bytes_ -= it->second.record.value_size;
    --it->second.bucket->live;
    it->second = {bucket, record};
  } else {
    index_.emplace(record.key, Entry{bucket, record});
  }
  ++bucket->live;
  indexed_bytes_ += record.value_size;
}

Result<std::shared_ptr<DiskStore::Bucket>> DiskStore::createBucket(
    uint64_t size, std::vector<DiskObject>& evicted) {
  while (file_bytes_.load() + size > capacity_) {
    if (!evict_when_full_.load() || !evictOldest(nullptr, evicted)) {
      return Status::storeError(StoreErrorCode::FILE_WRITE_FAIL,
                                "disk tier " + options_.path + " is full (" +
                                    std::to_string(file_bytes_.load()) + " of " +
                                    std::to_string(capacity_) + " bytes" +
                                    (evict_when_full_.load() ? ")" : "; disk eviction is off)"));
    }
  }
  auto bucket = std::make_shared<Bucket>();
  bucket->id = next_bucket_id_++;
  std::string path = bucketPath(bucket->id, "mcb");
  int flags = O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC;
  bucket->fd.reset(::open(path.c_str(), flags | (direct_ ? O_DIRECT : 0), 0644));
  if (!bucket->fd.valid() && errno == EINVAL && direct_.load()) {
    LOG(WARNING) << "disk tier: " << options_.path
                 << " does not take O_DIRECT; using the page cache";
    direct_ = false;
    bucket->fd.reset(::open(path.c_str(), flags, 0644));
  }
  if (!bucket->fd.valid()) {
    return fileError(StoreErrorCode::FILE_WRITE_FAIL, "disk tier: cannot create", path, errno);
  }
  // Preallocated: a full file system is an error here, not in the middle of a batch.
  for (;;) {
    int rc = ::posix_fallocate(bucket->fd.get(), 0, static_cast<off_t>(size));
    if (rc == 0 || rc == EOPNOTSUPP) break;
    if (rc == ENOSPC && evict_when_full_.load() && evictOldest(bucket.get(), evicted)) continue;
    ::unlink(path.c_str());
    return fileError(StoreErrorCode::FILE_WRITE_FAIL, "disk tier: no space for a new bucket in",
                     options_.path, rc);
  }
  bucket->allocated = size;
  (void)::fsync(dir_fd_.get());  // the new file's name survives a crash
  file_bytes_ += size;
  buckets_.push_back(bucket);
  return bucket;
}

Result<std::shared_ptr<DiskStore::Bucket>> DiskStore::bucketFor(uint64_t span,
                                                                std::vector<DiskObject>& evicted) {
  if (!buckets_.empty()) {
    Bucket& last = *buckets_.back();
    if (!last.sealed && last.end + span <= last.allocated) return buckets_.back();
    if (!last.sealed) seal(last);
  }
  return createBucket(std::max<uint64_t>(alignUp(options_.bucket_size), span), evicted);
}

void DiskStore::seal(Bucket& bucket) {
  std::string bytes = encodeIndex(bucket.records);
  std::string path = bucketPath(bucket.id, "idx");
  std::string temp = path + ".tmp";
  net::UniqueFd fd(::open(temp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644));
  bool ok = fd.valid() && writeAll(fd.get(), bytes.data(), bytes.size(), 0) == 0 &&
            ::fdatasync(fd.get()) == 0 && ::rename(temp.c_str(), path.c_str()) == 0;
  if (!ok) {
    // Not fatal: a bucket without an index is scanned at the next start.
    LOG(WARNING) << "disk tier: cannot write " << path << ": " << std::strerror(errno);
    ::unlink(temp.c_str());
  }
  (void)::fsync(dir_fd_.get());
  bucket.sealed = true;
  bucket.records.clear();
  bucket.records.shrink_to_fit();
}

bool DiskStore::evictOldest(const Bucket* keep, std::vector<DiskObject>& evicted) {
  // Never the bucket being written (it is the newest, and there must be an older one).
  for (size_t i = 0; i < buckets_.size(); ++i) {
    std::shared_ptr<Bucket> victim = buckets_[i];
    if (victim.get() == keep || (i + 1 == buckets_.size() && !victim->sealed)) continue;
    uint64_t objects = 0, bytes = 0;
    {
      std::lock_guard lock(mutex_);
      for (auto it = index_.begin(); it != index_.end();) {
        if (it->second.bucket != victim) {
          ++it;
          continue;
        }
        evicted.push_back({it->first, it->second.record.version, it->second.record.value_size});
        ++objects;
        bytes += it->second.record.value_size;
        indexed_bytes_ -= it->second.record.value_size;
        it = index_.erase(it);
      }
    }
    ::unlink(bucketPath(victim->id, "mcb").c_str());
    ::unlink(bucketPath(victim->id, "idx").c_str());
    file_bytes_ -= victim->allocated;
    buckets_.erase(buckets_.begin() + static_cast<std::ptrdiff_t>(i));
    {
      std::lock_guard lock(stats_mutex_);
      counters_.evicted_objects += objects;
      counters_.evicted_bytes += bytes;
    }
    LOG(INFO) << "disk tier: " << options_.path << " full: evicted its oldest bucket (" << objects
              << " object(s), " << bytes << " bytes)";
    return true;
  }
  return false;
}

std::vector<Status> DiskStore::write(std::span<const DiskWrite> items,
                                     std::vector<DiskObject>& evicted) {
  std::vector<Status> out(items.size());
  std::lock_guard write_lock(write_mutex_);
  std::vector<RecordInfo> tombstones;
  {
    std::lock_guard lock(mutex_);
    tombstones.swap(pending_tombstones_);
  }
  // Records in write order: tombstones first, then the values.
  struct Pending {
    RecordInfo record;
    const char* data = nullptr;
    size_t item = SIZE_MAX;  // SIZE_MAX: a tombstone
  };
  std::vector<Pending> pending;
  for (RecordInfo& t : tombstones) pending.push_back({std::move(t), nullptr, SIZE_MAX});
  for (size_t i = 0; i < items.size(); ++i) {
    const DiskWrite& item = items[i];
    if (item.key.empty() || item.key.size() > kMaxKeyBytes || item.size == 0) {
      out[i] = Status::storeError(StoreErrorCode::INVALID_PARAMS,
                                  "disk tier: key '" + item.key + "': bad key or empty value");
      continue;
    }
    RecordInfo record;
    record.key = item.key;
    record.version = item.version;
    record.value_size = item.size;
    pending.push_back({std::move(record), item.data, i});
  }
  // Runs of records that go into one bucket: one write and one fdatasync each.
  std::vector<std::pair<std::shared_ptr<Bucket>, std::vector<Pending>>> done;
  size_t next = 0;
  while (next < pending.size()) {
    auto bucket = bucketFor(pending[next].record.span(), evicted);
    if (!bucket.ok()) {
      for (; next < pending.size(); ++next) {
        if (pending[next].item != SIZE_MAX) out[pending[next].item] = bucket.status();
      }
      break;
    }
    Bucket& b = **bucket;
    uint64_t start = b.end, length = 0;
    size_t first = next;
    while (next < pending.size() && start + length + pending[next].record.span() <= b.allocated) {
      length += pending[next].record.span();
      ++next;
    }
    write_buffer_.reserve(length);
    uint64_t at = 0;
    for (size_t i = first; i < next; ++i) {
      RecordInfo& record = pending[i].record;
      record.offset = start + at;
      record.seq = next_seq_++;
      record.kind = pending[i].item == SIZE_MAX ? RecordKind::kTombstone : RecordKind::kValue;
      char* out_record = write_buffer_.data() + at;
      if (record.kind == RecordKind::kValue) {
        std::memcpy(out_record + record.valueOffset(), pending[i].data, record.value_size);
        record.value_crc = crc32cStriped(out_record + record.valueOffset(), record.value_size);
      }
      encodeHeader(record, out_record);
      uint64_t used = record.valueOffset() + record.value_size;
      std::memset(out_record + used, 0, record.span() - used);
      at += record.span();
    }
    int rc = 0;
    {
      ScopedLatency timed(write_latency_);
      rc = writeAll(b.fd.get(), write_buffer_.data(), length, start);
      if (rc == 0 && ::fdatasync(b.fd.get()) != 0) rc = -errno;
    }
    if (rc != 0) {
      Status failed = fileError(StoreErrorCode::FILE_WRITE_FAIL, "disk tier: write to",
                                bucketPath(b.id, "mcb"), -rc);
      LOG(WARNING) << failed.message();
      for (size_t i = first; i < next; ++i) {
        if (pending[i].item != SIZE_MAX) out[pending[i].item] = failed;
      }
      // The bucket's tail is unknown now: write nothing more into it.
      seal(b);
      std::lock_guard lock(stats_mutex_);
      counters_.write_failures += next - first;
      continue;
    }
    b.end = start + length;
    // Durable: part of the bucket's index file from now on (it may be sealed by the next run).
    for (size_t i = first; i < next; ++i) b.records.push_back(pending[i].record);
    std::vector<Pending> run(
        std::make_move_iterator(pending.begin() + static_cast<std::ptrdiff_t>(first)),
        std::make_move_iterator(pending.begin() + static_cast<std::ptrdiff_t>(next)));
    done.emplace_back(*bucket, std::move(run));
  }
  // Durable now: visible.
  uint64_t objects = 0, bytes = 0;
  for (auto& [bucket, run] : done) {
    for (Pending& p : run) {
      if (p.item != SIZE_MAX) {
        ++objects;
        bytes += p.record.value_size;
      }
      apply(bucket, p.record);
    }
  }
  reclaimDeadBuckets();
  std::lock_guard lock(stats_mutex_);
  counters_.written_objects += objects;
  counters_.written_bytes += bytes;
  return out;
}

void DiskStore::reclaimDeadBuckets() {
  // Only from the oldest end: a tombstone can refer only to values in its own or older
  // buckets, so the tombstones in a dead prefix guard nothing that remains.
  while (buckets_.size() > 1 && buckets_.front()->sealed) {
    std::shared_ptr<Bucket> oldest = buckets_.front();
    {
      std::lock_guard lock(mutex_);
      if (oldest->live > 0) return;
    }
    ::unlink(bucketPath(oldest->id, "mcb").c_str());
    ::unlink(bucketPath(oldest->id, "idx").c_str());
    file_bytes_ -= oldest->allocated;
    buckets_.erase(buckets_.begin());
    std::lock_guard lock(stats_mutex_);
    ++counters_.reclaimed_buckets;
  }
}

Status DiskStore::flush() {
  {
    std::lock_guard lock(mutex_);
    if (pending_tombstones_.empty()) return Status::OK();
  }
  std::vector<DiskObject> evicted;
  write({}, evicted);
  // Objects evicted for a tombstone's room are gone from the index; the master learns it when
  // their reads fail or the holder re-registers (rare: only tombstones were written).
  return Status::OK();
}

Result<DiskStore::Location> DiskStore::locate(const std::string& key, uint64_t version) const {
  std::lock_guard lock(mutex_);
  auto it = index_.find(key);
  if (it == index_.end() || (version != 0 && it->second.record.version != version)) {
    return Status::storeError(StoreErrorCode::OBJECT_NOT_FOUND,
                              "key '" + key + "' is not on this disk tier");
  }
  return Location{it->second.bucket, it->second.record};
}

void DiskStore::dropEntry(const std::string& key, uint64_t version) {
  std::lock_guard lock(mutex_);
  auto it = index_.find(key);
  if (it == index_.end() || (version != 0 && it->second.record.version != version)) return;
  RecordInfo tombstone;
  tombstone.kind = RecordKind::kTombstone;
  tombstone.key = key;
  tombstone.version = it->second.record.version;
  pending_tombstones_.push_back(std::move(tombstone));
  indexed_bytes_ -= it->second.record.value_size;
  --it->second.bucket->live;
  index_.erase(it);
}

bool DiskStore::remove(const std::string& key, uint64_t version) {
  {
    std::lock_guard lock(mutex_);
    auto it = index_.find(key);
    if (it == index_.end() || (version != 0 && it->second.record.version != version)) return false;
  }
  dropEntry(key, version);
  return true;
}

std::vector<Status> DiskStore::read(std::span<const Location> where, std::span<char* const> dests) {
  std::vector<ReadOp> ops(where.size());
  for (size_t i = 0; i < where.size(); ++i) {
    ops[i] = {where[i].bucket->fd.get(), where[i].record.offset, where[i].record.span(), dests[i]};
  }
  {
    ScopedLatency timed(read_latency_);
    readAll(ops);
  }
  std::vector<Status> out(where.size());
  uint64_t failures = 0, objects = 0, bytes = 0;
  for (size_t i = 0; i < where.size(); ++i) {
    const RecordInfo& expected = where[i].record;
    bool whole = ops[i].result == static_cast<ssize_t>(expected.span());
    if (whole) {
      auto header = decodeHeader(dests[i], expected.span(), expected.offset);
      whole = header && header->key == expected.key && header->version == expected.version &&
              header->value_size == expected.value_size &&
              header->value_crc == expected.value_crc &&
              crc32cStriped(dests[i] + expected.valueOffset(), expected.value_size) ==
                  expected.value_crc;
    }
    if (whole) {
      ++objects;
      bytes += expected.value_size;
      continue;
    }
    ++failures;
    LOG(WARNING) << "disk tier: key '" << expected.key << "' in "
                 << bucketPath(where[i].bucket->id, "mcb") << " at " << expected.offset
                 << (ops[i].result < 0
                         ? std::string(": ") + std::strerror(static_cast<int>(-ops[i].result))
                         : std::string(": checksum mismatch"))
                 << "; dropped";
    dropEntry(expected.key, expected.version);
    out[i] = Status::storeError(StoreErrorCode::CHECKSUM_MISMATCH,
                                "key '" + expected.key + "': its disk copy is damaged (dropped)");
  }
  std::lock_guard lock(stats_mutex_);
  counters_.checksum_failures += failures;
  counters_.read_objects += objects;
  counters_.read_bytes += bytes;
  return out;
}

std::vector<DiskObject> DiskStore::objects() const {
  std::lock_guard lock(mutex_);
  std::vector<DiskObject> out;
  out.reserve(index_.size());
  for (const auto& [key, entry] : index_) {
    out.push_back({key, entry.record.version, entry.record.value_size});
  }
  return out;
}

DiskStats DiskStore::stats() const {
  DiskStats out;
  {
    std::lock_guard lock(stats_mutex_);
    out = counters_;
  }
  {
    std::lock_guard lock(mutex_);
    out.objects = index_.size();
    out.bytes = indexed_bytes_;
  }
  out.file_bytes = file_bytes_.load();
  out.capacity = capacity_;
  out.direct_io = direct_;
  return out;
}

}  // namespace mooncake::store::tier
