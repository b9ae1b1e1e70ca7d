// The checks that look only at this host: the engine's startup checks (address, proxy,
// limits, huge pages) and the cluster secret.
#include <sys/resource.h>

#include "common/auth/secret.h"
#include "common/config/env.h"
#include "common/net/socket.h"
#include "doctor/doctor.h"
#include "doctor/inputs.h"

namespace mooncake::doctor {
namespace {

constexpr auto pass = &Finding::pass;
constexpr auto warn = &Finding::warn;
constexpr auto fail = &Finding::fail;

}  // namespace

std::vector<Finding> checkAddress(const Inputs& inputs) {
  return {te::checkAdvertisedAddress(inputs)};
}

std::vector<Finding> checkEnvironment(const Inputs& inputs) {
  std::vector<Finding> out = te::checkLocalEnvironment(inputs);
  auto secret = auth::processSecret();
  if (!secret.ok()) {
    out.push_back(fail("auth", secret.status().message()));
  } else if (*secret == nullptr) {
    std::vector<std::string> remote = remoteServices(inputs);
    if (remote.empty()) {
      out.push_back(pass("auth", "no cluster secret (everything here is on loopback)"));
    } else {
      out.push_back(warn("auth", "no cluster secret while " + remote.front() +
                                     " is on the network: anyone who reaches the ports can "
                                     "read or change data. Set MC_AUTH_SECRET_FILE on every "
                                     "process (docs/SECURITY.md)"));
    }
  } else {
    out.push_back(pass("auth", "cluster secret from " + (*secret)->origin()));
  }
  return out;
}

}  // namespace mooncake::doctor
