// What the checks derive from a node's inputs: the address it would advertise, the hosts of
// the services it talks to (the engine's definitions, shared).
#pragma once

#include <string>
#include <vector>

#include "doctor/doctor.h"

namespace mooncake::doctor {

// The engine's (transfer_engine/engine/startup_checks.h).
using te::AdvertisedAddress;
using te::advertisedAddress;
using te::metadataHost;
using te::readText;
using te::remoteServices;

}  // namespace mooncake::doctor
