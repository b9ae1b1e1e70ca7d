// The disk tier check (docs/STORE.md "Disk tier"): the directory a client would keep offloaded
// objects in can be written with O_DIRECT, has the room its limit promises, and whether a client
// already uses it; and the master takes disk tiers at all (--enable_offload).
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>

#include "common/config/env.h"
#include "common/config/parse.h"
#include "common/net/unique_fd.h"
#include "doctor/doctor.h"
#include "store/client/master_client.h"

namespace mooncake::doctor {
namespace {

std::string mib(uint64_t bytes) { return std::to_string(bytes >> 20) + " MiB"; }

// The closest existing ancestor (the directory setup would create the path in).
std::string existingAncestor(std::string path) {
  struct stat st {};
  while (!path.empty() && ::stat(path.c_str(), &st) != 0) {
    auto slash = path.rfind('/');
    path = slash == 0 ? "/" : slash == std::string::npos ? "" : path.substr(0, slash);
  }
  return path;
}

// Writes, syncs and reads back one 4 KiB block with O_DIRECT in `dir`.
Finding probeWrites(const std::string& dir) {
  const std::string probe = dir + "/.mooncake-doctor-probe";
  bool direct = true;
  net::UniqueFd fd(::open(probe.c_str(), O_RDWR | O_CREAT | O_TRUNC | O_DIRECT | O_CLOEXEC, 0600));
  if (!fd.valid() && errno == EINVAL) {
    direct = false;
    fd.reset(::open(probe.c_str(), O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600));
  }
  if (!fd.valid()) {
    return Finding::fail("disk_tier", "cannot create a file in " + dir + ": " +
                                          std::strerror(errno) +
                                          ". Give the client a directory it can write "
                                          "(ssd_offload_path / --offload_path)");
  }
  void* block = nullptr;
  if (::posix_memalign(&block, 4096, 4096) != 0) return Finding::fail("disk_tier", "out of memory");
  std::memset(block, 0x5a, 4096);
  bool ok = ::pwrite(fd.get(), block, 4096, 0) == 4096 && ::fdatasync(fd.get()) == 0;
  std::memset(block, 0, 4096);
  ok = ok && ::pread(fd.get(), block, 4096, 0) == 4096 &&
       static_cast<unsigned char*>(block)[4095] == 0x5a;
  const int error = errno;
  std::free(block);
  ::unlink(probe.c_str());
  if (!ok) {
    return Finding::fail("disk_tier", "writing and reading back a block in " + dir +
                                          " failed: " + std::strerror(error) +
                                          " (a full or failing file system?)");
  }
  if (!direct) {
    return Finding::warn("disk_tier", dir +
                                          " does not take O_DIRECT (tmpfs or a network file "
                                          "system?): the tier works through the page cache, "
                                          "which competes with the memory pool. Use a local "
                                          "disk's file system (ext4, xfs)");
  }
  return Finding::pass("disk_tier", dir + " is writable with O_DIRECT");
}

}  // namespace

std::vector<Finding> checkDiskTier(const Inputs& inputs) {
  std::vector<Finding> out;
  std::string path = inputs.offload_path;
  if (path.empty()) path = config::readEnv("MOONCAKE_OFFLOAD_FILE_STORAGE_PATH").value_or("");
  if (path.empty()) return out;

  struct stat st {};
  std::string dir = path;
  if (::stat(path.c_str(), &st) != 0) {
    dir = existingAncestor(path);
    struct stat parent {};
    if (dir.empty() || ::stat(dir.c_str(), &parent) != 0 || !S_ISDIR(parent.st_mode)) {
      out.push_back(Finding::fail(
          "disk_tier", path + " cannot be created: " + (dir.empty() ? path : dir) +
                           " is not a directory. Point ssd_offload_path at a directory"));
      return out;
    }
    out.push_back(Finding::pass("disk_tier_dir",
                                path + " does not exist yet; setup creates it (in " + dir + ")"));
  } else if (!S_ISDIR(st.st_mode)) {
    out.push_back(
        Finding::fail("disk_tier", path + " is not a directory. Point ssd_offload_path at one"));
    return out;
  } else {
    // A running client holds the directory's lock: fine if it is this node's client.
    net::UniqueFd lock(::open((path + "/LOCK").c_str(), O_RDONLY | O_CLOEXEC));
    if (lock.valid() && ::flock(lock.get(), LOCK_EX | LOCK_NB) != 0) {
      out.push_back(Finding::pass("disk_tier_dir",
                                  path + " is in use by a running client (a second client on it "
                                         "would fail with FILE_LOCK_FAIL; give each its own)"));
    }
  }
  out.push_back(probeWrites(dir));

  struct statvfs fs {};
  if (::statvfs(dir.c_str(), &fs) == 0) {
    const uint64_t free_bytes = static_cast<uint64_t>(fs.f_bavail) * fs.f_frsize;
    auto limit_text = config::readEnv("MOONCAKE_OFFLOAD_TOTAL_SIZE_LIMIT_BYTES");
    auto limit = limit_text ? config::parseSize(*limit_text) : Result<uint64_t>(uint64_t{0});
    if (!limit.ok()) {
      out.push_back(Finding::fail("disk_space", "MOONCAKE_OFFLOAD_TOTAL_SIZE_LIMIT_BYTES=" +
                                                    *limit_text + ": " + limit.status().message()));
    } else if (*limit == 0) {
      out.push_back(Finding::pass("disk_space", mib(free_bytes) + " free; the tier may use 90% "
                                                                  "of it (set "
                                                                  "MOONCAKE_OFFLOAD_TOTAL_SIZE_"
                                                                  "LIMIT_BYTES to choose)"));
    } else if (*limit > free_bytes) {
      out.push_back(Finding::warn(
          "disk_space", "MOONCAKE_OFFLOAD_TOTAL_SIZE_LIMIT_BYTES is " + mib(*limit) + " but " +
                            dir + " has " + mib(free_bytes) +
                            " free: the file system fills first (offloading pauses, or the "
                            "oldest objects go). Lower the limit or free space"));
    } else {
      out.push_back(
          Finding::pass("disk_space", mib(free_bytes) + " free for a limit of " + mib(*limit)));
    }
  }

  // Whether the master takes disk tiers: a mount with no endpoints is refused either way,
  // NOT_SUPPORTED naming --enable_offload, INVALID_PARAMS otherwise (nothing is registered).
  if (!inputs.master_server_address.empty()) {
    auto secret = auth::processSecret();
    store::MasterClient master(inputs.master_server_address, std::chrono::seconds(3),
                               secret.ok() ? *secret : nullptr);
    auto mounted = master.mountDiskTier("mooncake-doctor", {});
    if (!mounted.ok() && mounted.status().is(StoreErrorCode::NOT_SUPPORTED)) {
      out.push_back(Finding::fail("disk_master", "the master at " + inputs.master_server_address +
                                                     " runs without --enable_offload: clients "
                                                     "with a disk tier fail setup "
                                                     "(NOT_SUPPORTED). Start it with "
                                                     "--enable_offload"));
    } else if (!mounted.ok() && !mounted.status().is(StoreErrorCode::INVALID_PARAMS)) {
      out.push_back(Finding::warn(
          "disk_master", "cannot ask the master about disk tiers: " + mounted.status().message()));
    } else {
      out.push_back(Finding::pass("disk_master", "the master takes disk tiers (--enable_offload)"));
    }
  }
  return out;
}

}  // namespace mooncake::doctor
