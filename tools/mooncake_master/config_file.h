// --config_path: upstream's master config file. Keys are flag names (nested objects flattened
// with '.'; "client_live_ttl_sec" is --client_ttl), values JSON scalars. A flag given on the
// command line wins over the file. JSON only in this build (a .yaml file is refused by name).
#pragma once

#include <string>

namespace mooncake::tools {

// Empty on success, else what is wrong (the file, a key and its value). Unknown keys are
// reported on stderr and skipped.
std::string applyMasterConfigFile(const std::string& path);

}  // namespace mooncake::tools
