// FUSE passthrough through libfuse's custom I/O hooks (see passthrough.h).
#include "passthrough.h"

#include <fcntl.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <mutex>
#include <unordered_map>

namespace strata {
namespace {

// --- the wire, from the kernel's include/uapi/linux/fuse.h (protocol 7.40+).
// Debian 12's /usr/include/linux/fuse.h (6.1) and libfuse 3.14 predate
// passthrough, so what is needed is declared here.
struct WireInHeader {
  uint32_t len, opcode;
  uint64_t unique, nodeid;
  uint32_t uid, gid, pid;
  uint16_t total_extlen, padding;
};
struct WireOutHeader {
  uint32_t len;
  int32_t error;
  uint64_t unique;
};
struct WireInitIn {  // the prefix we read
  uint32_t major, minor, max_readahead, flags, flags2;
};
struct WireInitOut {  // the prefix we patch
  uint32_t major, minor, max_readahead, flags;
  uint16_t max_background, congestion_threshold;
  uint32_t max_write, time_gran;
  uint16_t max_pages, map_alignment;
  uint32_t flags2, max_stack_depth;
};
struct WireOpenOut {
  uint64_t fh;
  uint32_t open_flags;
  int32_t backing_id;  // was `padding` before 7.40
};
struct WireBackingMap {
  int32_t fd;
  uint32_t flags;
  uint64_t padding;
};
static_assert(sizeof(WireInHeader) == 40 && sizeof(WireOutHeader) == 16 && sizeof(WireOpenOut) == 16, "fuse.h layout");
static_assert(sizeof(WireInitOut) == 40 && sizeof(WireBackingMap) == 16, "fuse.h layout");

constexpr uint32_t kOpInit = 26;
constexpr uint32_t kInitExt = 1u << 30;          // FUSE_INIT_EXT: flags2 is read
constexpr uint32_t kWritebackCache = 1u << 16;   // FUSE_WRITEBACK_CACHE
constexpr uint32_t kPassthrough2 = 1u << (37 - 32);  // FUSE_PASSTHROUGH (1ULL << 37), in flags2
constexpr uint32_t kOpenKeepCache = 1u << 1;     // FOPEN_KEEP_CACHE
constexpr uint32_t kOpenPassthrough = 1u << 7;   // FOPEN_PASSTHROUGH
constexpr unsigned long kIocBackingOpen = _IOW(229, 1, WireBackingMap);   // FUSE_DEV_IOC_BACKING_OPEN
constexpr unsigned long kIocBackingClose = _IOW(229, 2, uint32_t);        // FUSE_DEV_IOC_BACKING_CLOSE

// Backing files must sit on a filesystem of stack depth < this; the mount
// itself gets this depth. 1 keeps a strata mount usable as a lower or upper
// of kernel overlayfs (which adds one, to the limit of 2); backing files on
// an overlay or another FUSE mount get ELOOP and take the cached path.
constexpr uint32_t kMaxStackDepth = 1;

// --- session state ----------------------------------------------------------

int devFd = -1;
bool debug = false;
std::atomic<bool> allowLowers{false};
std::atomic<uint64_t> initUnique{0};  // the INIT request, until its reply is patched
std::atomic<bool> offered{false};     // the kernel offered FUSE_PASSTHROUGH
std::atomic<bool> enabled{false};     // and our INIT reply took it

// The reply this thread is writing is an open reply to mark with this
// backing id (libfuse writes a reply on the thread that makes it).
thread_local int32_t markBacking = 0;

struct NodeIo {
  int32_t backingId = 0;
  uint32_t passthrough = 0, cached = 0;
};
struct FileIo {
  uint64_t ino;
  bool passthrough;
};
// ioMu guards everything below; a leaf lock (session-locks.h).
std::mutex ioMu;
bool denied = false;  // BACKING_OPEN said EPERM: no CAP_SYS_ADMIN
std::unordered_map<uint64_t, NodeIo> nodes;
std::unordered_map<int, FileIo> files;
uint64_t nPassthrough = 0, nCached = 0, nBackingOpens = 0, nFailed = 0;
int lastError = 0;

ssize_t HookRead(int fd, void* buf, size_t len, void*) {
  ssize_t n = read(fd, buf, len);
  if (n >= (ssize_t)(sizeof(WireInHeader) + sizeof(WireInitIn))) {
    const auto* h = static_cast<const WireInHeader*>(buf);
    if (h->opcode == kOpInit) {
      const auto* in = reinterpret_cast<const WireInitIn*>(h + 1);
      offered = (in->flags & kInitExt) && (in->flags2 & kPassthrough2);
      initUnique = h->unique;
    }
  }
  return n;
}

// Writes the reply with its last iovec replaced by a patched copy (the
// caller's buffers stay as libfuse made them).
ssize_t WritePatched(int fd, const struct iovec* iov, int count, void* patched) {
  struct iovec v[8];
  if (count > 8) return writev(fd, iov, count);
  memcpy(v, iov, sizeof(struct iovec) * count);
  v[count - 1].iov_base = patched;
  return writev(fd, v, count);
}

ssize_t HookWritev(int fd, struct iovec* iov, int count, void*) {
  if (count < 2 || iov[0].iov_len != sizeof(WireOutHeader)) return writev(fd, iov, count);
  const auto* h = static_cast<const WireOutHeader*>(iov[0].iov_base);
  struct iovec& last = iov[count - 1];
  if (markBacking > 0 && h->error == 0 && last.iov_len >= sizeof(WireOpenOut) && last.iov_len <= 256) {
    // An OPEN reply (fuse_open_out) or a CREATE reply (fuse_entry_out, then
    // fuse_open_out): the open part is the payload's tail either way.
    char b[256];
    memcpy(b, last.iov_base, last.iov_len);
    auto* o = reinterpret_cast<WireOpenOut*>(b + last.iov_len - sizeof(WireOpenOut));
    o->open_flags = (o->open_flags & ~kOpenKeepCache) | kOpenPassthrough;
    o->backing_id = markBacking;
    return WritePatched(fd, iov, count, b);
  }
  uint64_t init = initUnique.load();
  if (init && h->unique == init && h->error == 0 && last.iov_len >= sizeof(WireInitOut) && last.iov_len <= 256) {
    initUnique = 0;
    char b[256];
    memcpy(b, last.iov_base, last.iov_len);
    auto* o = reinterpret_cast<WireInitOut*>(b);
    // The kernel refuses passthrough with the writeback cache (never asked
    // for here) and reads flags2 only under FUSE_INIT_EXT.
    // libfuse replies with its own minor (7.36); the kernel reads these
    // fields by flag, not by minor.
    if (offered && !(o->flags & kWritebackCache)) {
      if (!(o->flags & kInitExt)) o->flags2 = 0;
      o->flags |= kInitExt;
      o->flags2 |= kPassthrough2;
      o->max_stack_depth = kMaxStackDepth;
      enabled = true;
      if (debug) fprintf(stderr, "strata: INIT passthrough on (max_stack_depth=%u)\n", kMaxStackDepth);
      return WritePatched(fd, iov, count, b);
    }
    if (debug) fprintf(stderr, "strata: INIT passthrough off (offered=%d)\n", (int)offered.load());
  }
  return writev(fd, iov, count);
}

// Registers fd's open of `ino`; returns the backing id to reply with, 0 for
// the cached path, -EIO where the kernel would refuse either.
int32_t Begin(uint64_t ino, int fd, bool eligible) {
  std::lock_guard<std::mutex> g(ioMu);
  NodeIo& n = nodes[ino];
  int32_t id = 0;
  if (eligible && enabled && !denied && n.cached == 0) {
    if (n.backingId > 0) {
      id = n.backingId;
    } else {
      WireBackingMap map = {fd, 0, 0};
      int r = ioctl(devFd, kIocBackingOpen, &map);
      if (r > 0) {
        id = n.backingId = r;
        nBackingOpens++;
      } else {
        lastError = errno;
        nFailed++;
        if (errno == EPERM) denied = true;
        if (debug) fprintf(stderr, "strata: passthrough of fd %d: %s%s\n", fd, strerror(errno), denied ? " (no more tries)" : "");
      }
    }
  }
  // Already open for passthrough (an upper open that won a race with this
  // open's copy-up, or a refused ioctl): the kernel takes no other mode, and
  // the node's backing file, the upper one, is what this open must read.
  if (id == 0 && n.passthrough > 0) {
    if (n.backingId <= 0) return -EIO;
    id = n.backingId;
  }
  if (id) { n.passthrough++; nPassthrough++; }
  else { n.cached++; nCached++; }
  files[fd] = FileIo{ino, id != 0};
  return id;
}

int32_t Begin(uint64_t ino, struct fuse_file_info* fi, bool eligible) {
  int32_t id = Begin(ino, (int)fi->fh, eligible);
  if (id > 0) {
    fi->keep_cache = 0;  // the kernel refuses FOPEN_KEEP_CACHE with passthrough
    // A file open for writing keeps its reads and writes on the daemon
    // (FOPEN_DIRECT_IO beside FOPEN_PASSTHROUGH: only mmap goes to the
    // backing file), so the pause gate holds its writes as before. The node
    // stays in passthrough mode, so its read-only opens still pass through.
    int fl = fcntl((int)fi->fh, F_GETFL);
    if (fl < 0 || (fl & O_ACCMODE) != O_RDONLY) fi->direct_io = 1;
  }
  return id;
}

// Replies spliced from a backing file (READ) go out as libfuse would send
// them; without this hook libfuse 3.14 takes a custom io as unable to
// splice and copies every READ through a fresh buffer instead.
ssize_t HookSpliceSend(int fdin, off_t* offin, int fdout, off_t* offout, size_t len, unsigned int flags, void*) {
  return splice(fdin, offin, fdout, offout, len, flags);
}

}  // namespace

void PassthroughInstall(struct fuse_session* se, bool dbg) {
  static const struct fuse_custom_io io = {HookWritev, HookRead, nullptr, HookSpliceSend};
  debug = dbg;
  devFd = fuse_session_fd(se);
  if (fuse_session_custom_io(se, &io, devFd) != 0 && debug) fprintf(stderr, "strata: fuse_session_custom_io failed: passthrough off\n");
}

void PassthroughAllowLowers(bool allow) { allowLowers = allow; }
bool PassthroughLowersAllowed() { return allowLowers; }

int PassthroughReplyOpen(fuse_req_t req, uint64_t ino, struct fuse_file_info* fi, bool eligible) {
  int32_t id = Begin(ino, fi, eligible);
  if (id < 0) {
    PassthroughRelease((int)fi->fh);
    fuse_reply_err(req, -id);
    return id;
  }
  markBacking = id;
  int r = fuse_reply_open(req, fi);
  markBacking = 0;
  if (r < 0) PassthroughRelease((int)fi->fh);
  return r;
}

int PassthroughReplyCreate(fuse_req_t req, const struct fuse_entry_param* e, struct fuse_file_info* fi, bool eligible) {
  int32_t id = Begin(e->ino, fi, eligible);
  if (id < 0) {
    PassthroughRelease((int)fi->fh);
    fuse_reply_err(req, -id);
    return id;
  }
  markBacking = id;
  int r = fuse_reply_create(req, e, fi);
  markBacking = 0;
  if (r < 0) PassthroughRelease((int)fi->fh);
  return r;
}

void KillPrivOnWrite(fuse_req_t req, int fd) {
  if (fuse_req_ctx(req)->uid == 0) return;
  struct stat st;
  if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) return;
  mode_t kill = st.st_mode & S_ISUID;
  if ((st.st_mode & S_ISGID) && (st.st_mode & S_IXGRP)) kill |= S_ISGID;
  if (kill) fchmod(fd, st.st_mode & 07777 & ~kill);
}

void PassthroughRelease(int fd) {
  std::lock_guard<std::mutex> g(ioMu);
  auto f = files.find(fd);
  if (f == files.end()) return;
  auto n = nodes.find(f->second.ino);
  if (n != nodes.end()) {
    NodeIo& io = n->second;
    if (f->second.passthrough && io.passthrough) io.passthrough--;
    else if (!f->second.passthrough && io.cached) io.cached--;
    // The kernel has ended this file's io mode before sending RELEASE
    // (fuse_file_put): with no passthrough open left, no opener still
    // needs the id.
    if (io.passthrough == 0 && io.backingId > 0) {
      uint32_t id = (uint32_t)io.backingId;
      if (ioctl(devFd, kIocBackingClose, &id) < 0 && debug) fprintf(stderr, "strata: backing close %u: %s\n", id, strerror(errno));
      io.backingId = 0;
    }
    if (io.passthrough == 0 && io.cached == 0) nodes.erase(n);
  }
  files.erase(f);
}

void PassthroughReset() {
  std::lock_guard<std::mutex> g(ioMu);
  nodes.clear();
  files.clear();
  denied = false;
  enabled = false;
  offered = false;
  initUnique = 0;
  devFd = -1;
}

Napi::Value PassthroughStats(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Object o = Napi::Object::New(env);
  std::lock_guard<std::mutex> g(ioMu);
  o.Set("offered", Napi::Boolean::New(env, offered));
  o.Set("enabled", Napi::Boolean::New(env, enabled));
  o.Set("denied", Napi::Boolean::New(env, denied));
  o.Set("lowers", Napi::Boolean::New(env, allowLowers));
  o.Set("passthroughOpens", Napi::Number::New(env, (double)nPassthrough));
  o.Set("cachedOpens", Napi::Number::New(env, (double)nCached));
  o.Set("backingOpens", Napi::Number::New(env, (double)nBackingOpens));
  o.Set("failed", Napi::Number::New(env, (double)nFailed));
  o.Set("lastError", Napi::Number::New(env, lastError));
  return o;
}

Napi::Value PassthroughAllowLowersJs(const Napi::CallbackInfo& info) {
  PassthroughAllowLowers(info[0].ToBoolean());
  return info.Env().Undefined();
}

}  // namespace strata
