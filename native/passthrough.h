// FUSE passthrough (kernel 6.9+): the kernel reads a file's backing file
// itself, with no READ request reaching us. Debian's
// libfuse 3.14 has no API for it, so it is spoken on the wire through the
// session's custom I/O hooks: the read hook sees whether the kernel offers
// FUSE_PASSTHROUGH in INIT, the writev hook turns it on in the INIT reply
// and marks open replies with FOPEN_PASSTHROUGH and a backing id.
//
// Invariants, as the kernel enforces them (fs/fuse/iomode.c):
// - an inode is open either cached or passthrough, never both at once, and
//   all its passthrough opens share one backing id: one id per node, taken
//   at its first passthrough open, closed at its last release (the opener
//   looks the id up after our reply is written, so it cannot be closed
//   right after the reply);
// - every file open of the session is registered here by its fd before its
//   reply is written and dropped at its release, under one leaf lock.
// Without CAP_SYS_ADMIN (a rootless mount) the backing ioctl fails with
// EPERM once and every open falls back to the cached path silently.
// What the daemon no longer sees: reads of a passed-through file. Writes
// still come to it (a writable open is FOPEN_DIRECT_IO as well), because the
// pause gate (pause-gate.h) must hold them for a consistent commit, and the
// kernel gives no way to take passthrough back from an open file. Only mmap
// of a writable file goes to the backing file directly.
#pragma once
#include <napi.h>

#include <fuse_lowlevel.h>

#include <cstdint>

namespace strata {

// Hooks the session's fd I/O (after fuse_session_mount, before the loop).
void PassthroughInstall(struct fuse_session* se, bool debug);
// Lower files may be passed through only where no copy-up can follow (a
// mount without an upper layer): a copy-up switches the daemon's fd, never
// the kernel's backing file.
void PassthroughAllowLowers(bool allow);
bool PassthroughLowersAllowed();
// fuse_reply_open / fuse_reply_create for a regular file whose data is at
// fi->fh, passed through when `eligible` and the node allows it. Returns
// what libfuse returns; on failure the file is already unregistered.
int PassthroughReplyOpen(fuse_req_t req, uint64_t ino, struct fuse_file_info* fi, bool eligible);
int PassthroughReplyCreate(fuse_req_t req, const struct fuse_entry_param* e, struct fuse_file_info* fi, bool eligible);
// Before a WRITE to fd: a caller without CAP_FSETID (taken as: not uid 0)
// clears setuid, and setgid with group exec, as the kernel does on a write
// (should_remove_suid). The kernel asks the server to (FUSE_WRITE_KILL_SUIDGID)
// for the direct-I/O writes of passthrough files, and libfuse 3.14 drops that
// flag; on the cached path the kernel has already done it (a no-op here).
void KillPrivOnWrite(fuse_req_t req, int fd);
// At RELEASE, before the fd is closed.
void PassthroughRelease(int fd);
// The session ended: its backing ids went with the connection.
void PassthroughReset();
// passthroughStats() for JS: what the session negotiated and did.
Napi::Value PassthroughStats(const Napi::CallbackInfo& info);
// passthroughAllowLowers(bool) for JS.
Napi::Value PassthroughAllowLowersJs(const Napi::CallbackInfo& info);

}  // namespace strata
