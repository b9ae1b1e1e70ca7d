// The cheap checks a node can make of its own configuration before anything starts
// (docs/TROUBLESHOOTING.md): the address peers will be told to connect to, proxy variables that
// would capture metadata requests, descriptor and locked-memory limits, transparent huge pages.
// The Transfer Engine runs them at init and logs what is not right; mooncake_doctor prints them
// among its other checks. Each message, with its fix, is defined here only.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace mooncake::te {

enum class Verdict { kPass, kWarn, kFail };

struct Finding {
  std::string check;  // "address", "proxy", "limits", ...
  Verdict verdict = Verdict::kPass;
  std::string message;  // what was found; for WARN/FAIL also the fix

  static Finding pass(std::string check, std::string message) {
    return {std::move(check), Verdict::kPass, std::move(message)};
  }
  static Finding warn(std::string check, std::string message) {
    return {std::move(check), Verdict::kWarn, std::move(message)};
  }
  static Finding fail(std::string check, std::string message) {
    return {std::move(check), Verdict::kFail, std::move(message)};
  }
};

// What a node is configured with (the engine's init arguments, a store client's options).
struct NodeConfig {
  std::string metadata_server = "P2PHANDSHAKE";
  std::string local_server_name;      // host[:port]; empty: this host's name
  std::string master_server_address;  // empty: none
  std::string protocol = "tcp";
  uint64_t segment_bytes = 0;  // memory this node will register (for the limits check)
  std::string sysfs_root = "/sys";
};

struct AdvertisedAddress {
  std::string host;
  std::string origin;  // "MC_TCP_BIND_ADDRESS", "local_server_name", ...
};

// The engine's rule (advertised_host.h) applied to a configuration.
AdvertisedAddress advertisedAddress(const NodeConfig& config);
// The host of the metadata service ("" for P2PHANDSHAKE, the first etcd/redis endpoint).
std::string metadataHost(const NodeConfig& config);
// "the metadata service at H" / "the master at H" for those not on loopback.
std::vector<std::string> remoteServices(const NodeConfig& config);
// A small file's text without trailing blanks ("" when it cannot be read): sysfs, proc.
std::string readText(const std::string& path);

// The advertised address resolves, belongs to this host, and is not loopback while the
// metadata service or the master is elsewhere.
Finding checkAdvertisedAddress(const NodeConfig& config);
// Proxy variables, open-file and locked-memory limits, transparent huge pages.
std::vector<Finding> checkLocalEnvironment(const NodeConfig& config);
// Both, as the engine runs them at init.
std::vector<Finding> startupChecks(const NodeConfig& config);

}  // namespace mooncake::te
