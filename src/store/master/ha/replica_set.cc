#include "store/master/ha/replica_set.h"

#include <algorithm>
#include <charconv>

namespace mooncake::store {
namespace {

std::optional<int64_t> parseInt(std::string_view text) {
  int64_t value = 0;
  auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (error != std::errc() || end != text.data() + text.size() || value < 0) return std::nullopt;
  return value;
}

}  // namespace

bool ReplicaSet::holds(const std::string& address) const {
  return leader == address ||
         std::find(standbys.begin(), standbys.end(), address) != standbys.end();
}

std::string ReplicaSet::encode() const {
  std::string out = "term " + std::to_string(term) + "\nleader " + leader + "\n";
  for (const auto& standby : standbys) out += "standby " + standby + "\n";
  return out;
}

std::optional<ReplicaSet> ReplicaSet::decode(std::string_view text) {
  ReplicaSet set;
  bool has_term = false;
  while (!text.empty()) {
    size_t end = text.find('\n');
    std::string_view line = text.substr(0, end);
    text = end == std::string_view::npos ? std::string_view() : text.substr(end + 1);
    if (line.empty()) continue;
    size_t space = line.find(' ');
    if (space == std::string_view::npos) return std::nullopt;
    std::string_view field = line.substr(0, space);
    std::string_view value = line.substr(space + 1);
    if (field == "term") {
      auto term = parseInt(value);
      if (!term) return std::nullopt;
      set.term = *term;
      has_term = true;
    } else if (field == "leader") {
      set.leader = std::string(value);
    } else if (field == "standby") {
      set.standbys.emplace_back(value);
    }  // unknown fields: a newer master's; ignored
  }
  if (!has_term || set.leader.empty()) return std::nullopt;
  return set;
}

std::string replicaSetKey(const std::string& cluster_id) {
  return "mooncake-store/" + cluster_id + "/master_replicas";
}

std::string replicationKey(const std::string& cluster_id) {
  return "mooncake-store/" + cluster_id + "/master_replication";
}

std::string ReplicationEndpoint::encode() const { return address + " " + std::to_string(term); }

std::optional<ReplicationEndpoint> ReplicationEndpoint::decode(std::string_view text) {
  size_t space = text.rfind(' ');
  if (space == std::string_view::npos || space == 0) return std::nullopt;
  auto term = parseInt(text.substr(space + 1));
  if (!term) return std::nullopt;
  return ReplicationEndpoint{std::string(text.substr(0, space)), *term};
}

}  // namespace mooncake::store
