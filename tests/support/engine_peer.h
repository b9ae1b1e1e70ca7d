// Starts te_test_peer (a Transfer Engine target in its own process) and parses its READY line.
#pragma once

#include <memory>
#include <string>

#include "support/process.h"

namespace mooncake::testing {

struct EnginePeer {
  std::unique_ptr<ChildProcess> process;
  std::string segment_name;
  uint64_t buffer_addr = 0;
  uint64_t buffer_length = 0;
  std::string error;  // set when the peer did not come up

  // "GUARD OK" when no byte landed outside the peer's registered buffer.
  std::string checkGuard();
  // Unregisters the peer's buffer (its memory stays mapped); "UNREGISTERED" when done.
  std::string unregisterBuffer();
};

// The byte the peer holds at `offset` of its registered buffer before anyone writes.
unsigned char peerPatternByte(uint64_t offset);

// `launcher`: a command the peer runs under (e.g. {"/usr/sbin/ip", "netns", "exec", "ns"});
// `host`: the address it advertises.
EnginePeer startEnginePeer(const std::string& metadata_server, const std::string& name,
                           uint64_t buffer_bytes, const std::vector<std::string>& env = {},
                           const std::vector<std::string>& launcher = {},
                           const std::string& host = "127.0.0.1");

}  // namespace mooncake::testing
