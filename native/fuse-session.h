// The FUSE binding: a libfuse3 low-level session whose requests reach JS
// asynchronously, and whose data path (read, write, flush, fsync, release,
// fallocate, lseek, copy_file_range on backing fds) never leaves native code.
#pragma once
#include <napi.h>

namespace strata {
void InitFuseSession(Napi::Env env, Napi::Object exports);
}
