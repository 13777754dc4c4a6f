// Directory opens answered on the loop thread, without a JS round trip.
//
// JS registers a directory as stable (dirStable) with the open bits it gives
// every directory (cache_readdir, keep_cache: the kernel keeps its listing)
// once the kernel knows the node (an entry or an OPENDIR answered), and
// unregisters it (dirUnstable) before anything in it changes. While a
// directory is registered, OPENDIR is answered here with those bits and a
// handle numbered from kDirFhBase up.
// Such a handle names no listing: when the kernel reads through it anyway
// (its cache was dropped or went stale), the READDIR reaches JS with the
// handle and the node, and JS opens the listing then; RELEASEDIR of a handle
// JS never saw is answered here, one JS sees goes to JS. The kernel sends no
// RELEASEDIR while a READDIR on the handle is in flight, so "seen" is final.
// JS's own handles are small counters and never reach kDirFhBase.
// When JS has sent the last entries through a native handle, it drops its
// listing and says so (dirAtEnd, before that reply goes out, so no READDIR
// can race it): the READDIR that follows, at the end offset, is answered
// here with an empty buffer, and the handle counts as unseen again, so its
// RELEASEDIR stays here too. A read before the end (a rewind, a seekdir)
// goes to JS, which opens a listing again. The lock is a leaf.
#pragma once
#include <napi.h>
#include <fuse_lowlevel.h>

#include <cstdint>

namespace strata {

// 2^52: exact as a double, far above any handle JS numbers itself.
constexpr uint64_t kDirFhBase = 1ull << 52;

// True when `ino` is stable: fi then holds the handle and open bits to reply.
bool OpenDirNative(fuse_ino_t ino, struct fuse_file_info* fi);
// Before a READDIR(PLUS) on handle fh goes to JS.
void DirHandleToJs(uint64_t fh);
// True when fh is a handle opened here that JS never saw: nothing to tell JS.
bool ReleaseDirNative(uint64_t fh);
// True when a READDIR(PLUS) on fh at off was answered here (the end of a
// listing JS has finished with); otherwise the caller sends it to JS.
bool ReaddirAtEndNative(fuse_req_t req, uint64_t fh, off_t off);
// Forgets every stable dir and handle (a new session numbers its own nodes).
void ResetDirOpens();

// dirStable(nodeid, openBits), dirUnstable(nodeid), dirAtEnd(fh, end), nativeDirFhBase for JS.
void InitDirOpens(Napi::Env env, Napi::Object exports);

}  // namespace strata
