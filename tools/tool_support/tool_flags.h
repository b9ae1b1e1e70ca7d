// Flag handling shared by the command-line tools: --help lists the tool's own flags (gflags'
// own --help would add ~90 glog/gflags flags; --helpfull still shows everything) and --version
// prints the version. Everything else is gflags as usual.
#pragma once

namespace mooncake::tools {

// Handles --help/-h and --version (printing, then exiting 0), else parses the flags (removing
// them from argv). `usage` is the one-paragraph description --help starts with.
void parseToolFlags(const char* tool, const char* usage, int* argc, char*** argv);

}  // namespace mooncake::tools
