// See copy-data.h. Runs on the libuv pool, inside a copy-up job (copy-up.cc).
#include "copy-data.h"

#include <fcntl.h>
#include <sys/types.h>
#include <linux/fs.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <cerrno>
#include <algorithm>
#include <vector>

namespace strata {

int CopyData(int src, int dst, int64_t len) {
  if (len == 0) return 0;
  if (ioctl(dst, FICLONE, src) == 0) return 0;
  loff_t in = 0, out = 0;
  bool fallback = false;
  while (in < len) {
    ssize_t n = copy_file_range(src, &in, dst, &out, (size_t)std::min<int64_t>(len - in, 1 << 30), 0);
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == EXDEV || errno == ENOSYS || errno == EINVAL || errno == EOPNOTSUPP) { fallback = true; break; }
      return errno;
    }
    if (n == 0) break;  // source shorter than expected: copy what is there
  }
  if (!fallback) return 0;
  std::vector<char> buf(1 << 20);
  while (in < len) {
    ssize_t n = pread(src, buf.data(), buf.size(), in);
    if (n < 0) { if (errno == EINTR) continue; return errno; }
    if (n == 0) break;
    for (ssize_t done = 0; done < n;) {
      ssize_t w = pwrite(dst, buf.data() + done, (size_t)(n - done), out + done);
      if (w < 0) { if (errno == EINTR) continue; return errno; }
      done += w;
    }
    in += n;
    out += n;
  }
  return 0;
}

}  // namespace strata
