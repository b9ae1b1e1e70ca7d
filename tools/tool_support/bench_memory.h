// Memory the benchmark tools move data through: an anonymous mapping, page-aligned (so never a
// few bytes past a cache line, which made store_bench's zero-copy gets 0.63x as fast over TCP
// on an AMD EPYC VM; docs/BENCHMARKS.md, "Fifth session"), zeroed lazily, in huge pages where
// the kernel allows (THP), as the store's segments are, so the tools compare alike.
#pragma once

#include <cstddef>

namespace mooncake::tools {

class BenchMapping {
 public:
  // data() is null when `length` is zero or the mapping failed.
  explicit BenchMapping(size_t length);
  ~BenchMapping();
  BenchMapping(const BenchMapping&) = delete;
  BenchMapping& operator=(const BenchMapping&) = delete;
  char* data() const { return data_; }
  size_t size() const { return data_ == nullptr ? 0 : length_; }

 private:
  size_t length_;
  char* data_ = nullptr;
};

}  // namespace mooncake::tools
