// How the C heap treats the large objects the Python store calls make for their reads (bytes
// from get/get_batch, arrays from get_tensor); docs/PYTHON.md "Large values and the C heap".
#pragma once

#include <cstdint>

namespace mooncake::python {

// Objects from this size on are what the C heap gives back to the kernel and takes again.
inline constexpr uint64_t kLargeObjectBytes = 64 * 1024;

// Called before an object of `object_bytes` is made for a read. The first time it is
// kLargeObjectBytes or more, keeps up to MC_PYTHON_HEAP_KEEP_MB (default 128) MiB of freed memory
// at the top of glibc's heap in the process, instead of returning it to the kernel after each
// call: 16 x 1 MiB from get_batch is far beyond glibc's own trim threshold (twice the largest
// block it has freed), so each batch's objects were new pages, faulted in one by one inside the
// receive copy (256 faults per MiB; batch gets ran at 0.4-0.5x of the same reads into
// registered memory). Left alone when the user tuned glibc (MALLOC_TRIM_THRESHOLD_,
// MALLOC_MMAP_THRESHOLD_, or those in GLIBC_TUNABLES) or set MC_PYTHON_HEAP_KEEP_MB=0.
// Thread-safe; costs an atomic load after the first time.
void prepareHeapFor(uint64_t object_bytes);

}  // namespace mooncake::python
