#include "common/config/config_table.h"

#include <sstream>

#include "common/config/env.h"
#include "common/config/parse.h"

namespace mooncake::config {

ConfigEntry sizeEntry(std::string name, std::string doc, uint64_t* field, uint64_t min,
                      uint64_t max) {
  auto apply = [field, min, max](std::string_view text) -> Status {
    auto parsed = parseSize(text);
    if (!parsed.ok()) return parsed.status();
    if (*parsed < min || *parsed > max) {
      return Status::error(ErrorCode::ERR_INVALID_ARGUMENT,
                           "size " + formatSize(*parsed) + " out of range [" + formatSize(min) +
                               ", " + formatSize(max) + "]");
    }
    *field = *parsed;
    return Status::OK();
  };
  return {std::move(name), std::move(doc), apply, [field] { return std::to_string(*field); }};
}

ConfigEntry intEntry(std::string name, std::string doc, int64_t* field, int64_t min, int64_t max) {
  auto apply = [field, min, max](std::string_view text) -> Status {
    auto parsed = parseInt(text, min, max);
    if (!parsed.ok()) return parsed.status();
    *field = *parsed;
    return Status::OK();
  };
  return {std::move(name), std::move(doc), apply, [field] { return std::to_string(*field); }};
}

ConfigEntry boolEntry(std::string name, std::string doc, bool* field) {
  auto apply = [field](std::string_view text) -> Status {
    auto parsed = parseBool(text);
    if (!parsed.ok()) return parsed.status();
    *field = *parsed;
    return Status::OK();
  };
  return {std::move(name), std::move(doc), apply,
          [field] { return std::string(*field ? "true" : "false"); }};
}

ConfigEntry presenceEntry(std::string name, std::string doc, bool* field) {
  auto apply = [field](std::string_view) -> Status {
    *field = true;
    return Status::OK();
  };
  return {std::move(name), std::move(doc), apply,
          [field] { return std::string(*field ? "set" : "unset"); }};
}

ConfigEntry stringEntry(std::string name, std::string doc, std::string* field) {
  auto apply = [field](std::string_view text) -> Status {
    *field = std::string(text);
    return Status::OK();
  };
  return {std::move(name), std::move(doc), apply, [field] { return *field; }};
}

ConfigEntry secretEntry(std::string name, std::string doc) {
  auto apply = [](std::string_view) { return Status::OK(); };
  auto render = [name] { return std::string(readEnv(name) ? "<set>" : "<unset>"); };
  return {std::move(name), std::move(doc), apply, render};
}

Status applyEnvironment(const std::vector<ConfigEntry>& table) {
  for (const ConfigEntry& entry : table) {
    std::optional<std::string> value = readEnv(entry.name);
    if (!value) continue;
    Status status = entry.apply(*value);
    if (!status.ok()) {
      return Status::error(ErrorCode::ERR_INVALID_ARGUMENT,
                           entry.name + "='" + *value + "' is invalid: " + status.message() + " (" +
                               entry.doc + ")");
    }
  }
  return Status::OK();
}

std::string dumpConfig(const std::vector<ConfigEntry>& table) {
  std::ostringstream out;
  for (const ConfigEntry& entry : table) {
    out << entry.name << " = " << entry.render() << "  # " << entry.doc << "\n";
  }
  return out.str();
}

}  // namespace mooncake::config
