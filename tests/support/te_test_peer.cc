// A Transfer Engine target in its own process for integration tests.
//   te_test_peer <metadata_server> <local_server_name> <ip_or_host_name> <buffer_bytes>
// Maps buffer_bytes plus a 64 KiB guard zone on each side, fills everything with a known
// pattern, registers only the middle, and prints
//   READY <segment_name> <buffer_addr> <buffer_bytes>
// Then serves until stdin closes. Each "guard" line on stdin answers "GUARD OK" when both guard
// zones still hold the pattern (no byte landed outside the registered buffer), else "GUARD BAD".
// An "unregister" line unregisters the buffer (memory stays mapped) and answers "UNREGISTERED".
#include <sys/mman.h>

#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <string>

#include "mooncake/transfer_engine/transfer_engine.h"

namespace {
constexpr size_t kGuard = 64 * 1024;
unsigned char patternByte(size_t offset) { return static_cast<unsigned char>(offset * 131 + 7); }
}  // namespace

int main(int argc, char** argv) {
  if (argc != 5) {
    std::fprintf(stderr, "usage: te_test_peer <metadata> <name> <ip> <bytes>\n");
    return 2;
  }
  size_t length = std::strtoull(argv[4], nullptr, 10);
  size_t total = length + 2 * kGuard;
  auto* base = static_cast<unsigned char*>(
      ::mmap(nullptr, total, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0));
  if (base == MAP_FAILED) return 3;
  for (size_t i = 0; i < total; ++i) base[i] = patternByte(i);
  mooncake::TransferEngine engine;
  mooncake::Status status = engine.init(argv[1], argv[2], argv[3]);
  if (!status.ok()) {
    std::printf("ERROR %s\n", status.toString().c_str());
    return 1;
  }
  status = engine.registerLocalMemory(base + kGuard, length, "cpu:0");
  if (!status.ok()) {
    std::printf("ERROR %s\n", status.toString().c_str());
    return 1;
  }
  std::printf("READY %s %llu %zu\n", engine.getLocalSegmentName().c_str(),
              static_cast<unsigned long long>(reinterpret_cast<uintptr_t>(base + kGuard)), length);
  std::fflush(stdout);
  std::string line;
  while (std::getline(std::cin, line)) {
    if (line == "guard") {
      bool intact = true;
      for (size_t i = 0; i < kGuard && intact; ++i) {
        intact = base[i] == patternByte(i) &&
                 base[kGuard + length + i] == patternByte(kGuard + length + i);
      }
      std::printf(intact ? "GUARD OK\n" : "GUARD BAD\n");
      std::fflush(stdout);
    } else if (line == "unregister") {
      status = engine.unregisterLocalMemory(base + kGuard);
      std::printf(status.ok() ? "UNREGISTERED\n" : "ERROR %s\n", status.toString().c_str());
      std::fflush(stdout);
    }
  }
  (void)engine.freeEngine();
  return 0;
}
