#include "support/engine_peer.h"

#include <unistd.h>

#include <sstream>

namespace mooncake::testing {

unsigned char peerPatternByte(uint64_t offset) {
  return static_cast<unsigned char>((offset + 64 * 1024) * 131 + 7);
}

std::string EnginePeer::checkGuard() {
  const char line[] = "guard\n";
  if (::write(process->stdinFd(), line, sizeof(line) - 1) < 0) return "write failed";
  return process->readLine(std::chrono::seconds(10));
}

std::string EnginePeer::unregisterBuffer() {
  const char line[] = "unregister\n";
  if (::write(process->stdinFd(), line, sizeof(line) - 1) < 0) return "write failed";
  return process->readLine(std::chrono::seconds(10));
}

EnginePeer startEnginePeer(const std::string& metadata_server, const std::string& name,
                           uint64_t buffer_bytes, const std::vector<std::string>& env,
                           const std::vector<std::string>& launcher, const std::string& host) {
  EnginePeer peer;
  std::vector<std::string> args{metadata_server, name, host, std::to_string(buffer_bytes)};
  std::string program = builtBinary("tests/te_test_peer");
  if (!launcher.empty()) {
    args.insert(args.begin(), program);
    args.insert(args.begin(), launcher.begin() + 1, launcher.end());
    program = launcher.front();
  }
  peer.process = std::make_unique<ChildProcess>(program, args, env);
  std::string line = peer.process->readLine(std::chrono::seconds(30));
  std::istringstream in(line);
  std::string word;
  in >> word;
  if (word != "READY") {
    peer.error = "peer did not start: '" + line + "'";
    return peer;
  }
  in >> peer.segment_name >> peer.buffer_addr >> peer.buffer_length;
  return peer;
}

}  // namespace mooncake::testing
