// The replies from JS: replyErr, replyEntry, replyCreate, replyAttr,
// replyReadlink, replyOpen, replyBuf, replyXattrSize, replyStatfs, replyDir
// and replyDirPlus, each answering the request JS got under an id.
//
// Invariants: each reply takes its request out of the table (js-requests.h)
// and answers it while holding reqMu (session-locks.h), so it cannot race
// the session's teardown; a request already answered, or a session already
// ended, makes the reply return false (-1 for the directory replies) and
// touch nothing. Every argument position is written here and in
// src/native/binding.ts's declarations, nowhere else.
#pragma once
#include <napi.h>

namespace strata {

void InitJsReplies(Napi::Env env, Napi::Object exports);

}  // namespace strata
