// Standard base64 (RFC 4648, with padding), used by the etcd v3 JSON gateway for keys/values.
#pragma once

#include <string>
#include <string_view>

#include "mooncake/common/status.h"

namespace mooncake {

std::string base64Encode(std::string_view data);
// Errors: ERR_MALFORMED_JSON on characters outside the alphabet or a bad length.
Result<std::string> base64Decode(std::string_view text);

}  // namespace mooncake
