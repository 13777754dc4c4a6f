// The FUSE session's locks and the one order they are taken in. Every native
// file that takes one of them points here; nothing else writes the order.
//
//   reqMu      js-requests.cc  the table of requests JS still owes a reply;
//                              also held by the session's teardown (RunLoop),
//                              by fuseUnmount and by notifications, so the
//                              session is never used after it is destroyed
//   fastMu     fast-nodes.cc   the fast-path node table; shared on the loop
//                              threads, exclusive on the JS thread
//   pauseMu    pause-gate.cc   the pause gate (a leaf)
//   forgetMu   js-requests.cc  forgets waiting for the JS thread (a leaf)
//   the lower-open registry's lock (lower-opens.cc), dirMu (dir-opens.cc),
//   indexMu (entry-index.cc), ioMu (passthrough.cc): leaves
//
// Order: reqMu before pauseMu; fastMu before the lower-open registry's lock.
// No thread holds reqMu and fastMu together. No thread waits on the pause
// gate while holding fastMu: the JS thread takes fastMu exclusively and is
// the one that ends a pause, so a loop thread passes the gate first and then
// takes fastMu (FastSetattr), or lets go of fastMu before it waits (an
// O_TRUNC open). A leaf is never held while another lock is taken.
//
// A dir fd read from the fast-path table is used only under fastMu (or
// dup'ed first), since JS closes it after dropping its nodes.
#pragma once
#include <mutex>

namespace strata {

extern std::mutex reqMu;

}  // namespace strata
