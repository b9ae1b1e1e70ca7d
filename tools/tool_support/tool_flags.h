// Flag handling shared by the command-line tools: --help lists the tool's own flags (gflags'
// own --help would add ~90 glog/gflags flags; --helpfull still shows everything) and --version
// prints the version. Everything else is gflags as usual.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace mooncake::tools {

// Handles --help/-h and --version (printing, then exiting 0), else parses the flags (removing
// them from argv). `usage` is the one-paragraph description --help starts with. Every tool
// takes --auth_secret_file (exported as MC_AUTH_SECRET_FILE for the components it starts); a
// secret that cannot be used (unreadable, too short) stops the tool with exit code 2.
void parseToolFlags(const char* tool, const char* usage, int* argc, char*** argv);

// Bytes from a size flag as upstream writes them ("4 GB", "512MB", "1GiB", "4096"); prints
// "<tool>: --<flag>: <why>" and exits 2 when the text is not a size.
uint64_t sizeFlagOrExit(const char* tool, const char* flag, const std::string& text);

// True for 127.0.0.0/8, ::1 and "localhost": an address only this machine reaches.
bool isLoopbackAddress(const std::string& host);

// True when this process has a cluster secret (--auth_secret_file, MC_AUTH_SECRET_FILE or
// MC_AUTH_SECRET).
bool authenticationOn();

// One stderr line naming the listeners (e.g. "gRPC 0.0.0.0:50051") that other machines can reach
// although nothing authenticates them; nothing when the list is empty or authentication is on.
void warnUnauthenticated(const char* tool, const std::vector<std::string>& listeners);

}  // namespace mooncake::tools
