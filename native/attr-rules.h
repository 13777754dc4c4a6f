// The attribute rules the overlay applies on both of its paths — the loop
// threads' fast path (fast-nodes.h) and the union in TypeScript
// (src/union/union-fs.ts) — written once, here. TypeScript calls them as
// attrTimeout and setattrAt rather than keeping a copy (DESIGN.md, "one
// source of truth"). Neither touches shared state or takes a lock.
#pragma once
#include <napi.h>
#include <fcntl.h>
#include <sys/stat.h>

namespace strata {

// How long the kernel may cache a node's attributes, given the mount's
// `timeout`: an upper non-directory with more than one link gets 0, since
// hard links are separate nodes to the kernel and each one's link count
// must stay fresh as the others come and go. A lower node keeps its
// attributes (lowers never change), and a directory's count is its own.
inline double AttrTimeout(bool upper, mode_t mode, nlink_t nlink, double timeout) {
  return upper && !S_ISDIR(mode) && nlink > 1 ? 0 : timeout;
}

// The open flags a backing file is not opened with, whichever path opens
// it: the kernel gives write offsets (no O_APPEND), the entry exists by then
// (no O_CREAT/O_EXCL), and neither O_NOCTTY nor O_DIRECT belongs to a
// backing file. TypeScript reads it as C.BACKING_OPEN_DROP.
constexpr int kBackingOpenDrop = O_CREAT | O_EXCL | O_APPEND | O_NOCTTY | O_DIRECT;

// Applies SETATTR's `valid` bits (FUSE_SET_ATTR_*) from `attr` to the entry
// `name` in `dirfd`, or to dirfd's own file when name is empty: the size
// first (through `fh`, the caller's open file, when there is one: >= 0),
// then owner, permission bits, times (the *_NOW bits for "now"). Symlinks
// are not followed. Stops at the first failure and returns its errno, or 0.
// No overlay decisions are made here: the caller has copied the entry up
// and knows owner and mode belong in the file (no override xattr).
int SetattrAt(int dirfd, const char* name, int fh, int valid, const struct stat& attr);

// attrTimeout(upper, mode, nlink, timeout) and
// setattrAt(dirfd, name, fh, valid, attr) for JS.
void InitAttrRules(Napi::Env env, Napi::Object exports);

}  // namespace strata
