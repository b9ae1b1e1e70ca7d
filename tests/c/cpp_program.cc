// A C++ program built outside the tree against an installed Mooncake (install_tree_test): the
// Transfer Engine's C++ API moves 4 MiB between two engines in this process (WRITE, then READ
// back, compared), and with MASTER_ADDR METADATA_URL arguments a store::Client puts an object
// and gets it back. Uses only what `cmake --install` ships (include/mooncake/, the libraries).
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "mooncake/store/client.h"
#include "mooncake/transfer_engine/transfer_engine.h"
#include "mooncake/version.h"

namespace {

int failures = 0;

void check(bool ok, const char* what) {
  if (!ok) {
    std::fprintf(stderr, "cpp_program: check failed: %s\n", what);
    ++failures;
  }
}

#define CHECK(cond) check((cond), #cond)

bool transfer(mooncake::TransferEngine& engine, mooncake::TransferRequest request) {
  auto batch = engine.allocateBatchID(1);
  if (!batch.ok()) return false;
  if (!engine.submitTransfer(*batch, {request}).ok()) return false;
  mooncake::TransferStatus status;
  engine.waitBatchTransferStatus(*batch, status, std::chrono::seconds(30));
  engine.freeBatchID(*batch);
  return status.s == mooncake::COMPLETED;
}

void engineTransfer() {
  const size_t size = 4u << 20;
  std::vector<unsigned char> target_memory(size), source(size), landing(size);
  for (size_t i = 0; i < size; ++i) source[i] = static_cast<unsigned char>(i * 2654435761u >> 24);
  mooncake::TransferEngine target, initiator;
  CHECK(target.init("P2PHANDSHAKE", "127.0.0.1").ok());
  CHECK(initiator.init("P2PHANDSHAKE", "127.0.0.1").ok());
  CHECK(target.registerLocalMemory(target_memory.data(), size).ok());
  CHECK(initiator.registerLocalMemory(source.data(), size).ok());
  CHECK(initiator.registerLocalMemory(landing.data(), size).ok());
  auto segment = initiator.openSegment(target.getLocalSegmentName());
  CHECK(segment.ok());
  if (!segment.ok()) return;
  const auto remote = reinterpret_cast<uint64_t>(target_memory.data());
  CHECK(transfer(initiator,
                 {mooncake::TransferRequest::WRITE, source.data(), *segment, remote, size}));
  CHECK(transfer(initiator,
                 {mooncake::TransferRequest::READ, landing.data(), *segment, remote, size}));
  CHECK(std::memcmp(landing.data(), source.data(), size) == 0);
  CHECK(std::memcmp(target_memory.data(), source.data(), size) == 0);
  // A range the target never registered is refused, not read.
  CHECK(!transfer(
      initiator, {mooncake::TransferRequest::READ, landing.data(), *segment, remote + size, 4096}));
  std::printf("cpp_program: engine WRITE/READ of %zu bytes through the C++ API\n", size);
}

void storePutGet(const std::string& master, const std::string& metadata) {
  mooncake::store::ClientOptions options;
  options.local_hostname = "127.0.0.1";
  options.metadata_server = metadata;
  options.master_server_address = master;
  auto client = mooncake::store::Client::create(options);
  CHECK(client.ok());
  if (!client.ok()) {
    std::fprintf(stderr, "cpp_program: %s\n", client.status().toString().c_str());
    return;
  }
  const std::string key = "cpp-program-" + std::to_string(::getpid());
  const std::string value(1u << 20, 'm');
  CHECK((*client)->put(key, value.data(), value.size()).ok());
  auto read = (*client)->get(key);
  CHECK(read.ok() && *read == value);
  auto missing = (*client)->get(key + "-absent");
  CHECK(!missing.ok() && missing.status().value() == -704);
  std::printf("cpp_program: store put/get of %zu bytes through store::Client\n", value.size());
}

}  // namespace

int main(int argc, char** argv) {
  std::printf("cpp_program: Mooncake %s\n", MOONCAKE_VERSION_STRING);
  engineTransfer();
  if (argc == 3) storePutGet(argv[1], argv[2]);
  if (failures == 0) std::printf("cpp_program: all checks passed\n");
  return failures == 0 ? 0 : 1;
}
