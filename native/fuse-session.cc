// One session per process (a daemon serves one mount).
//
// Threads: libfuse's multithreaded loop reads requests; metadata requests are
// queued to the JS thread through a thread-safe function and answered later
// by the reply* functions, so any number are in flight at once. A file's
// fi->fh is the backing file descriptor JS opened; the data ops use it
// directly on the loop threads.
//
// Invariants: every request that goes to JS is registered in `reqs` under
// an id; a reply removes it, so a second reply (or one after the session
// ended) finds nothing and cannot touch a freed request. `reqMu` is held
// while replying to JS-owned requests and while the loop thread tears the
// session down, which orders teardown after every reply in progress.
#include "fuse-session.h"
#include "errors.h"
#include "syscalls.h"

#include <fuse_lowlevel.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <condition_variable>
#include <memory>
#include <cstdio>
#include <cerrno>
#include <cstring>
#include <functional>
#include <sys/xattr.h>
#include <mutex>
#include <shared_mutex>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

namespace strata {
namespace {

// Operation codes shared with src/native/binding.ts (FuseOp).
enum Op {
  OP_LOOKUP = 1, OP_FORGET, OP_GETATTR, OP_SETATTR, OP_READLINK, OP_MKNOD, OP_MKDIR, OP_UNLINK,
  OP_RMDIR, OP_SYMLINK, OP_RENAME, OP_LINK, OP_OPEN, OP_OPENDIR, OP_READDIR, OP_READDIRPLUS,
  OP_RELEASEDIR, OP_FSYNCDIR, OP_STATFS, OP_SETXATTR, OP_GETXATTR, OP_LISTXATTR, OP_REMOVEXATTR,
  OP_CREATE, OP_EXIT,
};

struct Call {
  int op;
  uint64_t id = 0;
  uint64_t ino = 0;
  std::string name, name2;
  double n[6] = {0, 0, 0, 0, 0, 0};
  double attr[kStatLen];
  bool hasAttr = false;
  std::vector<char> data;
  std::vector<double> forgets;
};

void CallJs(Napi::Env env, Napi::Function fn, std::nullptr_t*, Call* c);
using Tsfn = Napi::TypedThreadSafeFunction<std::nullptr_t, Call, CallJs>;

struct fuse_session* se = nullptr;
std::string mountpoint;
Tsfn tsfn;
std::thread loopThread;
std::mutex reqMu;
struct Pending {
  fuse_req_t req;
  bool mutating;
};
std::unordered_map<uint64_t, Pending> reqs;

// Pausing for a consistent commit: while `paused`, every operation that can
// change the upper layer waits before it starts; `inflight` counts those
// under way (native ones until they return, JS ones until their reply), so
// the pauser knows when the upper has stopped moving. Lock order: reqMu, then
// pauseMu.
std::mutex pauseMu;
std::condition_variable pauseCv;
bool paused = false;
int inflight = 0;

void MutBegin() {
  std::unique_lock<std::mutex> l(pauseMu);
  pauseCv.wait(l, [] { return !paused; });
  inflight++;
}

void MutDone() {
  std::lock_guard<std::mutex> l(pauseMu);
  inflight--;
  pauseCv.notify_all();
}

struct MutScope {
  MutScope() { MutBegin(); }
  ~MutScope() { MutDone(); }
};
uint64_t nextId = 1;
bool ended = false;
bool debug = false;

// The fast path, registered by JS so that the loop threads answer without a
// JS round trip:
// - lower-only nodes, whose answers never change: GETATTR from the stored
//   attributes, read-only OPEN and xattr reads of files at (dirfd, name);
// - upper non-directories (live): GETATTR by fstatat with the union's st_ino,
//   OPEN in any mode, xattr reads — all at (dirfd, name) in the upper dir.
// JS drops an entry before the node can move or change kind (copy-up,
// rename, removal, forget); the directory fd stays open while it is here.
struct FastNode {
  int dirfd;
  std::string name;
  bool openable;
  bool upper;
  struct stat attr;
  double attrTimeout;
  double ino;
};
std::shared_mutex fastMu;
std::unordered_map<uint64_t, FastNode> fastNodes;

uint64_t Track(fuse_req_t req, bool mutating) {
  std::lock_guard<std::mutex> g(reqMu);
  uint64_t id = nextId++;
  reqs.emplace(id, Pending{req, mutating});
  return id;
}

bool Mutating(const Call* c) {
  switch (c->op) {
    case OP_SETATTR: case OP_MKNOD: case OP_MKDIR: case OP_UNLINK: case OP_RMDIR: case OP_SYMLINK:
    case OP_RENAME: case OP_LINK: case OP_CREATE: case OP_SETXATTR: case OP_REMOVEXATTR:
      return true;
    case OP_OPEN:  // a write open may copy up
      return ((int)c->n[0] & O_ACCMODE) != O_RDONLY || ((int)c->n[0] & O_TRUNC);
    default:
      return false;
  }
}

void Send(Call* c, fuse_req_t req) {
  bool mutating = req && Mutating(c);
  if (mutating) MutBegin();
  if (req) c->id = Track(req, mutating);
  if (tsfn.NonBlockingCall(c) != napi_ok) {
    if (req) {
      std::lock_guard<std::mutex> g(reqMu);
      reqs.erase(c->id);
      fuse_reply_err(req, EIO);
    }
    if (mutating) MutDone();
    delete c;
  }
}

Call* NewCall(int op, fuse_ino_t ino) {
  Call* c = new Call();
  c->op = op;
  c->ino = ino;
  return c;
}

void WithCaller(Call* c, fuse_req_t req, int at) {
  const struct fuse_ctx* ctx = fuse_req_ctx(req);
  c->n[at] = ctx->uid;
  c->n[at + 1] = ctx->gid;
}

double Fh(struct fuse_file_info* fi) { return fi ? (double)fi->fh : -1; }

// --- operations that go to JS -------------------------------------------

void ll_init(void*, struct fuse_conn_info* conn) {
  unsigned want = FUSE_CAP_ATOMIC_O_TRUNC | FUSE_CAP_SPLICE_READ | FUSE_CAP_SPLICE_WRITE | FUSE_CAP_SPLICE_MOVE |
                  FUSE_CAP_READDIRPLUS | FUSE_CAP_PARALLEL_DIROPS | FUSE_CAP_CACHE_SYMLINKS | FUSE_CAP_ASYNC_READ;
  conn->want |= want & conn->capable;
  // Lowers are immutable and the upper changes only through us: keep the page
  // cache across opens rather than dropping it whenever mtime moves.
  conn->want &= ~FUSE_CAP_AUTO_INVAL_DATA;
  // Always readdirplus: a lookup per entry afterwards costs a round trip each.
  conn->want &= ~FUSE_CAP_READDIRPLUS_AUTO;
  conn->max_readahead = 1 << 20;
  // Big requests: libfuse's buffer holds 1 MiB of data (FUSE_MAX_MAX_PAGES).
  if (conn->max_write > (1u << 20)) conn->max_write = 1u << 20;
  if (debug) fprintf(stderr, "strata: INIT max_write=%u max_readahead=%u want=0x%x\n", conn->max_write, conn->max_readahead, conn->want);
}

void ll_lookup(fuse_req_t req, fuse_ino_t parent, const char* name) {
  Call* c = NewCall(OP_LOOKUP, parent);
  c->name = name;
  Send(c, req);
}

void ll_forget(fuse_req_t req, fuse_ino_t ino, uint64_t nlookup) {
  Call* c = NewCall(OP_FORGET, 0);
  c->forgets = {(double)ino, (double)nlookup};
  fuse_reply_none(req);
  Send(c, nullptr);
}

void ll_forget_multi(fuse_req_t req, size_t count, struct fuse_forget_data* f) {
  Call* c = NewCall(OP_FORGET, 0);
  c->forgets.reserve(count * 2);
  for (size_t i = 0; i < count; i++) {
    c->forgets.push_back((double)f[i].ino);
    c->forgets.push_back((double)f[i].nlookup);
  }
  fuse_reply_none(req);
  Send(c, nullptr);
}

void ll_getattr(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info* fi) {
  {
    std::shared_lock<std::shared_mutex> g(fastMu);
    auto it = fastNodes.find(ino);
    if (it != fastNodes.end() && !it->second.upper) {
      fuse_reply_attr(req, &it->second.attr, it->second.attrTimeout);
      return;
    }
    if (it != fastNodes.end()) {
      struct stat st;
      if (fstatat(it->second.dirfd, it->second.name.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0) {
        st.st_ino = (ino_t)it->second.ino;
        // Hard links are separate nodes to the kernel: keep link counts fresh.
        fuse_reply_attr(req, &st, st.st_nlink > 1 ? 0 : it->second.attrTimeout);
        return;
      }
    }
  }
  Call* c = NewCall(OP_GETATTR, ino);
  c->n[0] = Fh(fi);
  Send(c, req);
}

// SETATTR of an upper file is a few syscalls on (dirfd, name), the same the
// union would make: done here for registered upper nodes (untar sets owner,
// mode and times on every file it writes).
bool FastSetattr(fuse_req_t req, fuse_ino_t ino, struct stat* attr, int to_set, struct fuse_file_info* fi) {
  int dirfd;
  std::string name;
  double fastIno, timeout;
  {
    std::shared_lock<std::shared_mutex> g(fastMu);
    auto it = fastNodes.find(ino);
    if (it == fastNodes.end() || !it->second.upper) return false;
    dirfd = it->second.dirfd;
    name = it->second.name;
    fastIno = it->second.ino;
    timeout = it->second.attrTimeout;
  }
  MutScope hold;
  const char* n = name.c_str();
  int r = 0;
  if (to_set & FUSE_SET_ATTR_SIZE) {
    if (fi) r = ftruncate((int)fi->fh, attr->st_size);
    else {
      int fd = openat(dirfd, n, O_WRONLY | O_NOFOLLOW | O_CLOEXEC);
      r = fd < 0 ? -1 : ftruncate(fd, attr->st_size);
      if (fd >= 0) close(fd);
    }
  }
  if (r == 0 && (to_set & (FUSE_SET_ATTR_UID | FUSE_SET_ATTR_GID))) {
    r = fchownat(dirfd, n, (to_set & FUSE_SET_ATTR_UID) ? attr->st_uid : (uid_t)-1,
                 (to_set & FUSE_SET_ATTR_GID) ? attr->st_gid : (gid_t)-1, AT_SYMLINK_NOFOLLOW);
  }
  if (r == 0 && (to_set & FUSE_SET_ATTR_MODE)) r = fchmodat(dirfd, n, attr->st_mode & 07777, 0);
  if (r == 0 && (to_set & (FUSE_SET_ATTR_ATIME | FUSE_SET_ATTR_MTIME))) {
    struct timespec ts[2];
    ts[0] = (to_set & FUSE_SET_ATTR_ATIME) ? ((to_set & FUSE_SET_ATTR_ATIME_NOW) ? timespec{0, UTIME_NOW} : attr->st_atim) : timespec{0, UTIME_OMIT};
    ts[1] = (to_set & FUSE_SET_ATTR_MTIME) ? ((to_set & FUSE_SET_ATTR_MTIME_NOW) ? timespec{0, UTIME_NOW} : attr->st_mtim) : timespec{0, UTIME_OMIT};
    r = utimensat(dirfd, n, ts, AT_SYMLINK_NOFOLLOW);
  }
  if (r < 0) {
    fuse_reply_err(req, errno);
    return true;
  }
  struct stat st;
  if (fstatat(dirfd, n, &st, AT_SYMLINK_NOFOLLOW) < 0) {
    fuse_reply_err(req, errno);
    return true;
  }
  st.st_ino = (ino_t)fastIno;
  fuse_reply_attr(req, &st, st.st_nlink > 1 ? 0 : timeout);
  return true;
}

void ll_setattr(fuse_req_t req, fuse_ino_t ino, struct stat* attr, int to_set, struct fuse_file_info* fi) {
  if (FastSetattr(req, ino, attr, to_set, fi)) return;
  Call* c = NewCall(OP_SETATTR, ino);
  c->n[0] = to_set;
  c->n[1] = Fh(fi);
  FillStat(c->attr, *attr);
  c->hasAttr = true;
  Send(c, req);
}

void ll_readlink(fuse_req_t req, fuse_ino_t ino) { Send(NewCall(OP_READLINK, ino), req); }

void ll_mknod(fuse_req_t req, fuse_ino_t parent, const char* name, mode_t mode, dev_t rdev) {
  Call* c = NewCall(OP_MKNOD, parent);
  c->name = name;
  c->n[0] = mode;
  c->n[1] = (double)rdev;
  WithCaller(c, req, 2);
  Send(c, req);
}

void ll_mkdir(fuse_req_t req, fuse_ino_t parent, const char* name, mode_t mode) {
  Call* c = NewCall(OP_MKDIR, parent);
  c->name = name;
  c->n[0] = mode;
  WithCaller(c, req, 2);
  Send(c, req);
}

void ll_unlink(fuse_req_t req, fuse_ino_t parent, const char* name) {
  Call* c = NewCall(OP_UNLINK, parent);
  c->name = name;
  Send(c, req);
}

void ll_rmdir(fuse_req_t req, fuse_ino_t parent, const char* name) {
  Call* c = NewCall(OP_RMDIR, parent);
  c->name = name;
  Send(c, req);
}

void ll_symlink(fuse_req_t req, const char* link, fuse_ino_t parent, const char* name) {
  Call* c = NewCall(OP_SYMLINK, parent);
  c->name = name;
  c->name2 = link;
  WithCaller(c, req, 2);
  Send(c, req);
}

void ll_rename(fuse_req_t req, fuse_ino_t parent, const char* name, fuse_ino_t newparent, const char* newname,
               unsigned int flags) {
  Call* c = NewCall(OP_RENAME, parent);
  c->name = name;
  c->name2 = newname;
  c->n[0] = (double)newparent;
  c->n[1] = flags;
  Send(c, req);
}

void ll_link(fuse_req_t req, fuse_ino_t ino, fuse_ino_t newparent, const char* newname) {
  Call* c = NewCall(OP_LINK, ino);
  c->name = newname;
  c->n[0] = (double)newparent;
  Send(c, req);
}

void ll_open(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info* fi) {
  bool readOnly = (fi->flags & O_ACCMODE) == O_RDONLY && !(fi->flags & O_TRUNC);
  int dirfd = -1;
  bool upper = false;
  std::string name;
  {
    std::shared_lock<std::shared_mutex> g(fastMu);
    auto it = fastNodes.find(ino);
    if (it != fastNodes.end() && it->second.openable && (readOnly || it->second.upper)) {
      dirfd = it->second.dirfd;
      name = it->second.name;
      upper = it->second.upper;
    }
  }
  {
    if (dirfd >= 0) {
      // The kernel gives write offsets: no O_APPEND on the backing fd.
      int flags = fi->flags & ~(O_CREAT | O_EXCL | O_APPEND | O_NOCTTY | O_DIRECT | (upper ? 0 : O_TRUNC));
      int fd;
      {
        // O_TRUNC changes the file: it waits for a pause like a write.
        std::unique_ptr<MutScope> hold(flags & O_TRUNC ? new MutScope() : nullptr);
        fd = openat(dirfd, name.c_str(), flags | O_NOFOLLOW | O_CLOEXEC);
      }
      if (fd < 0) {
        fuse_reply_err(req, errno);
        return;
      }
      fi->fh = (uint64_t)fd;
      fi->keep_cache = !upper;  // immutable lowers keep the page cache across opens
      if (fuse_reply_open(req, fi) == -ENOENT) close(fd);
      return;
    }
  }
  Call* c = NewCall(OP_OPEN, ino);
  c->n[0] = fi->flags;
  Send(c, req);
}

void ll_create(fuse_req_t req, fuse_ino_t parent, const char* name, mode_t mode, struct fuse_file_info* fi) {
  Call* c = NewCall(OP_CREATE, parent);
  c->name = name;
  c->n[0] = mode;
  c->n[1] = fi->flags;
  WithCaller(c, req, 2);
  Send(c, req);
}

void ll_opendir(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info* fi) {
  Call* c = NewCall(OP_OPENDIR, ino);
  c->n[0] = fi->flags;
  Send(c, req);
}

void ReaddirCall(int op, fuse_req_t req, fuse_ino_t ino, size_t size, off_t off, struct fuse_file_info* fi) {
  Call* c = NewCall(op, ino);
  c->n[0] = (double)size;
  c->n[1] = (double)off;
  c->n[2] = Fh(fi);
  Send(c, req);
}
void ll_readdir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off, struct fuse_file_info* fi) {
  ReaddirCall(OP_READDIR, req, ino, size, off, fi);
}
void ll_readdirplus(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off, struct fuse_file_info* fi) {
  ReaddirCall(OP_READDIRPLUS, req, ino, size, off, fi);
}

void ll_releasedir(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info* fi) {
  Call* c = NewCall(OP_RELEASEDIR, ino);
  c->n[0] = Fh(fi);
  fuse_reply_err(req, 0);
  Send(c, nullptr);
}

void ll_fsyncdir(fuse_req_t req, fuse_ino_t ino, int datasync, struct fuse_file_info* fi) {
  Call* c = NewCall(OP_FSYNCDIR, ino);
  c->n[0] = datasync;
  c->n[1] = Fh(fi);
  Send(c, req);
}

void ll_statfs(fuse_req_t req, fuse_ino_t ino) { Send(NewCall(OP_STATFS, ino), req); }

void ll_setxattr(fuse_req_t req, fuse_ino_t ino, const char* name, const char* value, size_t size, int flags) {
  Call* c = NewCall(OP_SETXATTR, ino);
  c->name = name;
  c->data.assign(value, value + size);
  c->n[0] = flags;
  Send(c, req);
}

// A lower-only file's (dirfd, name), if the fast path knows it.
bool FastFile(fuse_ino_t ino, int* dirfd, std::string* name) {
  std::shared_lock<std::shared_mutex> g(fastMu);
  auto it = fastNodes.find(ino);
  if (it == fastNodes.end() || it->second.dirfd < 0) return false;
  *dirfd = it->second.dirfd;
  *name = it->second.name;
  return true;
}

const char kPrivatePrefix[] = "trusted.overlay.";

// Answers size queries (size 0) and reads alike, as the kernel expects.
void ReplyXattrData(fuse_req_t req, size_t size, const std::function<ssize_t(char*, size_t)>& get) {
  std::vector<char> buf(size);
  ssize_t n = get(size ? buf.data() : nullptr, size);
  if (n < 0) fuse_reply_err(req, errno);
  else if (size == 0) fuse_reply_xattr(req, (size_t)n);
  else fuse_reply_buf(req, buf.data(), (size_t)n);
}

void ll_getxattr(fuse_req_t req, fuse_ino_t ino, const char* name, size_t size) {
  int dirfd;
  std::string file;
  if (FastFile(ino, &dirfd, &file)) {
    // Overlay-internal names are invisible (the union answers the same).
    if (strncmp(name, kPrivatePrefix, sizeof kPrivatePrefix - 1) == 0) { fuse_reply_err(req, EOPNOTSUPP); return; }
    std::string path = "/proc/self/fd/" + std::to_string(dirfd) + "/" + file;
    ReplyXattrData(req, size, [&](char* b, size_t n) { return lgetxattr(path.c_str(), name, b, n); });
    return;
  }
  Call* c = NewCall(OP_GETXATTR, ino);
  c->name = name;
  c->n[0] = (double)size;
  Send(c, req);
}

void ll_listxattr(fuse_req_t req, fuse_ino_t ino, size_t size) {
  int dirfd;
  std::string file;
  if (FastFile(ino, &dirfd, &file)) {
    std::string path = "/proc/self/fd/" + std::to_string(dirfd) + "/" + file;
    ssize_t n = llistxattr(path.c_str(), nullptr, 0);
    std::vector<char> all(n > 0 ? (size_t)n : 0);
    if (n > 0) n = llistxattr(path.c_str(), all.data(), all.size());
    if (n < 0) { fuse_reply_err(req, errno); return; }
    std::string shown;
    for (ssize_t i = 0; i < n;) {
      const char* x = all.data() + i;
      size_t len = strnlen(x, (size_t)(n - i));
      if (len && strncmp(x, kPrivatePrefix, sizeof kPrivatePrefix - 1) != 0) shown.append(x, len + 1);
      i += (ssize_t)len + 1;
    }
    if (size == 0) fuse_reply_xattr(req, shown.size());
    else if (shown.size() > size) fuse_reply_err(req, ERANGE);
    else fuse_reply_buf(req, shown.data(), shown.size());
    return;
  }
  Call* c = NewCall(OP_LISTXATTR, ino);
  c->n[0] = (double)size;
  Send(c, req);
}

void ll_removexattr(fuse_req_t req, fuse_ino_t ino, const char* name) {
  Call* c = NewCall(OP_REMOVEXATTR, ino);
  c->name = name;
  Send(c, req);
}

// --- the data path, served here on the loop threads ----------------------

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
  ssize_t n = fuse_buf_copy(&out, in, (enum fuse_buf_copy_flags)0);
  if (n < 0) fuse_reply_err(req, (int)-n);
  else fuse_reply_write(req, (size_t)n);
}

void ll_flush(fuse_req_t req, fuse_ino_t, struct fuse_file_info*) { fuse_reply_err(req, 0); }

void ll_release(fuse_req_t req, fuse_ino_t, struct fuse_file_info* fi) {
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

struct fuse_lowlevel_ops ops;

// --- JS side ----------------------------------------------------------------

Napi::Value Bytes(Napi::Env env, const std::string& s) { return FromLatin1(env, s); }

void CallJs(Napi::Env env, Napi::Function fn, std::nullptr_t*, Call* c) {
  if (env == nullptr || fn.IsEmpty()) { delete c; return; }
  std::vector<napi_value> a;
  a.push_back(Napi::Number::New(env, c->op));
  a.push_back(Napi::Number::New(env, (double)c->id));
  a.push_back(Napi::Number::New(env, (double)c->ino));
  auto num = [&](int i) { a.push_back(Napi::Number::New(env, c->n[i])); };
  switch (c->op) {
    case OP_LOOKUP: case OP_UNLINK: case OP_RMDIR: case OP_REMOVEXATTR:
      a.push_back(Bytes(env, c->name));
      break;
    case OP_FORGET: {
      Napi::Float64Array f = Napi::Float64Array::New(env, c->forgets.size());
      std::copy(c->forgets.begin(), c->forgets.end(), f.Data());
      a.push_back(f);
      break;
    }
    case OP_GETATTR: case OP_OPEN: case OP_OPENDIR: case OP_RELEASEDIR: case OP_LISTXATTR: case OP_EXIT:
      num(0);
      break;
    case OP_SETATTR: {
      num(0);
      Napi::Float64Array s = Napi::Float64Array::New(env, kStatLen);
      std::copy(c->attr, c->attr + kStatLen, s.Data());
      a.push_back(s);
      num(1);
      break;
    }
    case OP_MKNOD: case OP_MKDIR: case OP_CREATE:
      a.push_back(Bytes(env, c->name));
      num(0); num(1); num(2); num(3);
      break;
    case OP_SYMLINK:
      a.push_back(Bytes(env, c->name));
      a.push_back(Bytes(env, c->name2));
      num(2); num(3);
      break;
    case OP_RENAME:
      a.push_back(Bytes(env, c->name));
      num(0);
      a.push_back(Bytes(env, c->name2));
      num(1);
      break;
    case OP_LINK:
      num(0);
      a.push_back(Bytes(env, c->name));
      break;
    case OP_READDIR: case OP_READDIRPLUS:
      num(0); num(1); num(2);
      break;
    case OP_FSYNCDIR:
      num(0); num(1);
      break;
    case OP_SETXATTR:
      a.push_back(Bytes(env, c->name));
      a.push_back(Napi::Buffer<char>::Copy(env, c->data.data(), c->data.size()));
      num(0);
      break;
    case OP_GETXATTR:
      a.push_back(Bytes(env, c->name));
      num(0);
      break;
    default:
      break;
  }
  delete c;
  fn.Call(a);
}

void RunLoop() {
  struct fuse_loop_config* cfg = fuse_loop_cfg_create();
  fuse_loop_cfg_set_idle_threads(cfg, 4);
  fuse_loop_cfg_set_max_threads(cfg, 16);
  fuse_loop_cfg_set_clone_fd(cfg, 0);
  int rc = fuse_session_loop_mt(se, cfg);
  fuse_loop_cfg_destroy(cfg);
  {
    std::lock_guard<std::mutex> g(reqMu);
    ended = true;
    for (auto& p : reqs) if (p.second.mutating) MutDone();
    reqs.clear();
    fuse_session_unmount(se);
    fuse_session_destroy(se);
    se = nullptr;
  }
  Call* c = NewCall(OP_EXIT, 0);
  c->n[0] = rc;
  tsfn.BlockingCall(c);
  tsfn.Release();
}

// fuseMount(mountpoint, options, dispatch): mounts and starts serving.
Napi::Value Mount(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (se || loopThread.joinable()) { ThrowUsage(env, "a FUSE session is already running in this process"); return env.Undefined(); }
  mountpoint = Latin1(info[0]);
  std::string opts = Latin1(info[1]);
  debug = info.Length() > 3 && info[3].ToBoolean();
  // volatile / fsync=0: without fsync handlers the kernel stops sending them
  // (ENOSYS once) and fsync(2) succeeds without touching the upper.
  bool noFsync = info.Length() > 4 && info[4].ToBoolean();
  std::vector<std::string> argvS = {"strata", "-o", opts};
  if (debug) argvS.push_back("-d");
  std::vector<char*> argv;
  for (auto& s : argvS) argv.push_back(s.data());
  struct fuse_args args = FUSE_ARGS_INIT((int)argv.size(), argv.data());

  memset(&ops, 0, sizeof ops);
  ops.init = ll_init;
  ops.lookup = ll_lookup;
  ops.forget = ll_forget;
  ops.forget_multi = ll_forget_multi;
  ops.getattr = ll_getattr;
  ops.setattr = ll_setattr;
  ops.readlink = ll_readlink;
  ops.mknod = ll_mknod;
  ops.mkdir = ll_mkdir;
  ops.unlink = ll_unlink;
  ops.rmdir = ll_rmdir;
  ops.symlink = ll_symlink;
  ops.rename = ll_rename;
  ops.link = ll_link;
  ops.open = ll_open;
  ops.read = ll_read;
  ops.write_buf = ll_write_buf;
  ops.flush = ll_flush;
  ops.release = ll_release;
  ops.fsync = noFsync ? nullptr : ll_fsync;
  ops.opendir = ll_opendir;
  ops.readdir = ll_readdir;
  ops.readdirplus = ll_readdirplus;
  ops.releasedir = ll_releasedir;
  ops.fsyncdir = noFsync ? nullptr : ll_fsyncdir;
  ops.statfs = ll_statfs;
  ops.setxattr = ll_setxattr;
  ops.getxattr = ll_getxattr;
  ops.listxattr = ll_listxattr;
  ops.removexattr = ll_removexattr;
  ops.create = ll_create;
  ops.fallocate = ll_fallocate;
  ops.lseek = ll_lseek;
  ops.copy_file_range = ll_copy_file_range;

  se = fuse_session_new(&args, &ops, sizeof ops, nullptr);
  fuse_opt_free_args(&args);
  if (!se) { ThrowErrno(env, EINVAL, "fuse_session_new", opts); return env.Undefined(); }
  if (fuse_session_mount(se, mountpoint.c_str()) != 0) {
    fuse_session_destroy(se);
    se = nullptr;
    ThrowErrno(env, EIO, "fuse_session_mount", mountpoint);
    return env.Undefined();
  }
  ended = false;
  tsfn = Tsfn::New(env, info[2].As<Napi::Function>(), "strata-fuse", 0, 1);
  loopThread = std::thread(RunLoop);
  loopThread.detach();
  return env.Undefined();
}

// Ends the session: the loop threads see the unmount and return, and the
// dispatch function receives OP_EXIT once teardown is done.
Napi::Value Unmount(const Napi::CallbackInfo& info) {
  std::lock_guard<std::mutex> g(reqMu);
  if (se && !ended) {
    fuse_session_exit(se);
    fuse_session_unmount(se);
  }
  return info.Env().Undefined();
}

// --- replies ------------------------------------------------------------------

// Takes the request for `id`; the caller holds reqMu until it has replied.
fuse_req_t Take(const Napi::CallbackInfo& info) {
  uint64_t id = (uint64_t)info[0].As<Napi::Number>().Int64Value();
  auto it = reqs.find(id);
  if (it == reqs.end()) return nullptr;
  fuse_req_t r = it->second.req;
  if (it->second.mutating) MutDone();
  reqs.erase(it);
  return r;
}

void ToStat(const Napi::Value& v, struct stat* st) {
  Napi::Float64Array a = v.As<Napi::Float64Array>();
  const double* o = a.Data();
  memset(st, 0, sizeof *st);
  st->st_dev = (dev_t)o[0];
  st->st_ino = (ino_t)o[1];
  st->st_mode = (mode_t)o[2];
  st->st_nlink = (nlink_t)o[3];
  st->st_uid = (uid_t)o[4];
  st->st_gid = (gid_t)o[5];
  st->st_rdev = (dev_t)o[6];
  st->st_size = (off_t)o[7];
  st->st_blksize = (blksize_t)o[8];
  st->st_blocks = (blkcnt_t)o[9];
  st->st_atim = {(time_t)o[10], (long)o[11]};
  st->st_mtim = {(time_t)o[12], (long)o[13]};
  st->st_ctim = {(time_t)o[14], (long)o[15]};
}

void ToEntry(const Napi::CallbackInfo& info, size_t at, struct fuse_entry_param* e) {
  memset(e, 0, sizeof *e);
  e->ino = (fuse_ino_t)info[at].As<Napi::Number>().Int64Value();
  e->generation = (uint64_t)info[at + 1].As<Napi::Number>().Int64Value();
  ToStat(info[at + 2], &e->attr);
  e->entry_timeout = info[at + 3].As<Napi::Number>().DoubleValue();
  e->attr_timeout = info[at + 4].As<Napi::Number>().DoubleValue();
}

// Open flags from JS: bit 1 keep_cache, bit 2 direct_io, bit 4 noflush,
// bit 8 cache_readdir.
void ToOpen(uint32_t bits, double fh, struct fuse_file_info* fi) {
  memset(fi, 0, sizeof *fi);
  fi->fh = (uint64_t)fh;
  fi->keep_cache = (bits & 1) != 0;
  fi->direct_io = (bits & 2) != 0;
  fi->noflush = (bits & 4) != 0;
  fi->cache_readdir = (bits & 8) != 0;
}

#define REPLY_BEGIN                               \
  std::lock_guard<std::mutex> g(reqMu);           \
  fuse_req_t req = Take(info);                    \
  if (!req) return Napi::Boolean::New(info.Env(), false);
#define REPLY_END return Napi::Boolean::New(info.Env(), true);

Napi::Value ReplyErr(const Napi::CallbackInfo& info) {
  REPLY_BEGIN
  fuse_reply_err(req, info[1].As<Napi::Number>().Int32Value());
  REPLY_END
}

// replyEntry(id, nodeid, generation, attr, entryTimeout, attrTimeout)
Napi::Value ReplyEntry(const Napi::CallbackInfo& info) {
  REPLY_BEGIN
  struct fuse_entry_param e;
  ToEntry(info, 1, &e);
  fuse_reply_entry(req, &e);
  REPLY_END
}

// replyCreate(id, nodeid, generation, attr, entryTimeout, attrTimeout, fd, openBits)
Napi::Value ReplyCreate(const Napi::CallbackInfo& info) {
  REPLY_BEGIN
  struct fuse_entry_param e;
  ToEntry(info, 1, &e);
  struct fuse_file_info fi;
  ToOpen(info[7].As<Napi::Number>().Uint32Value(), info[6].As<Napi::Number>().DoubleValue(), &fi);
  if (fuse_reply_create(req, &e, &fi) == -ENOENT) close((int)fi.fh);  // the caller was interrupted
  REPLY_END
}

// replyAttr(id, attr, timeout)
Napi::Value ReplyAttr(const Napi::CallbackInfo& info) {
  REPLY_BEGIN
  struct stat st;
  ToStat(info[1], &st);
  fuse_reply_attr(req, &st, info[2].As<Napi::Number>().DoubleValue());
  REPLY_END
}

Napi::Value ReplyReadlink(const Napi::CallbackInfo& info) {
  REPLY_BEGIN
  std::string s = Latin1(info[1]);
  fuse_reply_readlink(req, s.c_str());
  REPLY_END
}

// replyOpen(id, fh, openBits): fh is a backing fd for files, a handle for dirs.
Napi::Value ReplyOpen(const Napi::CallbackInfo& info) {
  REPLY_BEGIN
  struct fuse_file_info fi;
  ToOpen(info[2].As<Napi::Number>().Uint32Value(), info[1].As<Napi::Number>().DoubleValue(), &fi);
  if (fuse_reply_open(req, &fi) == -ENOENT && info.Length() > 3 && info[3].ToBoolean()) close((int)fi.fh);
  REPLY_END
}

Napi::Value ReplyBuf(const Napi::CallbackInfo& info) {
  REPLY_BEGIN
  Napi::Buffer<char> b = info[1].As<Napi::Buffer<char>>();
  fuse_reply_buf(req, b.Data(), b.Length());
  REPLY_END
}

Napi::Value ReplyXattrSize(const Napi::CallbackInfo& info) {
  REPLY_BEGIN
  fuse_reply_xattr(req, (size_t)info[1].As<Napi::Number>().Int64Value());
  REPLY_END
}

Napi::Value ReplyStatfs(const Napi::CallbackInfo& info) {
  REPLY_BEGIN
  const double* o = info[1].As<Napi::Float64Array>().Data();
  struct statvfs s;
  memset(&s, 0, sizeof s);
  s.f_bsize = (unsigned long)o[0];
  s.f_blocks = (fsblkcnt_t)o[1];
  s.f_bfree = (fsblkcnt_t)o[2];
  s.f_bavail = (fsblkcnt_t)o[3];
  s.f_files = (fsfilcnt_t)o[4];
  s.f_ffree = (fsfilcnt_t)o[5];
  s.f_favail = (fsfilcnt_t)o[5];
  s.f_namemax = (unsigned long)o[6];
  s.f_frsize = (unsigned long)o[7];
  fuse_reply_statfs(req, &s);
  REPLY_END
}

// Fills a readdir reply with entries from add(req, i, buf, room), which
// returns the room entry i needs (fuse_add_direntry*), until one does not
// fit; returns how many went in (-1: the request is gone).
template <typename Add>
Napi::Value FillDir(const Napi::CallbackInfo& info, uint32_t n, Add add) {
  Napi::Env env = info.Env();
  std::lock_guard<std::mutex> g(reqMu);
  fuse_req_t req = Take(info);
  if (!req) return Napi::Number::New(env, -1);
  size_t size = (size_t)info[1].As<Napi::Number>().Int64Value();
  std::vector<char> buf(size);
  size_t used = 0;
  uint32_t i = 0;
  for (; i < n; i++) {
    size_t need = add(req, i, buf.data() + used, size - used);
    if (need > size - used) break;
    used += need;
  }
  fuse_reply_buf(req, buf.data(), used);
  return Napi::Number::New(env, i);
}

// replyDir(id, size, names, inos, types, offs)
Napi::Value ReplyDir(const Napi::CallbackInfo& info) {
  Napi::Array names = info[2].As<Napi::Array>();
  const double* inos = info[3].As<Napi::Float64Array>().Data();
  const uint8_t* types = info[4].As<Napi::Uint8Array>().Data();
  const double* offs = info[5].As<Napi::Float64Array>().Data();
  return FillDir(info, names.Length(), [&](fuse_req_t req, uint32_t i, char* buf, size_t room) {
    std::string name = Latin1(names.Get(i));
    struct stat st;
    memset(&st, 0, sizeof st);
    st.st_ino = (ino_t)inos[i];
    st.st_mode = (mode_t)types[i] << 12;
    return fuse_add_direntry(req, buf, room, name.c_str(), &st, (off_t)offs[i]);
  });
}

// replyDirPlus(id, size, names, offs, nodeids, attrs[], entryTimeouts, attrTimeouts):
// JS has already counted which entries fit (and looked them up); a nodeid
// of 0 marks "." and "..", for which the kernel takes no reference.
Napi::Value ReplyDirPlus(const Napi::CallbackInfo& info) {
  Napi::Array names = info[2].As<Napi::Array>();
  const double* offs = info[3].As<Napi::Float64Array>().Data();
  const double* nodeids = info[4].As<Napi::Float64Array>().Data();
  Napi::Array attrs = info[5].As<Napi::Array>();
  const double* ets = info[6].As<Napi::Float64Array>().Data();
  const double* ats = info[7].As<Napi::Float64Array>().Data();
  return FillDir(info, names.Length(), [&](fuse_req_t req, uint32_t i, char* buf, size_t room) {
    std::string name = Latin1(names.Get(i));
    struct fuse_entry_param e;
    memset(&e, 0, sizeof e);
    e.ino = (fuse_ino_t)nodeids[i];
    ToStat(attrs.Get(i), &e.attr);
    e.entry_timeout = ets[i];
    e.attr_timeout = ats[i];
    return fuse_add_direntry_plus(req, buf, room, name.c_str(), &e, (off_t)offs[i]);
  });
}

// Drops the kernel's cached attributes of a node (offset -1: attributes only,
// so no page lock is taken and no request of ours is waited for).
Napi::Value NotifyInvalInode(const Napi::CallbackInfo& info) {
  if (!se || ended) return info.Env().Undefined();
  fuse_lowlevel_notify_inval_inode(se, (fuse_ino_t)info[0].As<Napi::Number>().Int64Value(), -1, 0);
  return info.Env().Undefined();
}

// fastSet(nodeid, dirfd, name, attr, attrTimeout, openable)
Napi::Value FastSet(const Napi::CallbackInfo& info) {
  FastNode f;
  f.dirfd = info[1].As<Napi::Number>().Int32Value();
  f.name = Latin1(info[2]);
  ToStat(info[3], &f.attr);
  f.attrTimeout = info[4].As<Napi::Number>().DoubleValue();
  f.openable = info[5].ToBoolean();
  f.upper = false;
  f.ino = (double)f.attr.st_ino;
  std::unique_lock<std::shared_mutex> g(fastMu);
  fastNodes[(uint64_t)info[0].As<Napi::Number>().Int64Value()] = std::move(f);
  return info.Env().Undefined();
}

// fastSetUpper(nodeid, dirfd, name, ino, attrTimeout)
Napi::Value FastSetUpper(const Napi::CallbackInfo& info) {
  FastNode f;
  f.dirfd = info[1].As<Napi::Number>().Int32Value();
  f.name = Latin1(info[2]);
  f.ino = info[3].As<Napi::Number>().DoubleValue();
  f.attrTimeout = info[4].As<Napi::Number>().DoubleValue();
  f.openable = true;
  f.upper = true;
  memset(&f.attr, 0, sizeof f.attr);
  std::unique_lock<std::shared_mutex> g(fastMu);
  fastNodes[(uint64_t)info[0].As<Napi::Number>().Int64Value()] = std::move(f);
  return info.Env().Undefined();
}

Napi::Value FastDrop(const Napi::CallbackInfo& info) {
  std::unique_lock<std::shared_mutex> g(fastMu);
  fastNodes.erase((uint64_t)info[0].As<Napi::Number>().Int64Value());
  return info.Env().Undefined();
}

// fusePause(on): stop (or let go) new changes to the upper layer.
Napi::Value Pause(const Napi::CallbackInfo& info) {
  std::lock_guard<std::mutex> l(pauseMu);
  paused = info[0].ToBoolean();
  pauseCv.notify_all();
  return info.Env().Undefined();
}

// fuseInflight(): changes under way (0 once a pause has taken hold).
Napi::Value Inflight(const Napi::CallbackInfo& info) {
  std::lock_guard<std::mutex> l(pauseMu);
  return Napi::Number::New(info.Env(), inflight);
}

}  // namespace

void InitFuseSession(Napi::Env env, Napi::Object e) {
  struct { const char* name; Napi::Function::Callback fn; } fns[] = {
      {"fuseMount", Mount},         {"fuseUnmount", Unmount},       {"replyErr", ReplyErr},
      {"replyEntry", ReplyEntry},   {"replyCreate", ReplyCreate},   {"replyAttr", ReplyAttr},
      {"replyReadlink", ReplyReadlink}, {"replyOpen", ReplyOpen},   {"replyBuf", ReplyBuf},
      {"replyXattrSize", ReplyXattrSize}, {"replyStatfs", ReplyStatfs}, {"replyDir", ReplyDir},
      {"replyDirPlus", ReplyDirPlus},
      {"notifyInvalInode", NotifyInvalInode}, {"fastSet", FastSet},
      {"fastSetUpper", FastSetUpper},
      {"fusePause", Pause}, {"fuseInflight", Inflight}, {"fastDrop", FastDrop},
  };
  for (auto& f : fns) e.Set(f.name, Napi::Function::New(env, f.fn, f.name));
}

}  // namespace strata
