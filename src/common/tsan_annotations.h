// Happens-before hints for ThreadSanitizer builds (no-ops otherwise).
//
// The TCP target's connection threads read and write registered memory in an order that peers
// establish over the network (a WRITE is acknowledged before the initiator issues the READ that
// depends on it). TSan cannot see causality that travels through another process, so the
// threads declare it: acquire before touching peer-ordered memory, release after.
#pragma once

#if defined(__SANITIZE_THREAD__)
extern "C" void __tsan_acquire(void* addr);
extern "C" void __tsan_release(void* addr);
#endif

namespace mooncake {

inline void tsanAcquire([[maybe_unused]] const void* sync) {
#if defined(__SANITIZE_THREAD__)
  __tsan_acquire(const_cast<void*>(sync));
#endif
}

inline void tsanRelease([[maybe_unused]] const void* sync) {
#if defined(__SANITIZE_THREAD__)
  __tsan_release(const_cast<void*>(sync));
#endif
}

}  // namespace mooncake
