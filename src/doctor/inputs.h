// What the checks derive from a node's inputs: the address it would advertise, the hosts of
// the services it talks to.
#pragma once

#include <string>
#include <vector>

#include "doctor/doctor.h"

namespace mooncake::doctor {

struct AdvertisedAddress {
  std::string host;
  std::string origin;  // "MC_TCP_BIND_ADDRESS", "local_server_name", ...
};

// The engine's own rule (transfer_engine/engine/advertised_host.h) applied to the inputs.
AdvertisedAddress advertisedAddress(const Inputs& inputs);

// The host of the metadata service ("" for P2PHANDSHAKE, the first etcd/redis endpoint).
std::string metadataHost(const Inputs& inputs);

// "the metadata service at H" / "the master at H" for those not on loopback.
std::vector<std::string> remoteServices(const Inputs& inputs);

// A small file's text without trailing blanks ("" when it cannot be read): sysfs, proc.
std::string readText(const std::string& path);

}  // namespace mooncake::doctor
