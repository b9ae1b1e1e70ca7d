#include "tool_support/bench_memory.h"

#include <sys/mman.h>

namespace mooncake::tools {

BenchMapping::BenchMapping(size_t length) : length_(length) {
  if (length == 0) return;
  void* p = ::mmap(nullptr, length, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED) return;
  data_ = static_cast<char*>(p);
  (void)::madvise(p, length, MADV_HUGEPAGE);
}

BenchMapping::~BenchMapping() {
  if (data_ != nullptr) ::munmap(data_, length_);
}

}  // namespace mooncake::tools
