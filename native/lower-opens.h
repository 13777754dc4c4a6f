// Read-only opens of lower files, by node. At copy-up each such fd is made
// to refer to the upper copy (dup3 over the same number), as the kernel's
// overlay re-opens the real file: a reader that opened before a copy-up sees
// what is written after it, and its reads stay on the loop threads. An fd
// is registered before its open is answered and removed before it is
// closed, both under this registry's lock, so a re-open never lands on a
// reused number. The lock is a leaf: taken after fastMu or reqMu, never
// before them.
#pragma once
#include <napi.h>

#include <cstdint>

namespace strata {

void AddLowerOpen(uint64_t ino, int fd);
// No-op for an fd that is not registered.
void DropLowerOpen(int fd);
// Forgets every registration (a new session; its handles were released with the old one).
void ResetLowerOpens();
// reopenLower(nodeid, dirfd, name) for JS, after a copy-up.
Napi::Value ReopenLower(const Napi::CallbackInfo& info);

}  // namespace strata
