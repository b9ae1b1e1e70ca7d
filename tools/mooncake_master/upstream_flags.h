// Upstream mooncake_master flags this build has no use for. Deployment manifests pass them, so
// each is accepted: a tuning flag set to anything but its default costs one warning line; a
// feature flag (something this build lacks, e.g. --enable_cxl) stops the master with a
// message naming the feature, never silently ignored.
#pragma once

#include <string>

namespace mooncake::tools {

// 0 when the master may start (warnings printed), else the exit code after the message.
int checkUpstreamOnlyFlags();

}  // namespace mooncake::tools
