// RDMA checks read from sysfs (/sys/class/infiniband, /sys/class/net), so they need no
// libibverbs and run against a fake tree in tests (Inputs::sysfs_root): the devices asked for
// exist, their port (MC_IB_PORT) is ACTIVE, the GID at MC_GID_INDEX (or the one auto-probing
// would pick) is a usable RoCE v2 GID, and MC_MTU fits the port.
#include <dirent.h>

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "common/config/env.h"
#include "common/config/parse.h"
#include "doctor/doctor.h"
#include "doctor/inputs.h"

namespace mooncake::doctor {
namespace {

std::vector<std::string> listDir(const std::string& path) {
  std::vector<std::string> out;
  DIR* dir = ::opendir(path.c_str());
  if (dir == nullptr) return out;
  while (struct dirent* entry = ::readdir(dir)) {
    std::string name = entry->d_name;
    if (name != "." && name != "..") out.push_back(name);
  }
  ::closedir(dir);
  std::sort(out.begin(), out.end());
  return out;
}

std::string joined(const std::vector<std::string>& items) {
  std::string out;
  for (const std::string& item : items) out += (out.empty() ? "" : ", ") + item;
  return out.empty() ? "none" : out;
}

// Device names from --device_name ("a,b") and a priority matrix file
// ({"cpu:0": [["mlx5_0"], ["mlx5_1"]], ...}).
std::vector<std::string> wantedDevices(const Inputs& inputs, std::string* error) {
  std::vector<std::string> out;
  std::stringstream names(inputs.device_name);
  for (std::string name; std::getline(names, name, ',');) {
    if (!name.empty() && std::find(out.begin(), out.end(), name) == out.end()) out.push_back(name);
  }
  if (!inputs.nic_priority_matrix.empty()) {
    auto matrix = nlohmann::json::parse(readText(inputs.nic_priority_matrix), nullptr, false);
    if (!matrix.is_object()) {
      *error = "--nic_priority_matrix " + inputs.nic_priority_matrix +
               " is not a JSON object like {\"cpu:0\": [[\"mlx5_0\"], []]}";
      return out;
    }
    for (const auto& [location, lists] : matrix.items()) {
      if (!lists.is_array()) continue;
      for (const auto& list : lists) {
        if (!list.is_array()) continue;
        for (const auto& name : list) {
          if (name.is_string() &&
              std::find(out.begin(), out.end(), name.get<std::string>()) == out.end()) {
            out.push_back(name.get<std::string>());
          }
        }
      }
    }
  }
  return out;
}

bool allZero(const std::string& gid) { return gid.find_first_not_of("0:") == std::string::npos; }

// "0000:0000:0000:0000:0000:ffff:0a00:0002" -> "10.0.0.2", else "".
std::string ipv4Of(const std::string& gid) {
  const std::string prefix = "0000:0000:0000:0000:0000:ffff:";
  if (gid.rfind(prefix, 0) != 0 || gid.size() != prefix.size() + 9) return "";
  unsigned long a = std::strtoul(gid.substr(prefix.size(), 4).c_str(), nullptr, 16);
  unsigned long b = std::strtoul(gid.substr(prefix.size() + 5, 4).c_str(), nullptr, 16);
  return std::to_string(a >> 8) + "." + std::to_string(a & 255) + "." + std::to_string(b >> 8) +
         "." + std::to_string(b & 255);
}

// The largest IB MTU that fits a netdev MTU (RoCE headers take ~100 bytes).
int roceMtuFor(int netdev_mtu) {
  int best = 0;
  for (int mtu : {256, 512, 1024, 2048, 4096}) {
    if (mtu + 100 <= netdev_mtu) best = mtu;
  }
  return best;
}

void checkPort(const Inputs& inputs, const std::string& device, int port, int64_t gid_index,
               int64_t mtu, std::vector<Finding>* out) {
  const std::string base =
      inputs.sysfs_root + "/class/infiniband/" + device + "/ports/" + std::to_string(port);
  std::string state = readText(base + "/state");
  if (state.empty()) {
    out->push_back(
        {"rdma", Verdict::kFail,
         device + " has no port " + std::to_string(port) + " (MC_IB_PORT); ports: " +
             joined(listDir(inputs.sysfs_root + "/class/infiniband/" + device + "/ports"))});
    return;
  }
  if (state.find("ACTIVE") == std::string::npos) {
    out->push_back({"rdma", Verdict::kFail,
                    "Device " + device + " port " + std::to_string(port) +
                        " not active (state: " + state +
                        "): check its cable and switch port, or pick an active port with "
                        "MC_IB_PORT / another device"});
    return;
  }
  const bool roce = readText(base + "/link_layer") == "Ethernet";
  if (!roce) {
    out->push_back({"rdma", Verdict::kPass,
                    device + " port " + std::to_string(port) + " ACTIVE (InfiniBand)"});
    return;
  }
  // RoCE: usable GIDs are RoCE v2 with an IPv4-mapped address.
  std::vector<std::string> usable;
  std::string usable_first_ndev;
  for (const std::string& index : listDir(base + "/gids")) {
    std::string gid = readText(base + "/gids/" + index);
    if (allZero(gid) || ipv4Of(gid).empty()) continue;
    if (readText(base + "/gid_attrs/types/" + index) != "RoCE v2") continue;
    usable.push_back(index + " (" + ipv4Of(gid) + ")");
  }
  std::sort(usable.begin(), usable.end(), [](const std::string& a, const std::string& b) {
    return std::atoi(a.c_str()) < std::atoi(b.c_str());
  });
  std::string chosen_index;
  if (gid_index >= 0) {
    chosen_index = std::to_string(gid_index);
    std::string gid = readText(base + "/gids/" + chosen_index);
    if (gid.empty() || allZero(gid)) {
      out->push_back({"rdma", Verdict::kFail,
                      "GID index " + chosen_index + " (MC_GID_INDEX) of " + device + " port " +
                          std::to_string(port) +
                          " is empty (all-zero GID): connections would never reach RTR. "
                          "RoCE v2 IPv4 GIDs are at indexes: " +
                          joined(usable)});
      return;
    }
    if (readText(base + "/gid_attrs/types/" + chosen_index) != "RoCE v2" || ipv4Of(gid).empty()) {
      out->push_back({"rdma", Verdict::kWarn,
                      "GID index " + chosen_index + " (MC_GID_INDEX) of " + device +
                          " is not a RoCE v2 IPv4 GID (" + gid +
                          "); peers across subnets need one. Candidates: " + joined(usable)});
    }
  } else if (usable.empty()) {
    out->push_back({"rdma", Verdict::kWarn,
                    device + " port " + std::to_string(port) +
                        " has no RoCE v2 IPv4 GID: give its netdev an IPv4 address, or set "
                        "MC_GID_INDEX"});
    return;
  } else {
    chosen_index = usable.front().substr(0, usable.front().find(' '));
  }
  std::string ndev = readText(base + "/gid_attrs/ndevs/" + chosen_index);
  std::string netdev_mtu =
      ndev.empty() ? "" : readText(inputs.sysfs_root + "/class/net/" + ndev + "/mtu");
  if (!netdev_mtu.empty()) {
    int port_mtu = roceMtuFor(std::atoi(netdev_mtu.c_str()));
    if (mtu > port_mtu) {
      out->push_back(
          {"rdma", Verdict::kWarn,
           "MC_MTU " + std::to_string(mtu) + " is above what " + device + " can carry (" +
               std::to_string(port_mtu) + ": " + ndev + " MTU " + netdev_mtu +
               "); the path MTU becomes the smaller, and peers that chose "
               "differently fail to connect. Set MC_MTU=" +
               std::to_string(port_mtu) + " on every node, or raise " + ndev + "'s MTU"});
      return;
    }
  }
  out->push_back({"rdma", Verdict::kPass,
                  device + " port " + std::to_string(port) + " ACTIVE (RoCE), GID index " +
                      chosen_index + (gid_index < 0 ? " (auto)" : " (MC_GID_INDEX)") +
                      (ndev.empty() ? "" : " on " + ndev)});
}

int64_t envInt(const char* name, int64_t fallback, int64_t min, int64_t max) {
  auto text = config::readEnv(name);
  if (!text) return fallback;
  auto parsed = config::parseInt(*text, min, max);
  return parsed.ok() ? *parsed : fallback;
}

}  // namespace

std::vector<Finding> checkRdma(const Inputs& inputs) {
  std::vector<Finding> out;
  std::string error;
  std::vector<std::string> wanted = wantedDevices(inputs, &error);
  if (inputs.protocol != "rdma" && wanted.empty()) return out;
  if (!error.empty()) {
    out.push_back({"rdma", Verdict::kFail, error});
    return out;
  }
  std::vector<std::string> present = listDir(inputs.sysfs_root + "/class/infiniband");
  if (present.empty()) {
    out.push_back({"rdma", Verdict::kFail,
                   "no RDMA devices under " + inputs.sysfs_root +
                       "/class/infiniband: this host cannot use --protocol=rdma (load the "
                       "driver, or run tcp; MC_FORCE_TCP=1 makes rdma requests run over TCP)"});
    return out;
  }
  std::vector<std::string> missing;
  for (const std::string& name : wanted) {
    if (std::find(present.begin(), present.end(), name) == present.end()) missing.push_back(name);
  }
  if (!missing.empty()) {
    out.push_back({"rdma", Verdict::kFail,
                   "No matched device found: " + joined(missing) + " (present: " + joined(present) +
                       "); fix --device_name / the priority matrix"});
  }
  const int port = static_cast<int>(envInt("MC_IB_PORT", 1, 1, 255));
  int64_t gid_index = envInt("MC_GID_INDEX", envInt("NCCL_IB_GID_INDEX", -1, -1, 255), -1, 255);
  const int64_t mtu = envInt("MC_MTU", 4096, 256, 4096);
  for (const std::string& device : wanted.empty() ? present : wanted) {
    if (std::find(present.begin(), present.end(), device) == present.end()) continue;
    checkPort(inputs, device, port, gid_index, mtu, &out);
  }
  return out;
}

}  // namespace mooncake::doctor
