// The FUSE binding: a libfuse3 low-level session whose metadata requests
// reach JS asynchronously and whose data path never leaves native code.
// Its parts, one concern each:
//   fuse-session.cc  the session's life: mount, the loop thread, teardown,
//                    unmount, and notifications to the kernel
//   js-requests.h    the request table and the calls into JS
//   js-ops.h         the requests JS answers whole
//   js-replies.h     the replies from JS
//   fast-nodes.h     what the loop threads answer themselves for registered
//                    nodes (attributes, opens, xattrs)
//   data-ops.h       the data path on backing fds
//   attr-rules.h     the attribute rules the fast path and the union share
// Requests reach JS as native/fuse-requests.json declares them (generated
// into fuse-requests.h and src/native/fuse-requests.ts). The locks of all
// of them, and the one order they are taken in: session-locks.h.
#pragma once
#include <napi.h>

namespace strata {
void InitFuseSession(Napi::Env env, Napi::Object exports);
}
