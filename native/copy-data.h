// Copying file data for copy-up: reflink first, then copy_file_range, then
// plain read/write, so the kernel does the work wherever the filesystem can.
#pragma once
#include <cstdint>

namespace strata {
// 0 on success, or an errno.
int CopyData(int src, int dst, int64_t len);
}  // namespace strata
