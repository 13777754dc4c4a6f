// Copying file data for copy-up: reflink first, then copy_file_range, then
// plain read/write, so the kernel does the work wherever the filesystem can.
// The copy itself is an O_TMPFILE file where the filesystem has them
// (openTmpfile, linkTmpfile).
#pragma once
#include <napi.h>

namespace strata {
// 0 on success, or an errno.
int CopyData(int src, int dst, int64_t len);
void InitCopyData(Napi::Env env, Napi::Object exports);
}  // namespace strata
