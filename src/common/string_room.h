// Growing a std::string that is about to be overwritten (a read lands in it) without writing
// it first: std::string::resize zero-fills, which for a 1 MiB value costs about a tenth of the
// read over TCP. C++23's resize_and_overwrite skips the fill; string_room.cc is the one file
// compiled as C++23 to reach it (libstdc++ keeps std::string's layout across standards).
#pragma once

#include <cstddef>
#include <string>

namespace mooncake {

// Makes `value` `size` bytes long and returns its data. Bytes past the old size are
// unspecified until the caller writes them.
char* growForOverwrite(std::string& value, size_t size);

}  // namespace mooncake
