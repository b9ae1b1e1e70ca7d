#include "store/master/durable/metadata_log.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <map>
#include <optional>

#include "common/crc32c.h"
#include "common/logging.h"

namespace mooncake::store::durable {
namespace {

// A frame: 8 bytes {length u32, type u8, 3 zero bytes}, 8 bytes lsn, 4 bytes CRC-32C of
// (type, lsn, payload), 4 zero bytes, then the payload padded to 8 bytes. In a chunk the
// first 8 bytes are stored last, in one aligned store, so a reader sees a whole frame or a
// zero length (the end): the chunk files are zero-filled when created.
constexpr size_t kFrameHeader = 24;
constexpr uint32_t kMaxPayload = 64u << 20;
constexpr std::string_view kSnapshotMagic = "mooncake-master-snapshot-1";
constexpr const char* kSnapshotName = "snapshot.mcs";
// A snapshot is due when the log has outgrown both this and kSnapshotGrowth times the last
// snapshot: a snapshot costs about what logging its size does, so this keeps snapshots at a
// quarter of the logging work (and a replay at most that many times a snapshot's).
constexpr uint64_t kMinSnapshotTrigger = 128ull << 20;
constexpr uint64_t kSnapshotGrowth = 4;

size_t frameSize(size_t payload) { return kFrameHeader + (payload + 7) / 8 * 8; }

uint32_t frameCrc(RecordType type, uint64_t lsn, std::string_view payload) {
  auto raw_type = static_cast<uint8_t>(type);
  uint32_t crc = crc32c(0, &raw_type, 1);
  crc = crc32c(crc, &lsn, sizeof(lsn));
  return crc32c(crc, payload.data(), payload.size());
}

uint64_t firstWord(size_t payload, RecordType type) {
  return static_cast<uint64_t>(payload) | (static_cast<uint64_t>(type) << 32);
}

// Writes a frame at `out` (which has frameSize(payload) zeroed bytes); the first word last.
void writeFrame(char* out, RecordType type, uint64_t lsn, std::string_view payload) {
  std::memcpy(out + 8, &lsn, 8);
  uint32_t crc = frameCrc(type, lsn, payload);
  std::memcpy(out + 16, &crc, 4);
  std::memcpy(out + kFrameHeader, payload.data(), payload.size());
  std::atomic_ref<uint64_t>(*reinterpret_cast<uint64_t*>(out))
      .store(firstWord(payload.size(), type), std::memory_order_release);
}

enum class ParseEnd { kClean, kTorn };

// Calls `apply` for each whole frame of `data`; stops at a zero length (the end) or a frame
// that does not check out (a torn tail).
template <typename Apply>
ParseEnd parseFrames(std::string_view data, Apply&& apply) {
  size_t offset = 0;
  while (offset + kFrameHeader <= data.size()) {
    uint64_t word = 0;
    std::memcpy(&word, data.data() + offset, 8);
    auto length = static_cast<uint32_t>(word);
    if (length == 0 && word == 0) return ParseEnd::kClean;
    auto type = static_cast<RecordType>((word >> 32) & 0xFF);
    uint64_t lsn = 0;
    uint32_t crc = 0;
    std::memcpy(&lsn, data.data() + offset + 8, 8);
    std::memcpy(&crc, data.data() + offset + 16, 4);
    if (length > kMaxPayload || offset + frameSize(length) > data.size()) return ParseEnd::kTorn;
    std::string_view payload = data.substr(offset + kFrameHeader, length);
    if (frameCrc(type, lsn, payload) != crc) return ParseEnd::kTorn;
    apply(type, lsn, payload);
    offset += frameSize(length);
  }
  return ParseEnd::kClean;
}

Status ioError(const std::string& what, const std::string& path) {
  return Status::error(ErrorCode::ERR_INVALID_ARGUMENT,
                       what + " " + path + ": " + std::strerror(errno));
}

Result<std::string> readFile(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return ioError("cannot open", path);
  std::string out;
  struct stat st {};
  if (::fstat(fd, &st) == 0) out.resize(static_cast<size_t>(st.st_size));
  size_t done = 0;
  while (done < out.size()) {
    ssize_t n = ::pread(fd, out.data() + done, out.size() - done, static_cast<off_t>(done));
    if (n <= 0) {
      if (n < 0 && errno == EINTR) continue;
      break;
    }
    done += static_cast<size_t>(n);
  }
  ::close(fd);
  out.resize(done);
  return out;
}

Status writeWhole(int fd, std::string_view data, const std::string& path) {
  while (!data.empty()) {
    ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return ioError("cannot write", path);
    data.remove_prefix(static_cast<size_t>(n));
  }
  return Status::OK();
}

void syncDirectory(const std::string& dir) {
  int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd >= 0) {
    (void)::fsync(fd);
    ::close(fd);
  }
}

int64_t steadyMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

struct ChunkName {
  size_t stream = 0;
  uint64_t seq = 0;
};

// "log-SS-NNNNNNNNNN.mcl"
std::optional<ChunkName> parseChunkName(const std::string& name) {
  unsigned stream = 0;
  unsigned long long seq = 0;
  char tail[8] = {};
  if (std::sscanf(name.c_str(), "log-%2u-%10llu.%3s", &stream, &seq, tail) != 3 ||
      std::string_view(tail) != "mcl") {
    return std::nullopt;
  }
  return ChunkName{stream, seq};
}

// Writes `size` zero bytes from the start of `fd`; 0 or an errno.
int writeZeros(int fd, uint64_t size) {
  static const char zeros[1 << 20] = {};  // never written: costs the process no memory
  for (uint64_t done = 0; done < size;) {
    const size_t piece = static_cast<size_t>(std::min<uint64_t>(sizeof(zeros), size - done));
    ssize_t wrote = ::pwrite(fd, zeros, piece, static_cast<off_t>(done));
    if (wrote < 0 && errno == EINTR) continue;
    if (wrote <= 0) return wrote < 0 ? errno : EIO;
    done += static_cast<uint64_t>(wrote);
  }
  return 0;
}

}  // namespace

void appendFrame(std::string& out, RecordType type, uint64_t lsn, std::string_view payload) {
  size_t at = out.size();
  out.resize(at + frameSize(payload.size()), '\0');
  writeFrame(out.data() + at, type, lsn, payload);
}

size_t applyFrames(std::string_view data, RecoveredState& state) {
  size_t consumed = 0;
  parseFrames(data, [&](RecordType type, uint64_t lsn, std::string_view payload) {
    if (type != RecordType::kSnapshotHeader) state.apply(type, lsn, payload);
    consumed = static_cast<size_t>(payload.data() - data.data()) + (payload.size() + 7) / 8 * 8;
  });
  return consumed;
}

void SnapshotSink::add(RecordType type, uint64_t lsn, std::string_view payload) {
  appendFrame(buffer_, type, lsn, payload);
}

struct MetadataLog::Chunk {
  int fd = -1;
  char* base = nullptr;
  size_t size = 0;
  size_t used = 0;
  uint64_t seq = 0;
  std::string path;
  std::chrono::steady_clock::time_point created = std::chrono::steady_clock::now();
  void unmap() {
    if (base != nullptr) ::munmap(base, size);
    base = nullptr;
  }
  ~Chunk() {
    unmap();
    if (fd >= 0) ::close(fd);
  }
};

MetadataLog::MetadataLog(const MetadataLogOptions& options) : options_(options) {
  for (size_t i = 0; i < std::max<size_t>(1, options_.streams); ++i) {
    streams_.push_back(std::make_unique<Stream>());
  }
}

MetadataLog::~MetadataLog() {
  {
    std::lock_guard lock(sync_mutex_);
    stopping_ = true;
  }
  sync_cv_.notify_all();
  if (sync_thread_.joinable()) sync_thread_.join();
  syncOnce();
  for (auto& stream : streams_) {
    if (stream->spare) ::unlink(stream->spare->path.c_str());  // never written
  }
  if (lock_fd_ >= 0) ::close(lock_fd_);
}

std::unique_ptr<MetadataLog> MetadataLog::inMemory(uint64_t run, RecordTap* tap) {
  MetadataLogOptions options;
  options.streams = 0;
  std::unique_ptr<MetadataLog> log(new MetadataLog(options));
  log->streams_.clear();
  log->run_ = run;
  log->tap_ = tap;
  return log;
}

Result<std::unique_ptr<MetadataLog>> MetadataLog::open(const MetadataLogOptions& options,
                                                       RecoveredState& state,
                                                       RecoveryStats& stats) {
  const auto started = std::chrono::steady_clock::now();
  std::unique_ptr<MetadataLog> log(new MetadataLog(options));
  // mkdir -p
  for (size_t at = 1; at <= options.dir.size(); ++at) {
    if (at == options.dir.size() || options.dir[at] == '/') {
      std::string prefix = options.dir.substr(0, at);
      if (::mkdir(prefix.c_str(), 0700) != 0 && errno != EEXIST) {
        return ioError("cannot create the metadata directory", prefix);
      }
    }
  }
  std::string lock_path = options.dir + "/LOCK";
  log->lock_fd_ = ::open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (log->lock_fd_ < 0) return ioError("cannot write in the metadata directory", options.dir);
  if (::flock(log->lock_fd_, LOCK_EX | LOCK_NB) != 0) {
    std::string holder(32, '\0');
    ssize_t n = ::pread(log->lock_fd_, holder.data(), holder.size(), 0);
    holder.resize(n > 0 ? static_cast<size_t>(n) : 0);
    while (!holder.empty() && (holder.back() == '\n' || holder.back() == '\0')) holder.pop_back();
    return Status::error(ErrorCode::ERR_INVALID_ARGUMENT,
                         "metadata directory " + options.dir +
                             " is in use by another mooncake_master" +
                             (holder.empty() ? "" : " (pid " + holder + ")") +
                             "; give each master its own --metadata_dir");
  }
  std::string pid = std::to_string(::getpid()) + "\n";
  (void)::ftruncate(log->lock_fd_, 0);
  (void)::pwrite(log->lock_fd_, pid.data(), pid.size(), 0);
  MC_RETURN_IF_ERROR(log->readAll(state, stats));
  state.compact();
  log->run_ = (state.max_lsn >> 40) + 1;
  log->last_snapshot_ms_.store(steadyMs());
  stats.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  MetadataLog* raw = log.get();
  log->sync_thread_ = std::thread([raw] { raw->syncLoop(); });
  return log;
}

Status MetadataLog::readAll(RecoveredState& state, RecoveryStats& stats) {
  std::vector<uint64_t> first_seq(streams_.size(), 0);
  const std::string snapshot_path = options_.dir + "/" + kSnapshotName;
  if (::access(snapshot_path.c_str(), F_OK) == 0) {
    MC_ASSIGN_OR_RETURN(std::string data, readFile(snapshot_path));
    state.objects.reserve(data.size() / 96);  // about one object record per 100 bytes
    bool has_header = false;
    ParseEnd end = parseFrames(data, [&](RecordType type, uint64_t lsn, std::string_view payload) {
      if (type == RecordType::kSnapshotHeader) {
        ByteReader r(payload);
        std::string magic;
        uint64_t streams = 0;
        if (r.bytes(magic) && magic == kSnapshotMagic && r.u64(streams) && streams <= 1024) {
          has_header = true;
          first_seq.assign(std::max<uint64_t>(streams, streams_.size()), 0);
          for (uint64_t s = 0; s < streams; ++s) {
            if (!r.u64(first_seq[s])) has_header = false;
          }
        }
        return;
      }
      state.apply(type, lsn, payload);
      ++stats.snapshot_records;
    });
    if (end == ParseEnd::kTorn || !has_header) {
      return Status::error(ErrorCode::ERR_INVALID_ARGUMENT,
                           "metadata snapshot " + snapshot_path +
                               " is damaged; move it away to start without it (the objects it "
                               "lists are then forgotten)");
    }
    snapshot_bytes_.store(data.size());
  }
  // Chunks, per stream in order; those the snapshot covers are deleted.
  std::map<std::pair<size_t, uint64_t>, std::string> chunks;
  if (DIR* dir = ::opendir(options_.dir.c_str())) {
    while (dirent* entry = ::readdir(dir)) {
      auto name = parseChunkName(entry->d_name);
      if (name) chunks[{name->stream, name->seq}] = options_.dir + "/" + entry->d_name;
    }
    ::closedir(dir);
  }
  uint64_t chunk_bytes = 0;
  for (const auto& [name, path] : chunks) {
    struct stat st {};
    if (::stat(path.c_str(), &st) == 0) chunk_bytes += static_cast<uint64_t>(st.st_size);
  }
  // A put leaves about two records of ~100 bytes: a generous guess saves rehashing.
  state.objects.reserve(state.objects.size() + chunk_bytes / 256);
  for (const auto& [name, path] : chunks) {
    auto [stream, seq] = name;
    if (stream < first_seq.size() && seq < first_seq[stream]) {
      ::unlink(path.c_str());  // covered by the snapshot (its deletion was cut short)
      continue;
    }
    MC_ASSIGN_OR_RETURN(std::string data, readFile(path));
    stats.log_bytes += data.size();
    ParseEnd end = parseFrames(data, [&](RecordType type, uint64_t lsn, std::string_view payload) {
      state.apply(type, lsn, payload);
      ++stats.log_records;
    });
    if (end == ParseEnd::kTorn) ++stats.torn_tails;
    if (stream < streams_.size()) {
      streams_[stream]->next_seq = std::max(streams_[stream]->next_seq, seq + 1);
    }
  }
  for (size_t s = 0; s < streams_.size(); ++s) {
    streams_[s]->next_seq = std::max(streams_[s]->next_seq, first_seq[s]);
  }
  stats.malformed = state.malformed;
  recovered_log_bytes_.store(stats.log_bytes);
  return Status::OK();
}

std::string MetadataLog::chunkPath(size_t stream, uint64_t seq) const {
  char name[64];
  std::snprintf(name, sizeof(name), "log-%02zu-%010llu.mcl", stream,
                static_cast<unsigned long long>(seq));
  return options_.dir + "/" + name;
}

Result<std::shared_ptr<MetadataLog::Chunk>> MetadataLog::createChunk(size_t index, uint64_t seq,
                                                                     size_t size) const {
  auto chunk = std::make_shared<Chunk>();
  chunk->size = size;
  chunk->seq = seq;
  chunk->path = chunkPath(index, seq);
  chunk->fd = ::open(chunk->path.c_str(), O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  int error = chunk->fd < 0 ? errno : 0;
  // Reserve the blocks now: a full disk is then an error here, not a SIGBUS on a store.
  if (error == 0) error = ::posix_fallocate(chunk->fd, 0, static_cast<off_t>(chunk->size));
  // Then write the zeros the chunk starts as: the pages enter the page cache through one
  // system call per MiB, and each page's first write fault below is a minor one (0.5 us per
  // page in all, against 1.7 us when every fault has to bring its page in; docs/BENCHMARKS.md).
  if (error == 0) error = writeZeros(chunk->fd, chunk->size);
  if (error == 0) {
    void* base = ::mmap(nullptr, chunk->size, PROT_READ | PROT_WRITE, MAP_SHARED, chunk->fd, 0);
    if (base == MAP_FAILED) {
      error = errno;
    } else {
      chunk->base = static_cast<char*>(base);
      // Take each page's first write fault here rather than in an append (a fault on a
      // file page costs microseconds; an append, a fraction of one).
      for (size_t offset = 0; offset < chunk->size; offset += 4096) {
        std::atomic_ref<char>(chunk->base[offset]).store(0, std::memory_order_relaxed);
      }
    }
  }
  if (error != 0) {
    if (chunk->fd >= 0) ::unlink(chunk->path.c_str());
    chunk->path.clear();
    errno = error;
    return ioError("cannot create", chunkPath(index, seq));
  }
  return chunk;
}

bool MetadataLog::ensureRoom(size_t index, Stream& stream, size_t bytes) {
  if (stream.current && stream.current->used + bytes <= stream.current->size) return true;
  if (failed_.load(std::memory_order_relaxed)) return false;
  if (stream.current) stream.retired.push_back(std::move(stream.current));
  if (stream.spare && stream.spare->size >= bytes) {
    stream.current = std::move(stream.spare);
    stream.current->created = std::chrono::steady_clock::now();
  } else {
    auto chunk =
        createChunk(index, stream.next_seq++, std::max<size_t>(options_.chunk_bytes, bytes));
    if (!chunk.ok()) {
      if (!failed_.exchange(true)) {
        LOG(ERROR) << "master: metadata log: " << chunk.status().message()
                   << "; changes are kept in memory only until a snapshot succeeds";
      }
      return false;
    }
    stream.current = std::move(*chunk);
  }
  {
    std::lock_guard lock(sync_mutex_);
    spares_wanted_ = true;
  }
  sync_cv_.notify_all();
  return true;
}

void MetadataLog::prepareSpares() {
  for (size_t index = 0; index < streams_.size(); ++index) {
    Stream& stream = *streams_[index];
    uint64_t seq = 0;
    {
      std::lock_guard lock(stream.mutex);
      // Streams no thread writes to yet get none (an idle master keeps no chunk files).
      if (!stream.current || stream.spare || stream.preparing_seq != 0 || failed()) continue;
      seq = stream.next_seq++;
      stream.preparing_seq = seq;
    }
    auto chunk = createChunk(index, seq, options_.chunk_bytes);
    std::lock_guard lock(stream.mutex);
    stream.preparing_seq = 0;
    if (chunk.ok()) stream.spare = std::move(*chunk);
  }
}

uint64_t MetadataLog::append(RecordType type, uint64_t lsn, std::string_view payload) {
  if (tap_ != nullptr) tap_->publish(type, lsn, payload);
  if (streams_.empty()) return lsn;  // inMemory
  // Each thread keeps to one stream (threads beyond the stream count share them).
  thread_local const MetadataLog* t_log = nullptr;
  thread_local size_t t_stream = 0;
  if (t_log != this) {
    t_log = this;
    t_stream = next_stream_.fetch_add(1, std::memory_order_relaxed) % streams_.size();
  }
  const size_t index = t_stream % streams_.size();  // (another log at the same address)
  Stream& stream = *streams_[index];
  const size_t bytes = frameSize(payload.size());
  std::lock_guard lock(stream.mutex);
  if (!ensureRoom(index, stream, bytes)) {
    lost_records_.fetch_add(1, std::memory_order_relaxed);
    return lsn;
  }
  Chunk& chunk = *stream.current;
  writeFrame(chunk.base + chunk.used, type, lsn, payload);
  chunk.used += bytes;
  // The next record's lines are cold (the chunk is fresh memory): fetch them now, so the next
  // append does not wait for them.
  for (size_t ahead = 0; ahead < 256 && chunk.used + ahead < chunk.size; ahead += 64) {
    __builtin_prefetch(chunk.base + chunk.used + ahead, 1);
  }
  stream.bytes.store(stream.bytes.load(std::memory_order_relaxed) + bytes,
                     std::memory_order_relaxed);
  return lsn;
}

uint64_t MetadataLog::logBytes() const {
  uint64_t total = recovered_log_bytes_.load(std::memory_order_relaxed);
  for (const auto& stream : streams_) total += stream->bytes.load(std::memory_order_relaxed);
  return total;
}

bool MetadataLog::snapshotDue(std::chrono::seconds interval) const {
  if (streams_.empty()) return false;
  if (failed()) return true;
  uint64_t bytes = logBytes();
  if (bytes >= std::max(kMinSnapshotTrigger, kSnapshotGrowth * snapshotBytes())) return true;
  return bytes > 0 && steadyMs() - last_snapshot_ms_.load() >=
                          std::chrono::duration_cast<std::chrono::milliseconds>(interval).count();
}

Status MetadataLog::snapshot(const Dump& dump) {
  if (streams_.empty()) return Status::OK();  // inMemory: nothing to compact
  std::lock_guard snapshot_lock(snapshot_mutex_);
  // From here on records go to new chunks; the dump below covers everything before.
  std::vector<uint64_t> first_seq(streams_.size());
  for (size_t s = 0; s < streams_.size(); ++s) {
    std::lock_guard lock(streams_[s]->mutex);
    Stream& stream = *streams_[s];
    if (stream.current) stream.retired.push_back(std::move(stream.current));
    stream.bytes.store(0, std::memory_order_relaxed);
    // Records from now on go to the spare (or a chunk made later), never below these.
    first_seq[s] = stream.next_seq;
    if (stream.spare) first_seq[s] = std::min(first_seq[s], stream.spare->seq);
    if (stream.preparing_seq != 0) first_seq[s] = std::min(first_seq[s], stream.preparing_seq);
  }
  const bool was_failed = failed_.exchange(false);
  recovered_log_bytes_.store(0);
  const std::string final_path = options_.dir + "/" + kSnapshotName;
  const std::string temp_path = final_path + ".tmp";
  int fd = ::open(temp_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) {
    failed_.store(true);
    return ioError("cannot create", temp_path);
  }
  uint64_t written = 0;
  auto write = [&](SnapshotSink& sink) -> Status {
    Status status = writeWhole(fd, sink.buffer(), temp_path);
    written += sink.buffer().size();
    sink.buffer().clear();
    return status;
  };
  SnapshotSink header;
  std::string payload;
  ByteWriter w(payload);
  w.bytes(kSnapshotMagic);
  w.u64(first_seq.size());
  for (uint64_t seq : first_seq) w.u64(seq);
  header.add(RecordType::kSnapshotHeader, lsnOf(0), payload);
  Status status = write(header);
  if (status.ok()) status = dump(write);
  if (status.ok() && ::fsync(fd) != 0) status = ioError("cannot flush", temp_path);
  ::close(fd);
  if (status.ok() && ::rename(temp_path.c_str(), final_path.c_str()) != 0) {
    status = ioError("cannot rename into", final_path);
  }
  if (!status.ok()) {
    ::unlink(temp_path.c_str());
    failed_.store(true);
    LOG(ERROR) << "master: metadata snapshot failed: " << status.message();
    return status;
  }
  syncDirectory(options_.dir);
  // The snapshot covers every chunk before first_seq: drop them (and their mappings).
  for (size_t s = 0; s < streams_.size(); ++s) {
    std::vector<std::shared_ptr<Chunk>> retired;
    {
      std::lock_guard lock(streams_[s]->mutex);
      retired.swap(streams_[s]->retired);
    }
    retired.clear();
  }
  if (DIR* dir = ::opendir(options_.dir.c_str())) {
    while (dirent* entry = ::readdir(dir)) {
      auto name = parseChunkName(entry->d_name);
      if (name && name->stream < first_seq.size() && name->seq < first_seq[name->stream]) {
        ::unlinkat(::dirfd(dir), entry->d_name, 0);
      }
    }
    ::closedir(dir);
  }
  snapshot_bytes_.store(written);
  snapshots_.fetch_add(1);
  last_snapshot_ms_.store(steadyMs());
  if (was_failed) LOG(WARNING) << "master: metadata log repaired by a snapshot";
  return Status::OK();
}

void MetadataLog::syncLoop() {
  auto next_sync = std::chrono::steady_clock::now() + options_.sync_interval;
  std::unique_lock lock(sync_mutex_);
  while (!stopping_) {
    sync_cv_.wait_until(lock, next_sync, [this] { return stopping_ || spares_wanted_; });
    if (stopping_) break;
    spares_wanted_ = false;
    lock.unlock();
    prepareSpares();
    if (std::chrono::steady_clock::now() >= next_sync) {
      syncOnce();
      next_sync = std::chrono::steady_clock::now() + options_.sync_interval;
    }
    lock.lock();
  }
}

// Flushing a page that is mapped here makes the kernel write-protect it again, which costs a
// TLB shootdown (an interrupt to every CPU running this process) per page: under load that was
// a third of the master's time. So full chunks are unmapped first (one shootdown per chunk) and
// then flushed, and the chunk still being written is flushed only once it is a second old,
// i.e. when appends are slow enough that it has not filled up (and there are few dirty pages).
void MetadataLog::syncOnce() {
  const auto now = std::chrono::steady_clock::now();
  for (auto& stream : streams_) {
    std::shared_ptr<Chunk> current;
    std::vector<std::shared_ptr<Chunk>> retired;  // full: unmapped, flushed, closed
    {
      std::lock_guard lock(stream->mutex);
      current = stream->current;
      retired.swap(stream->retired);
    }
    for (const auto& chunk : retired) {
      chunk->unmap();
      (void)::fdatasync(chunk->fd);
    }
    if (current && now - current->created >= options_.sync_interval) {
      (void)::fdatasync(current->fd);
    }
  }
}

}  // namespace mooncake::store::durable
