// Which transport protocols this build runs, and what a caller asking for another one is told.
#pragma once

#include <string>

#include "mooncake/common/status.h"
#include "mooncake/transfer_engine/transfer_engine_options.h"

namespace mooncake {

// The protocol that runs for `requested` (case and surrounding spaces ignored): "tcp" for
// "tcp", and for any protocol when options.force_tcp (MC_FORCE_TCP) is set, logged once per
// protocol. Errors: ERR_NOT_IMPLEMENTED for a protocol upstream Mooncake knows but this build
// lacks (rdma, nvlink, efa, ...), naming what it supports and the two fixes (MC_FORCE_TCP=1, or
// "tcp" as the serving engine's Mooncake protocol setting); ERR_INVALID_ARGUMENT for a name
// nobody knows.
Result<std::string> resolveProtocol(const std::string& requested,
                                    const TransferEngineOptions& options);

}  // namespace mooncake
