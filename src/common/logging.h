// Thin wrapper over glog so that the rest of src/ depends on one header. Messages start with the
// lowercase component name ("tcp: ..."); see STYLE.md for the level conventions.
#pragma once

#include <glog/logging.h>

namespace mooncake {

// Initializes glog once per process: logs to stderr, level from MC_LOG_LEVEL
// (TRACE/INFO/WARNING/ERROR; TRACE also enables VLOG(2)), directory from MC_LOG_DIR when set.
// Safe to call more than once and from libraries (later calls do nothing).
void initLogging(const char* program_name);

}  // namespace mooncake
