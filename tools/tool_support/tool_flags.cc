#include "tool_support/tool_flags.h"

#include <gflags/gflags.h>

#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "common/auth/secret.h"
#include "common/config/parse.h"
#include "mooncake/version.h"

DEFINE_string(auth_secret_file, "",
              "file holding the cluster secret every peer must prove (at least 16 bytes; "
              "same as MC_AUTH_SECRET_FILE; MC_AUTH_SECRET gives the value itself). Empty: the "
              "environment's, else no authentication");

namespace mooncake::tools {
namespace {

bool isArgument(const char* argument, std::initializer_list<const char*> names) {
  for (const char* name : names) {
    if (std::string(argument) == name) return true;
  }
  return false;
}

void printHelp(const char* tool, const char* usage) {
  std::printf("%s: %s\n\nUsage: %s [--flag=value ...]\n\nFlags:\n", tool, usage, tool);
  std::vector<gflags::CommandLineFlagInfo> flags;
  gflags::GetAllFlags(&flags);
  std::string compatible;
  for (const auto& flag : flags) {
    // Only the tool's own flags: those defined under tools/ (not glog's, not gflags').
    if (flag.filename.find("tools/") == std::string::npos) continue;
    // Upstream names accepted for compatibility: listed by name only, at the end.
    if (flag.filename.find("upstream_flags") != std::string::npos) {
      compatible += (compatible.empty() ? "" : ", ") + flag.name;
      continue;
    }
    std::string fallback =
        flag.type == "string" ? "\"" + flag.default_value + "\"" : flag.default_value;
    std::printf("  --%s (%s)\n      %s, default %s\n", flag.name.c_str(), flag.description.c_str(),
                flag.type.c_str(), fallback.c_str());
  }
  if (!compatible.empty()) {
    std::printf(
        "\nAccepted for compatibility with upstream (a tuning flag has no effect and warns; a "
        "feature this build lacks stops with a message):\n  %s\n",
        compatible.c_str());
  }
  std::printf(
      "\nAlso: --flagfile=FILE, --v=N (verbose logs), --helpfull (every flag, logging "
      "included), --version.\n");
}

}  // namespace

void parseToolFlags(const char* tool, const char* usage, int* argc, char*** argv) {
  for (int i = 1; i < *argc; ++i) {
    const char* argument = (*argv)[i];
    if (isArgument(argument, {"--help", "-help", "-h", "--h"})) {
      printHelp(tool, usage);
      std::exit(0);
    }
    if (isArgument(argument, {"--version", "-version"})) {
      std::printf("%s (mooncake-cpp) %s\n", tool, MOONCAKE_VERSION_STRING);
      std::exit(0);
    }
  }
  gflags::SetUsageMessage(usage);
  gflags::SetVersionString(MOONCAKE_VERSION_STRING);
  gflags::ParseCommandLineFlags(argc, argv, true);
  if (!FLAGS_auth_secret_file.empty())
    ::setenv("MC_AUTH_SECRET_FILE", FLAGS_auth_secret_file.c_str(), 1);
  auto secret = auth::processSecret();
  if (!secret.ok()) {
    std::fprintf(stderr, "%s: %s\n", tool, secret.status().message().c_str());
    std::exit(2);
  }
}

bool authenticationOn() {
  auto secret = auth::processSecret();
  return secret.ok() && *secret != nullptr;
}

bool isLoopbackAddress(const std::string& host) {
  return host == "localhost" || host == "::1" || host.rfind("127.", 0) == 0;
}

void warnUnauthenticated(const char* tool, const std::vector<std::string>& listeners) {
  if (listeners.empty() || authenticationOn()) return;
  std::string list;
  for (const std::string& listener : listeners) list += (list.empty() ? "" : ", ") + listener;
  std::fprintf(stderr,
               "%s: WARNING: reachable beyond loopback without authentication: %s. Anyone who "
               "reaches them can read, change or remove data; set a cluster secret "
               "(--auth_secret_file or MC_AUTH_SECRET), bind them to a trusted address or "
               "firewall them\n",
               tool, list.c_str());
}

uint64_t sizeFlagOrExit(const char* tool, const char* flag, const std::string& text) {
  auto size = config::parseSize(text);
  if (!size.ok()) {
    std::fprintf(stderr, "%s: --%s: %s\n", tool, flag, size.status().message().c_str());
    std::exit(2);
  }
  return *size;
}

}  // namespace mooncake::tools
