// The single place that reads process environment variables (MC_* and friends). Every other
// file asks through readEnv so that all configuration is visible in one table per component.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace mooncake::config {

// Value of the variable, or nullopt when it is unset. An empty value counts as set.
std::optional<std::string> readEnv(std::string_view name);

}  // namespace mooncake::config
