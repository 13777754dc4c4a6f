// The data path on backing fds (see data-ops.h).
#include "data-ops.h"
#include "lower-opens.h"
#include "passthrough.h"
#include "pause-gate.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>

namespace strata {
namespace {

void ll_read(fuse_req_t req, fuse_ino_t, size_t size, off_t off, struct fuse_file_info* fi) {
  struct fuse_bufvec buf = FUSE_BUFVEC_INIT(size);
  buf.buf[0].flags = (enum fuse_buf_flags)(FUSE_BUF_IS_FD | FUSE_BUF_FD_SEEK);
  buf.buf[0].fd = (int)fi->fh;
  buf.buf[0].pos = off;
  fuse_reply_data(req, &buf, FUSE_BUF_SPLICE_MOVE);
}

void ll_write_buf(fuse_req_t req, fuse_ino_t, struct fuse_bufvec* in, off_t off, struct fuse_file_info* fi) {
  struct fuse_bufvec out = FUSE_BUFVEC_INIT(fuse_buf_size(in));
  out.buf[0].flags = (enum fuse_buf_flags)(FUSE_BUF_IS_FD | FUSE_BUF_FD_SEEK);
  out.buf[0].fd = (int)fi->fh;
  out.buf[0].pos = off;
  MutScope hold;
  KillPrivOnWrite(req, (int)fi->fh);
  ssize_t n = fuse_buf_copy(&out, in, (enum fuse_buf_copy_flags)0);
  if (n < 0) fuse_reply_err(req, (int)-n);
  else fuse_reply_write(req, (size_t)n);
}

// No flush op: libfuse answers FLUSH with ENOSYS and the kernel then stops
// sending it for the whole connection (fc->no_flush), saving a round trip
// per close. Nothing needs it: writes go straight to the backing fd, so a
// closed file's data is already where every later open reads it, and POSIX
// locks are kept by the kernel (no lock ops), so no lock owner needs one.

void ll_release(fuse_req_t req, fuse_ino_t, struct fuse_file_info* fi) {
  PassthroughRelease((int)fi->fh);
  DropLowerOpen((int)fi->fh);
  close((int)fi->fh);
  fuse_reply_err(req, 0);
}

void ll_fsync(fuse_req_t req, fuse_ino_t, int datasync, struct fuse_file_info* fi) {
  int r = datasync ? fdatasync((int)fi->fh) : fsync((int)fi->fh);
  fuse_reply_err(req, r < 0 ? errno : 0);
}

void ll_fallocate(fuse_req_t req, fuse_ino_t, int mode, off_t off, off_t len, struct fuse_file_info* fi) {
  MutScope hold;
  int r = fallocate((int)fi->fh, mode, off, len);
  fuse_reply_err(req, r < 0 ? errno : 0);
}

void ll_lseek(fuse_req_t req, fuse_ino_t, off_t off, int whence, struct fuse_file_info* fi) {
  off_t r = lseek((int)fi->fh, off, whence);
  if (r < 0) fuse_reply_err(req, errno);
  else fuse_reply_lseek(req, r);
}

void ll_copy_file_range(fuse_req_t req, fuse_ino_t, off_t off_in, struct fuse_file_info* fi_in, fuse_ino_t,
                        off_t off_out, struct fuse_file_info* fi_out, size_t len, int flags) {
  loff_t in = off_in, out = off_out;
  MutScope hold;
  ssize_t n = copy_file_range((int)fi_in->fh, &in, (int)fi_out->fh, &out, len, (unsigned)flags);
  if (n < 0) fuse_reply_err(req, errno);
  else fuse_reply_write(req, (size_t)n);
}

}  // namespace

void AddDataOps(struct fuse_lowlevel_ops* ops, bool noFsync) {
  ops->read = ll_read;
  ops->write_buf = ll_write_buf;
  ops->release = ll_release;
  ops->fsync = noFsync ? nullptr : ll_fsync;
  ops->fallocate = ll_fallocate;
  ops->lseek = ll_lseek;
  ops->copy_file_range = ll_copy_file_range;
}

}  // namespace strata
