// The requests JS answers whole: each loop-thread handler only packs the
// kernel's arguments into its Call (fuse-requests.h) and sends it
// (js-requests.h); the reply comes later from js-replies.h. The exceptions
// are answered at once: FORGET (no reply), OPENDIR and RELEASEDIR of a
// directory dir-opens.h knows. No lock is held here beyond what those take.
#pragma once
#include <fuse_lowlevel.h>

namespace strata {

// Fills in these handlers; without fsync (noFsync) FSYNCDIR is left out, so
// the kernel stops sending it (ENOSYS once).
void AddJsOps(struct fuse_lowlevel_ops* ops, bool noFsync);

}  // namespace strata
