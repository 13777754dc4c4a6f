// The requests on their way to JS and back: a request the kernel sent is
// queued to the JS thread through one thread-safe function (as the Call
// types of fuse-requests.h), registered under an id, and taken out again
// by the reply that answers it (js-replies.h). Any number are in flight.
//
// Invariants: every request that goes to JS is in the table under its id
// until a reply takes it, so a second reply (or one after the session
// ended) finds nothing and cannot touch a freed request. A mutating request
// holds the pause gate (pause-gate.h) from Send until it is taken. The
// table is guarded by reqMu (session-locks.h).
#pragma once
#include "fuse-requests.h"

#include <fuse_lowlevel.h>
#include <napi.h>

#include <cstdint>

namespace strata {

// Queues `c` to JS. With a request it is registered for a reply (EIO at once
// if the call cannot be queued); without one (nullptr) JS answers nothing.
// Takes ownership of `c`.
void Send(Call* c, fuse_req_t req);

// Takes the request registered as `id` out of the table (nullptr if it is
// gone), with the node it was about; the caller holds reqMu until it has
// replied.
fuse_req_t TakeRequest(uint64_t id, uint64_t* ino);

// Forgets from the kernel, batched into one queued FORGET call.
void QueueForgets(const struct fuse_forget_data* f, size_t count);

// The creating process's fsuid/fsgid and umask.
Caller CallerOf(fuse_req_t req);
// A request's fi->fh for JS, or -1 without a file.
inline double Fh(struct fuse_file_info* fi) { return fi ? (double)fi->fh : -1; }

// The session's calls into JS: dispatch(op, id, ino, fields...).
void StartJsCalls(Napi::Env env, Napi::Function dispatch);
// The session ended (the caller holds reqMu): every registered request is
// forgotten, its pause-gate hold released.
void DropRequests();
// The last call: OP_EXIT with the loop's result; then the function is released.
void EndJsCalls(int code);

}  // namespace strata
