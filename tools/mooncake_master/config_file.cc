#include "mooncake_master/config_file.h"

#include <gflags/gflags.h>

#include <cstdio>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

namespace mooncake::tools {
namespace {

using nlohmann::json;

// Upstream's file keys that are not spelled like their flag.
std::string flagNameOf(const std::string& key) {
  if (key == "client_live_ttl_sec") return "client_ttl";
  return key;
}

void flatten(const json& node, const std::string& prefix,
             std::vector<std::pair<std::string, json>>& out) {
  for (auto it = node.begin(); it != node.end(); ++it) {
    std::string key = prefix.empty() ? it.key() : prefix + "." + it.key();
    if (it->is_object()) {
      flatten(*it, key, out);
    } else {
      out.emplace_back(key, *it);
    }
  }
}

std::string textOf(const json& value) {
  if (value.is_string()) return value.get<std::string>();
  if (value.is_boolean()) return value.get<bool>() ? "true" : "false";
  return value.dump();
}

bool endsWith(const std::string& text, const std::string& suffix) {
  return text.size() >= suffix.size() &&
         text.compare(text.size() - suffix.size(), suffix.size(), suffix) == 0;
}

}  // namespace

std::string applyMasterConfigFile(const std::string& path) {
  if (endsWith(path, ".yaml") || endsWith(path, ".yml")) {
    return "--config_path=" + path + ": YAML config files are not supported in this build; " +
           "write the same keys as JSON (a .json file)";
  }
  std::ifstream in(path);
  if (!in) return "--config_path=" + path + ": cannot read the file";
  std::stringstream text;
  text << in.rdbuf();
  json root = json::parse(text.str(), nullptr, /*allow_exceptions=*/false);
  if (!root.is_object()) return "--config_path=" + path + ": not a JSON object";
  std::vector<std::pair<std::string, json>> entries;
  flatten(root, "", entries);
  for (const auto& [key, value] : entries) {
    const std::string flag = flagNameOf(key);
    gflags::CommandLineFlagInfo info;
    if (!gflags::GetCommandLineFlagInfo(flag.c_str(), &info) ||
        info.filename.find("tools/") == std::string::npos) {
      std::fprintf(stderr, "mooncake_master: WARNING: %s: unknown key '%s' skipped\n", path.c_str(),
                   key.c_str());
      continue;
    }
    if (!info.is_default) continue;  // given on the command line: that wins
    if (value.is_array() || value.is_null()) {
      return "--config_path=" + path + ": key '" + key + "' must be a string, number or boolean";
    }
    if (gflags::SetCommandLineOption(flag.c_str(), textOf(value).c_str()).empty()) {
      return "--config_path=" + path + ": key '" + key + "': '" + textOf(value) +
             "' is not a valid " + info.type;
    }
  }
  return "";
}

}  // namespace mooncake::tools
