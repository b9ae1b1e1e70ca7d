#include "mooncake/transfer_engine/protocol.h"

#include <algorithm>
#include <array>
#include <cctype>
#include <mutex>
#include <set>
#include <string_view>

#include "common/logging.h"

namespace mooncake {
namespace {

// Protocol names upstream Mooncake accepts, none of which this build implements.
constexpr std::array<std::string_view, 14> kUpstreamOnly = {
    "rdma", "efa",    "nvmeof", "nvlink",  "nvlink_intra", "hip",          "barex",
    "cxl",  "ascend", "ub",     "ubshmem", "maca",         "sunrise_link", "rpc_only"};

std::string normalized(const std::string& text) {
  size_t begin = text.find_first_not_of(" \t\n\r");
  size_t end = text.find_last_not_of(" \t\n\r");
  std::string out = begin == std::string::npos ? "" : text.substr(begin, end - begin + 1);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

void noteForcedOnce(const std::string& protocol) {
  static std::mutex mutex;
  static std::set<std::string> noted;
  std::lock_guard lock(mutex);
  if (noted.insert(protocol).second) {
    LOG(INFO) << "transfer_engine: protocol '" << protocol
              << "' runs over TCP (MC_FORCE_TCP is set)";
  }
}

}  // namespace

Result<std::string> resolveProtocol(const std::string& requested,
                                    const TransferEngineOptions& options) {
  const std::string protocol = normalized(requested);
  if (protocol == "tcp") return protocol;
  if (options.force_tcp) {
    noteForcedOnce(protocol.empty() ? "(empty)" : protocol);
    return std::string("tcp");
  }
  const bool upstream_knows =
      std::find(kUpstreamOnly.begin(), kUpstreamOnly.end(), protocol) != kUpstreamOnly.end();
  const std::string fix =
      "; this build supports \"tcp\" (with same-host direct copies). Set MC_FORCE_TCP=1 to run "
      "any requested protocol over TCP, or set the protocol to \"tcp\" where your serving "
      "engine configures Mooncake (vLLM: mooncake_protocol / \"protocol\" in "
      "MOONCAKE_CONFIG_PATH; SGLang: MOONCAKE_PROTOCOL)";
  if (upstream_knows) {
    return Status::error(ErrorCode::ERR_NOT_IMPLEMENTED,
                         "protocol '" + protocol + "' is not available in this build" + fix);
  }
  return Status::error(ErrorCode::ERR_INVALID_ARGUMENT,
                       "unknown protocol '" + requested + "'" + fix);
}

}  // namespace mooncake
