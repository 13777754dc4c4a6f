// Entries of a directory made ahead by JS, answered on the loop thread.
//
// When the kernel has listed a directory without attributes (a plain
// READDIR: the rest of a big directory after the first READDIRPLUS) and then
// looks up one of those names, it is walking it (find, ls -l, du, tar): JS
// then resolves the other listed names at once, by the union's own rules,
// and hands the entries here (entryIndexSet). Each LOOKUP of one of them is
// answered from here instead of a round trip to JS.
//
// An indexed entry holds one of the node's lookup references, taken by JS
// when it made the entry; the LOOKUP answered from here passes that one to
// the kernel, so the entry leaves the index (a later LOOKUP of the name,
// after the kernel has forgotten it, goes to JS). What JS takes back
// (entryIndexDrop, entryIndexTake) it forgets once. JS takes a directory's
// entries back before anything changes in it, and an entry back when its
// node changes or JS hands the node out itself, so what is answered here is
// what the union would answer. The lock is a leaf (session-locks.h).
#pragma once
#include <fuse_lowlevel.h>
#include <napi.h>

namespace strata {

// True when (parent, name) was indexed: the entry was sent to the kernel.
bool IndexedLookup(fuse_req_t req, fuse_ino_t parent, const char* name);

// Forgets every entry (a new session numbers its own nodes).
void ResetEntryIndex();

// entryIndexSet, entryIndexTake and entryIndexDrop for JS.
void InitEntryIndex(Napi::Env env, Napi::Object exports);

}  // namespace strata
