// A table of configuration entries (name, documentation, parser bound to a field), filled from
// the environment in one pass. Each component declares one table for its options struct, so
// every MC_* variable it honours is listed, documented and validated in one place.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "mooncake/common/status.h"

namespace mooncake::config {

struct ConfigEntry {
  std::string name;  // environment variable, e.g. "MC_SLICE_SIZE"
  std::string doc;   // meaning, unit and accepted range
  // Parses the raw text and stores it in the bound field; errors name the accepted range.
  std::function<Status(std::string_view)> apply;
  // Renders the bound field's current value for --dump_config and startup logs.
  std::function<std::string()> render;
};

// Builders binding an entry to a field. The field keeps its in-class default when unset.
ConfigEntry sizeEntry(std::string name, std::string doc, uint64_t* field, uint64_t min,
                      uint64_t max);
ConfigEntry intEntry(std::string name, std::string doc, int64_t* field, int64_t min, int64_t max);
ConfigEntry boolEntry(std::string name, std::string doc, bool* field);
// True when the variable is set at all, whatever its value (upstream's MC_FORCE_TCP rule).
ConfigEntry presenceEntry(std::string name, std::string doc, bool* field);
ConfigEntry stringEntry(std::string name, std::string doc, std::string* field);
// A variable read elsewhere when a component starts (the auth secret): listed for the
// documentation and the dump, which shows only whether it is set.
ConfigEntry secretEntry(std::string name, std::string doc);

// Reads every entry's variable and applies the set ones. The first bad value fails the whole
// load with ERR_INVALID_ARGUMENT naming the variable, its value and the accepted range.
Status applyEnvironment(const std::vector<ConfigEntry>& table);

// "NAME = value  # doc" lines, one per entry.
std::string dumpConfig(const std::vector<ConfigEntry>& table);

}  // namespace mooncake::config
