// Copy-up of a regular file or a directory in one call: every syscall of it
// (data, owner, xattrs, mode, times, fsync, naming, and putting the
// parent's times back) in C++. A file that is synced or big copies as one
// job on the libuv pool, so a copy-up waiting on the disk never stalls the
// requests behind it; the rest runs inline, where a thread hop would cost
// more than it saves.
// What to copy and how (which xattrs, which owner, whether to sync) is
// decided in src/union/copy-up.ts; this file only carries it out.
#pragma once
#include <napi.h>

namespace strata {
void InitCopyUp(Napi::Env env, Napi::Object exports);
}  // namespace strata
