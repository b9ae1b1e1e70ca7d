#include "common/string_room.h"

namespace mooncake {

char* growForOverwrite(std::string& value, size_t size) {
#if defined(__cpp_lib_string_resize_and_overwrite)
  value.resize_and_overwrite(size, [](char*, size_t n) { return n; });
#else
  value.resize(size);
#endif
  return value.data();
}

}  // namespace mooncake
