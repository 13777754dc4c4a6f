// One session per process (a daemon serves one mount).
//
// Threads: libfuse's multithreaded loop reads requests; metadata requests are
// queued to the JS thread through a thread-safe function and answered later
// by the reply* functions, so any number are in flight at once. A file's
// fi->fh is the backing file descriptor JS (or the fast path) opened; the
// data ops use it directly on the loop threads. A lower file's fd is made
// to read the upper copy once the file is copied up (lower-opens.h). Every
// file open is answered through passthrough.h, which lets the kernel read
// the backing file itself where that keeps the overlay's view.
// Requests reach JS as native/fuse-requests.json declares them (generated
// into fuse-requests.h and src/native/fuse-requests.ts).
//
// Invariants: every request that goes to JS is registered in `reqs` under
// an id; a reply removes it, so a second reply (or one after the session
// ended) finds nothing and cannot touch a freed request. `reqMu` is held
// while replying to JS-owned requests and while the loop thread tears the
// session down, which orders teardown after every reply in progress.
#include "fuse-session.h"
#include "dir-opens.h"
#include "errors.h"
#include "fuse-requests.h"
#include "lower-opens.h"
#include "passthrough.h"
#include "pause-gate.h"
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
#include <algorithm>
#include <vector>

namespace strata {
namespace {

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
  uint64_t ino;
};
std::unordered_map<uint64_t, Pending> reqs;

// Lock order: reqMu, then pauseMu (pause-gate.cc); fastMu (shared on loop threads, exclusive
// on the JS thread), then the lower-open registry's lock (lower-opens.cc). No thread waits on the pause gate
// (pauseMu) while holding fastMu: the JS thread takes fastMu exclusively and
// is the one that ends a pause. A dir fd read from fastNodes is used only
// under fastMu (or dup'ed first), since JS closes it after dropping its nodes.
uint64_t nextId = 1;
bool ended = false;
bool debug = false;
bool posixAcl = false;

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

uint64_t Track(fuse_req_t req, bool mutating, uint64_t ino) {
  std::lock_guard<std::mutex> g(reqMu);
  uint64_t id = nextId++;
  reqs.emplace(id, Pending{req, mutating, ino});
  return id;
}



bool Mutating(const Call* c) {
  if (c->op == OP_OPEN) {  // a write open may copy up
    int flags = (int)static_cast<const OpenCall*>(c)->flags;
    return (flags & O_ACCMODE) != O_RDONLY || (flags & O_TRUNC);
  }
  return MutatingOp(c->op);
}

void Send(Call* c, fuse_req_t req) {
  bool mutating = req && Mutating(c);
  if (mutating) MutBegin();
  if (req) c->id = Track(req, mutating, c->ino);
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

// The creating process's fsuid/fsgid and umask (the kernel sends the umask
// because ll_init asks for FUSE_CAP_DONT_MASK).
Caller CallerOf(fuse_req_t req) {
  const struct fuse_ctx* ctx = fuse_req_ctx(req);
  Caller c;
  c.uid = ctx->uid;
  c.gid = ctx->gid;
  c.umask = ctx->umask;
  return c;
}

double Fh(struct fuse_file_info* fi) { return fi ? (double)fi->fh : -1; }

// --- operations that go to JS -------------------------------------------

void ll_init(void*, struct fuse_conn_info* conn) {
  unsigned want = FUSE_CAP_ATOMIC_O_TRUNC | FUSE_CAP_SPLICE_READ | FUSE_CAP_SPLICE_WRITE | FUSE_CAP_SPLICE_MOVE |
                  FUSE_CAP_READDIRPLUS | FUSE_CAP_PARALLEL_DIROPS | FUSE_CAP_CACHE_SYMLINKS | FUSE_CAP_ASYNC_READ |
                  // The union applies the caller's umask itself, unless the
                  // parent's default ACL decides the mode (as POSIX says).
                  FUSE_CAP_DONT_MASK;
  // The kernel checks ACLs itself (with default_permissions) and caches each
  // inode's ACLs, so `ls -l` stops asking us for system.posix_acl_access on
  // every entry. The cache stays right: lowers never change, and the upper
  // changes only through this mount (setxattr/chmod refresh it).
  if (posixAcl) want |= FUSE_CAP_POSIX_ACL;
  conn->want |= want & conn->capable;
  // Lowers are immutable and the upper changes only through us: keep the page
  // cache across opens rather than dropping it whenever mtime moves.
  conn->want &= ~FUSE_CAP_AUTO_INVAL_DATA;
  // FUSE_CAP_READDIRPLUS_AUTO stays as libfuse wants it: the kernel asks for
  // attributes on a directory's first read and after lookups in it, else a
  // plain READDIR; a plain `ls` of a cold 10k dir then stats nothing (3x
  // faster than always-plus, and find -printf no slower: bench, same run).
  conn->max_readahead = 1 << 20;
  // Big requests: libfuse's buffer holds 1 MiB of data (FUSE_MAX_MAX_PAGES).
  if (conn->max_write > (1u << 20)) conn->max_write = 1u << 20;
  if (debug) fprintf(stderr, "strata: INIT max_write=%u max_readahead=%u want=0x%x\n", conn->max_write, conn->max_readahead, conn->want);
}

void ll_lookup(fuse_req_t req, fuse_ino_t parent, const char* name) {
  auto* c = new LookupCall(parent);
  c->name = name;
  Send(c, req);
}

// Forgets wait here for the JS thread: one queued FORGET call carries every
// pair that arrives before JS takes it, from however many kernel requests
// (single FORGETs come one per request). Delay is safe: a forget only drops
// references the kernel already got, and counts add up in any order. A leaf
// lock.
std::mutex forgetMu;
std::vector<double> pendingForgets;
bool forgetQueued = false;

void QueueForgets(const struct fuse_forget_data* f, size_t count) {
  bool send;
  {
    std::lock_guard<std::mutex> g(forgetMu);
    for (size_t i = 0; i < count; i++) {
      pendingForgets.push_back((double)f[i].ino);
      pendingForgets.push_back((double)f[i].nlookup);
    }
    send = !forgetQueued;
    forgetQueued = true;
  }
  // If the call cannot be queued the session is ending: its nodes go with it.
  if (send) Send(new ForgetCall(0), nullptr);
}

// On the JS thread, as the queued FORGET call is delivered.
void TakeForgets(std::vector<double>* into) {
  std::lock_guard<std::mutex> g(forgetMu);
  into->swap(pendingForgets);
  forgetQueued = false;
}

void ll_forget(fuse_req_t req, fuse_ino_t ino, uint64_t nlookup) {
  struct fuse_forget_data f = {ino, nlookup};
  fuse_reply_none(req);
  QueueForgets(&f, 1);
}

void ll_forget_multi(fuse_req_t req, size_t count, struct fuse_forget_data* f) {
  QueueForgets(f, count);
  fuse_reply_none(req);
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
  auto* c = new GetattrCall(ino);
  c->fh = Fh(fi);
  Send(c, req);
}

// SETATTR of an upper file is a few syscalls on (dirfd, name), the same the
// union would make: done here for registered upper nodes (untar sets owner,
// mode and times on every file it writes).
bool FastSetattr(fuse_req_t req, fuse_ino_t ino, struct stat* attr, int to_set, struct fuse_file_info* fi) {
  // The pause gate first (fastMu is never held while waiting on it), then
  // fastMu for as long as dirfd is used: JS closes a dir fd only after
  // dropping its nodes under the exclusive lock.
  MutScope hold;
  std::shared_lock<std::shared_mutex> g(fastMu);
  auto it = fastNodes.find(ino);
  if (it == fastNodes.end() || !it->second.upper) return false;
  const int dirfd = it->second.dirfd;
  const double fastIno = it->second.ino, timeout = it->second.attrTimeout;
  const char* n = it->second.name.c_str();
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
  auto* c = new SetattrCall(ino);
  c->valid = to_set;
  c->fh = Fh(fi);
  FillStat(c->attr, *attr);
  Send(c, req);
}

void ll_readlink(fuse_req_t req, fuse_ino_t ino) { Send(new ReadlinkCall(ino), req); }

void ll_mknod(fuse_req_t req, fuse_ino_t parent, const char* name, mode_t mode, dev_t rdev) {
  auto* c = new MknodCall(parent);
  c->name = name;
  c->mode = mode;
  c->rdev = (double)rdev;
  c->caller = CallerOf(req);
  Send(c, req);
}

void ll_mkdir(fuse_req_t req, fuse_ino_t parent, const char* name, mode_t mode) {
  auto* c = new MkdirCall(parent);
  c->name = name;
  c->mode = mode;
  c->caller = CallerOf(req);
  Send(c, req);
}

void ll_unlink(fuse_req_t req, fuse_ino_t parent, const char* name) {
  auto* c = new UnlinkCall(parent);
  c->name = name;
  Send(c, req);
}

void ll_rmdir(fuse_req_t req, fuse_ino_t parent, const char* name) {
  auto* c = new RmdirCall(parent);
  c->name = name;
  Send(c, req);
}

void ll_symlink(fuse_req_t req, const char* link, fuse_ino_t parent, const char* name) {
  auto* c = new SymlinkCall(parent);
  c->name = name;
  c->target = link;
  c->caller = CallerOf(req);
  Send(c, req);
}

void ll_rename(fuse_req_t req, fuse_ino_t parent, const char* name, fuse_ino_t newparent, const char* newname,
               unsigned int flags) {
  auto* c = new RenameCall(parent);
  c->name = name;
  c->newName = newname;
  c->newParent = (double)newparent;
  c->flags = flags;
  Send(c, req);
}

void ll_link(fuse_req_t req, fuse_ino_t ino, fuse_ino_t newparent, const char* newname) {
  auto* c = new LinkCall(ino);
  c->newName = newname;
  c->newParent = (double)newparent;
  Send(c, req);
}

void ll_open(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info* fi) {
  bool readOnly = (fi->flags & O_ACCMODE) == O_RDONLY && !(fi->flags & O_TRUNC);
  // The kernel gives write offsets: no O_APPEND on the backing fd.
  int flags = (fi->flags & ~(O_CREAT | O_EXCL | O_APPEND | O_NOCTTY | O_DIRECT)) | O_NOFOLLOW | O_CLOEXEC;
  int fd = -1;
  bool lower = false;
  {
    std::shared_lock<std::shared_mutex> g(fastMu);
    auto it = fastNodes.find(ino);
    if (it == fastNodes.end() || !it->second.openable || !(readOnly || it->second.upper)) {
      g.unlock();
      auto* c = new OpenCall(ino);
      c->flags = fi->flags;
      Send(c, req);
      return;
    }
    lower = !it->second.upper;
    if (lower || !(flags & O_TRUNC)) {
      // A lower open keeps fastMu until its fd is registered: a copy-up
      // drops the node from fastNodes (exclusively) first, so its re-open
      // finds every fd.
      fd = openat(it->second.dirfd, it->second.name.c_str(), flags);
      if (fd >= 0 && lower) AddLowerOpen(ino, fd);
    } else {
      // O_TRUNC changes the file: it waits for a pause like a write, and
      // never with fastMu held. The dir fd is dup'ed to outlive the lock.
      int dirfd = fcntl(it->second.dirfd, F_DUPFD_CLOEXEC, 0);
      std::string name = it->second.name;
      g.unlock();
      if (dirfd >= 0) {
        MutScope hold;
        fd = openat(dirfd, name.c_str(), flags);
        int err = errno;
        close(dirfd);
        errno = err;
      }
    }
  }
  if (fd < 0) {
    fuse_reply_err(req, errno);
    return;
  }
  fi->fh = (uint64_t)fd;
  fi->keep_cache = lower;  // immutable lowers keep the page cache across opens
  if (PassthroughReplyOpen(req, ino, fi, !lower || PassthroughLowersAllowed()) < 0) {
    if (lower) DropLowerOpen(fd);
    close(fd);
  }
}

void ll_create(fuse_req_t req, fuse_ino_t parent, const char* name, mode_t mode, struct fuse_file_info* fi) {
  auto* c = new CreateCall(parent);
  c->name = name;
  c->mode = mode;
  c->flags = fi->flags;
  c->caller = CallerOf(req);
  Send(c, req);
}

void ll_opendir(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info* fi) {
  // An interrupted reply needs no cleanup: the handle holds nothing yet.
  if (OpenDirNative(ino, fi)) { fuse_reply_open(req, fi); return; }
  auto* c = new OpendirCall(ino);
  c->flags = fi->flags;
  Send(c, req);
}

template <typename C>
void SendReaddir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off, struct fuse_file_info* fi) {
  if (fi && ReaddirAtEndNative(req, fi->fh, off)) return;
  if (fi) DirHandleToJs(fi->fh);
  auto* c = new C(ino);
  c->size = (double)size;
  c->offset = (double)off;
  c->fh = Fh(fi);
  Send(c, req);
}
void ll_readdir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off, struct fuse_file_info* fi) {
  SendReaddir<ReaddirCall>(req, ino, size, off, fi);
}
void ll_readdirplus(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off, struct fuse_file_info* fi) {
  SendReaddir<ReaddirplusCall>(req, ino, size, off, fi);
}

void ll_releasedir(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info* fi) {
  if (fi && ReleaseDirNative(fi->fh)) { fuse_reply_err(req, 0); return; }
  auto* c = new ReleasedirCall(ino);
  c->fh = Fh(fi);
  fuse_reply_err(req, 0);
  Send(c, nullptr);
}

void ll_fsyncdir(fuse_req_t req, fuse_ino_t ino, int datasync, struct fuse_file_info* fi) {
  auto* c = new FsyncdirCall(ino);
  c->datasync = datasync;
  c->fh = Fh(fi);
  Send(c, req);
}

void ll_statfs(fuse_req_t req, fuse_ino_t ino) { Send(new StatfsCall(ino), req); }

void ll_setxattr(fuse_req_t req, fuse_ino_t ino, const char* name, const char* value, size_t size, int flags) {
  auto* c = new SetxattrCall(ino);
  c->name = name;
  c->value.assign(value, value + size);
  c->flags = flags;
  Send(c, req);
}

// A fast-path file's (dirfd, name); `g` (fastMu, shared) must stay held
// while dirfd is used.
bool FastFile(const std::shared_lock<std::shared_mutex>& g, fuse_ino_t ino, int* dirfd, std::string* name) {
  auto it = fastNodes.find(ino);
  if (it == fastNodes.end() || it->second.dirfd < 0) return false;
  *dirfd = it->second.dirfd;
  *name = it->second.name;
  return true;
}

// The overlay's private xattr names (trusted.overlay. or, for userxattr and
// rootless mounts, user.overlay.): given by the union (whiteout.ts) before
// the mount, so that both sides hide the same names. Read-only once serving.
std::string privatePrefix = "trusted.overlay.";
bool IsPrivateXattr(const char* name) { return strncmp(name, privatePrefix.c_str(), privatePrefix.size()) == 0; }

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
  std::shared_lock<std::shared_mutex> g(fastMu);
  if (FastFile(g, ino, &dirfd, &file)) {
    // Overlay-internal names are invisible (the union answers the same).
    if (IsPrivateXattr(name)) { fuse_reply_err(req, EOPNOTSUPP); return; }
    std::string path = "/proc/self/fd/" + std::to_string(dirfd) + "/" + file;
    ReplyXattrData(req, size, [&](char* b, size_t n) { return lgetxattr(path.c_str(), name, b, n); });
    return;
  }
  g.unlock();
  auto* c = new GetxattrCall(ino);
  c->name = name;
  c->size = (double)size;
  Send(c, req);
}

void ll_listxattr(fuse_req_t req, fuse_ino_t ino, size_t size) {
  int dirfd;
  std::string file;
  std::shared_lock<std::shared_mutex> g(fastMu);
  if (FastFile(g, ino, &dirfd, &file)) {
    std::string path = "/proc/self/fd/" + std::to_string(dirfd) + "/" + file;
    ssize_t n = llistxattr(path.c_str(), nullptr, 0);
    std::vector<char> all(n > 0 ? (size_t)n : 0);
    if (n > 0) n = llistxattr(path.c_str(), all.data(), all.size());
    if (n < 0) { fuse_reply_err(req, errno); return; }
    std::string shown;
    for (ssize_t i = 0; i < n;) {
      const char* x = all.data() + i;
      size_t len = strnlen(x, (size_t)(n - i));
      if (len && !IsPrivateXattr(x)) shown.append(x, len + 1);
      i += (ssize_t)len + 1;
    }
    if (size == 0) fuse_reply_xattr(req, shown.size());
    else if (shown.size() > size) fuse_reply_err(req, ERANGE);
    else fuse_reply_buf(req, shown.data(), shown.size());
    return;
  }
  g.unlock();
  auto* c = new ListxattrCall(ino);
  c->size = (double)size;
  Send(c, req);
}

void ll_removexattr(fuse_req_t req, fuse_ino_t ino, const char* name) {
  auto* c = new RemovexattrCall(ino);
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

struct fuse_lowlevel_ops ops;

// --- JS side ----------------------------------------------------------------


void CallJs(Napi::Env env, Napi::Function fn, std::nullptr_t*, Call* c) {
  if (env == nullptr || fn.IsEmpty()) { delete c; return; }
  std::vector<napi_value> a;
  a.push_back(Napi::Number::New(env, c->op));
  a.push_back(Napi::Number::New(env, (double)c->id));
  a.push_back(Napi::Number::New(env, (double)c->ino));
  if (c->op == OP_FORGET) TakeForgets(&static_cast<ForgetCall*>(c)->forgets);
  c->Push(env, a);
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
    PassthroughReset();
  }
  auto* c = new ExitCall(0);
  c->code = rc;
  tsfn.BlockingCall(c);
  tsfn.Release();
}

// fuseMount(mountpoint, options, dispatch, debug, noFsync, posixAcl, privatePrefix): mounts and starts serving.
Napi::Value Mount(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (se || loopThread.joinable()) { ThrowUsage(env, "a FUSE session is already running in this process"); return env.Undefined(); }
  mountpoint = Latin1(info[0]);
  if (info.Length() > 6 && info[6].IsString()) privatePrefix = Latin1(info[6]);
  std::string opts = Latin1(info[1]);
  debug = info.Length() > 3 && info[3].ToBoolean();
  // volatile / fsync=0: without fsync handlers the kernel stops sending them
  // (ENOSYS once) and fsync(2) succeeds without touching the upper.
  bool noFsync = info.Length() > 4 && info[4].ToBoolean();
  posixAcl = info.Length() > 5 && info[5].ToBoolean();
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
  PassthroughInstall(se, debug);
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
fuse_req_t Take(const Napi::CallbackInfo& info, uint64_t* ino = nullptr) {
  uint64_t id = (uint64_t)info[0].As<Napi::Number>().Int64Value();
  auto it = reqs.find(id);
  if (it == reqs.end()) return nullptr;
  fuse_req_t r = it->second.req;
  if (ino) *ino = it->second.ino;
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

// Open flags from JS (OPEN_* in src/native/binding.ts): bit 1 keep_cache,
// bit 8 cache_readdir, bit 16 a lower file's fd (re-opened at copy-up),
// bit 32 a regular file's backing fd (not a directory handle).
void ToOpen(uint32_t bits, double fh, struct fuse_file_info* fi) {
  memset(fi, 0, sizeof *fi);
  fi->fh = (uint64_t)fh;
  fi->keep_cache = (bits & 1) != 0;
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
  // A new file is an upper one: passed through where the kernel lets us.
  if (PassthroughReplyCreate(req, &e, &fi, true) < 0) close((int)fi.fh);  // the caller was interrupted
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
  std::lock_guard<std::mutex> g(reqMu);
  uint64_t ino = 0;
  fuse_req_t req = Take(info, &ino);
  if (!req) return Napi::Boolean::New(info.Env(), false);
  uint32_t bits = info[2].As<Napi::Number>().Uint32Value();
  struct fuse_file_info fi;
  ToOpen(bits, info[1].As<Napi::Number>().DoubleValue(), &fi);
  bool lower = (bits & 16) != 0;
  bool file = (bits & 32) != 0;
  if (lower) AddLowerOpen(ino, (int)fi.fh);
  int r = file ? PassthroughReplyOpen(req, ino, &fi, !lower || PassthroughLowersAllowed()) : fuse_reply_open(req, &fi);
  bool closeOnFail = info.Length() > 3 && info[3].ToBoolean();
  // -ENOENT: the opener was interrupted; for a file, any failure (its
  // registration already undone) leaves the fd to us.
  if (r < 0 && closeOnFail && (r == -ENOENT || file)) {
    if (lower) DropLowerOpen((int)fi.fh);
    close((int)fi.fh);
  }
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
  // reqMu: RunLoop destroys the session under it.
  std::lock_guard<std::mutex> g(reqMu);
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
      {"reopenLower", ReopenLower},
      {"passthroughStats", PassthroughStats}, {"passthroughAllowLowers", PassthroughAllowLowersJs},
      {"fusePause", Pause}, {"fuseInflight", Inflight}, {"fastDrop", FastDrop},
  };
  for (auto& f : fns) e.Set(f.name, Napi::Function::New(env, f.fn, f.name));
  e.Set("fuseRequestsDigest", Napi::String::New(env, kFuseRequestsDigest));
}

}  // namespace strata
