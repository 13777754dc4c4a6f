// The native fast path: nodes JS registers so that the loop threads answer
// their requests without a JS round trip.
// - lower-only nodes, whose answers never change: GETATTR from the stored
//   attributes, read-only OPEN, READLINK and xattr reads at (dirfd, name);
// - upper non-directories (live): GETATTR by fstatat with the union's st_ino,
//   SETATTR, OPEN in any mode, READLINK, xattr reads — all at (dirfd, name)
//   in the upper dir;
// - upper directories (live), through their own fd: GETATTR, SETATTR and
//   xattr reads, with the link count the union hands down (a merged
//   directory counts its subdirectories in every layer; fastSetNlink keeps
//   it current as entries come and go, before the change is answered);
//   and, for one that is all of its union directory (no lower part), a
//   LOOKUP of a name it lacks: a negative entry.
// A LOOKUP may also be answered from the entries JS made ahead for a
// directory being walked (entry-index.h).
// Anything else falls through to JS (js-requests.h).
//
// Invariants: JS drops an entry (fastDrop) before the node can move or
// change kind (copy-up, rename, removal, forget), and JS only registers an
// upper node where the union's answer is the file's own (no override xattr):
// what is answered here is what the union would answer, by the same rules
// (attr-rules.h). The directory fd
// stays open while its nodes are here and is used only under fastMu
// (session-locks.h has the lock order). The table and the private xattr
// prefix are set on the JS thread; the prefix only before the mount.
#pragma once
#include <fuse_lowlevel.h>
#include <napi.h>

#include <string>

namespace strata {

// Fills in the handlers that try the fast path first: LOOKUP, GETATTR, SETATTR,
// READLINK, OPEN, GETXATTR, LISTXATTR, and STATFS (of the filesystem JS
// names with fastStatfs: the upper's).
void AddFastOps(struct fuse_lowlevel_ops* ops);

// The overlay's private xattr names (trusted.overlay. or, for userxattr and
// rootless mounts, user.overlay.): given by the union (whiteout.ts) before
// the mount, so that both sides hide the same names.
void SetPrivateXattrPrefix(const std::string& prefix);

// Forgets every node (a new session in this process numbers its own).
void ResetFastNodes();

// fastSet, fastSetUpper, fastSetNlink and fastDrop for JS.
void InitFastNodes(Napi::Env env, Napi::Object exports);

}  // namespace strata
