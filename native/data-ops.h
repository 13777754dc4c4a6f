// The data path, served on the loop threads and never sent to JS: READ,
// WRITE, RELEASE, FSYNC, FALLOCATE, LSEEK and COPY_FILE_RANGE on the backing
// fd in fi->fh (opened by JS or the fast path). Writes and allocations hold
// the pause gate (pause-gate.h) while they run; no other lock is taken here
// beyond the leaves of passthrough.h and lower-opens.h at RELEASE (the order
// is in session-locks.h).
#pragma once
#include <fuse_lowlevel.h>

namespace strata {

// Fills in these handlers; without fsync (noFsync) FSYNC is left out, so the
// kernel stops sending it (ENOSYS once) and fsync(2) succeeds at once.
void AddDataOps(struct fuse_lowlevel_ops* ops, bool noFsync);

}  // namespace strata
