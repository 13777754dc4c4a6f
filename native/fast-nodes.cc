// The native fast path (see fast-nodes.h).
#include "fast-nodes.h"
#include "attr-rules.h"
#include "entry-index.h"
#include "errors.h"
#include "js-requests.h"
#include "lower-opens.h"
#include "passthrough.h"
#include "pause-gate.h"
#include "syscalls.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <atomic>
#include <climits>
#include <cerrno>
#include <cstring>
#include <functional>
#include <shared_mutex>
#include <string>
#include <unordered_map>
#include <vector>

namespace strata {
namespace {

// A lower node's attributes as a reply carries them: struct stat less
// st_dev and its padding, 80 bytes instead of 144. The table holds one per
// node of a walked tree (35.9k after a find of the bench tree).
struct PackedAttr {
  uint64_t size, blocks, rdev;
  int64_t atime, mtime, ctime;
  uint32_t atimeNs, mtimeNs, ctimeNs;
  uint32_t mode, nlink, uid, gid, blksize;

  void Pack(const struct stat& st) {
    size = (uint64_t)st.st_size;
    blocks = (uint64_t)st.st_blocks;
    rdev = st.st_rdev;
    atime = st.st_atim.tv_sec;
    mtime = st.st_mtim.tv_sec;
    ctime = st.st_ctim.tv_sec;
    atimeNs = (uint32_t)st.st_atim.tv_nsec;
    mtimeNs = (uint32_t)st.st_mtim.tv_nsec;
    ctimeNs = (uint32_t)st.st_ctim.tv_nsec;
    mode = st.st_mode;
    nlink = st.st_nlink > UINT32_MAX ? UINT32_MAX : (uint32_t)st.st_nlink;
    uid = st.st_uid;
    gid = st.st_gid;
    blksize = (uint32_t)st.st_blksize;
  }

  void Unpack(uint64_t ino, struct stat* st) const {
    memset(st, 0, sizeof *st);
    st->st_ino = ino;
    st->st_size = (off_t)size;
    st->st_blocks = (blkcnt_t)blocks;
    st->st_rdev = rdev;
    st->st_atim = {atime, atimeNs};
    st->st_mtim = {mtime, mtimeNs};
    st->st_ctim = {ctime, ctimeNs};
    st->st_mode = mode;
    st->st_nlink = nlink;
    st->st_uid = uid;
    st->st_gid = gid;
    st->st_blksize = blksize;
  }
};

struct FastNode {
  // Empty for an upper directory: dirfd is then its own fd.
  std::string name;
  PackedAttr attr;  // lower nodes only
  double attrTimeout;
  double ino;
  int dirfd;
  // An upper directory's link count as the union counts it (a merged
  // directory's 2 + subdirectories; static_nlink's 1), or 0 for the
  // backing file's own.
  uint32_t nlink;
  bool openable;
  bool upper;
  // An upper directory that is all of its union directory (no lower part):
  // a name it lacks is in no layer.
  bool alone = false;
};

// The live attributes of an upper node, as the union would answer them.
int UpperStat(const FastNode& f, struct stat* st) {
  int r = f.name.empty() ? fstat(f.dirfd, st) : fstatat(f.dirfd, f.name.c_str(), st, AT_SYMLINK_NOFOLLOW);
  if (r < 0) return errno;
  st->st_ino = (ino_t)f.ino;
  if (f.nlink) st->st_nlink = f.nlink;
  return 0;
}
std::shared_mutex fastMu;
std::unordered_map<uint64_t, FastNode> fastNodes;

void ll_getattr(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info* fi) {
  {
    std::shared_lock<std::shared_mutex> g(fastMu);
    auto it = fastNodes.find(ino);
    if (it != fastNodes.end() && !it->second.upper) {
      struct stat st;
      it->second.attr.Unpack((uint64_t)it->second.ino, &st);
      fuse_reply_attr(req, &st, it->second.attrTimeout);
      return;
    }
    if (it != fastNodes.end()) {
      struct stat st;
      if (UpperStat(it->second, &st) == 0) {
        fuse_reply_attr(req, &st, AttrTimeout(true, st.st_mode, st.st_nlink, it->second.attrTimeout));
        return;
      }
    }
  }
  auto* c = new GetattrCall(ino);
  c->fh = Fh(fi);
  Send(c, req);
}

// A LOOKUP of a name a directory registered as `alone` lacks: the upper
// directory is the whole answer, so it is answered here as JS would, with a
// negative entry the kernel may cache. Anything the upper dir holds at the
// name, a whiteout included, is JS's to read (whiteout.ts has the rule). No
// other creation of that name can race: the kernel holds the directory's
// lock for every change of its names. Each new file of an untar or a build
// step is looked up this way first.
bool FastNegativeLookup(fuse_req_t req, fuse_ino_t parent, const char* name) {
  std::shared_lock<std::shared_mutex> g(fastMu);
  auto it = fastNodes.find(parent);
  if (it == fastNodes.end() || !it->second.alone) return false;
  struct stat st;
  if (fstatat(it->second.dirfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 || errno != ENOENT) return false;
  struct fuse_entry_param e;
  memset(&e, 0, sizeof e);
  e.entry_timeout = it->second.attrTimeout;
  fuse_reply_entry(req, &e);
  return true;
}

void ll_lookup(fuse_req_t req, fuse_ino_t parent, const char* name) {
  if (FastNegativeLookup(req, parent, name) || IndexedLookup(req, parent, name)) return;
  auto* c = new LookupCall(parent);
  c->name = name;
  Send(c, req);
}

// SETATTR of an upper node is a few syscalls on (dirfd, name), or on a
// directory's own fd, the ones the union makes (attr-rules.h): done here for
// registered upper nodes (untar sets owner, mode and times on every file and
// directory it writes; runc chowns the container's root).
bool FastSetattr(fuse_req_t req, fuse_ino_t ino, struct stat* attr, int to_set, struct fuse_file_info* fi) {
  // The pause gate first (fastMu is never held while waiting on it), then
  // fastMu for as long as dirfd is used: JS closes a dir fd only after
  // dropping its nodes under the exclusive lock.
  MutScope hold;
  std::shared_lock<std::shared_mutex> g(fastMu);
  auto it = fastNodes.find(ino);
  if (it == fastNodes.end() || !it->second.upper) return false;
  // A directory's size is not set (the union refuses it): JS says so.
  if (it->second.name.empty() && (to_set & FUSE_SET_ATTR_SIZE)) return false;
  int err = SetattrAt(it->second.dirfd, it->second.name.c_str(), fi ? (int)fi->fh : -1, to_set, *attr);
  struct stat st;
  if (!err) err = UpperStat(it->second, &st);
  if (err) {
    fuse_reply_err(req, err);
    return true;
  }
  fuse_reply_attr(req, &st, AttrTimeout(true, st.st_mode, st.st_nlink, it->second.attrTimeout));
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

void ll_open(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info* fi) {
  bool readOnly = (fi->flags & O_ACCMODE) == O_RDONLY && !(fi->flags & O_TRUNC);
  int flags = (fi->flags & ~kBackingOpenDrop) | O_NOFOLLOW | O_CLOEXEC;
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

// A fast-path node's (dirfd, name); `g` (fastMu, shared) must stay held
// while dirfd is used.
bool FastFile(const std::shared_lock<std::shared_mutex>& g, fuse_ino_t ino, int* dirfd, std::string* name) {
  auto it = fastNodes.find(ino);
  if (it == fastNodes.end() || it->second.dirfd < 0) return false;
  *dirfd = it->second.dirfd;
  *name = it->second.name;
  return true;
}

// The xattrs of (dirfd, name) without following a symlink, or of dirfd's
// own file when name is empty (an upper directory).
ssize_t NodeGetxattr(int dirfd, const std::string& name, const char* x, char* b, size_t n) {
  if (name.empty()) return fgetxattr(dirfd, x, b, n);
  std::string path = "/proc/self/fd/" + std::to_string(dirfd) + "/" + name;
  return lgetxattr(path.c_str(), x, b, n);
}

ssize_t NodeListxattr(int dirfd, const std::string& name, char* b, size_t n) {
  if (name.empty()) return flistxattr(dirfd, b, n);
  std::string path = "/proc/self/fd/" + std::to_string(dirfd) + "/" + name;
  return llistxattr(path.c_str(), b, n);
}

// Read-only once serving.
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
    ReplyXattrData(req, size, [&](char* b, size_t n) { return NodeGetxattr(dirfd, file, name, b, n); });
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
    ssize_t n = NodeListxattr(dirfd, file, nullptr, 0);
    std::vector<char> all(n > 0 ? (size_t)n : 0);
    if (n > 0) n = NodeListxattr(dirfd, file, all.data(), all.size());
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

// A symlink's target, read where the node lives (a lower one only where it
// may be opened there: a layer the union reads through its own code, such
// as one with an override xattr, is not registered openable).
void ll_readlink(fuse_req_t req, fuse_ino_t ino) {
  {
    std::shared_lock<std::shared_mutex> g(fastMu);
    auto it = fastNodes.find(ino);
    if (it != fastNodes.end() && it->second.dirfd >= 0 && !it->second.name.empty() && (it->second.upper || it->second.openable)) {
      char buf[PATH_MAX + 1];
      ssize_t n = readlinkat(it->second.dirfd, it->second.name.c_str(), buf, PATH_MAX);
      if (n < 0) {
        fuse_reply_err(req, errno);
        return;
      }
      buf[n] = '\0';
      fuse_reply_readlink(req, buf);
      return;
    }
  }
  Send(new ReadlinkCall(ino), req);
}

// The fd whose filesystem a STATFS reports (the upper's root), or -1: then JS.
std::atomic<int> statfsFd{-1};

void ll_statfs(fuse_req_t req, fuse_ino_t ino) {
  // fastMu keeps JS from closing the fd meanwhile (it closes it only after
  // the session, but fastStatfs may change it).
  std::shared_lock<std::shared_mutex> g(fastMu);
  int fd = statfsFd.load();
  if (fd >= 0) {
    double o[kStatfsLen];
    if (FstatfsFields(fd, o) < 0) {
      fuse_reply_err(req, errno);
      return;
    }
    struct statvfs s;
    ToStatvfs(o, &s);
    fuse_reply_statfs(req, &s);
    return;
  }
  g.unlock();
  Send(new StatfsCall(ino), req);
}

// fastStatfs(fd): STATFS reports fd's filesystem from now on (-1: JS answers).
Napi::Value FastStatfs(const Napi::CallbackInfo& info) {
  std::unique_lock<std::shared_mutex> g(fastMu);
  statfsFd = info[0].As<Napi::Number>().Int32Value();
  return info.Env().Undefined();
}

// fastSet(nodeid, dirfd, name, attr, attrTimeout, openable)
Napi::Value FastSet(const Napi::CallbackInfo& info) {
  FastNode f;
  f.dirfd = info[1].As<Napi::Number>().Int32Value();
  f.name = Latin1(info[2]);
  struct stat st;
  ToStat(info[3], &st);
  f.attr.Pack(st);
  f.attrTimeout = info[4].As<Napi::Number>().DoubleValue();
  f.openable = info[5].ToBoolean();
  f.upper = false;
  f.ino = (double)st.st_ino;
  f.nlink = 0;
  std::unique_lock<std::shared_mutex> g(fastMu);
  fastNodes[(uint64_t)info[0].As<Napi::Number>().Int64Value()] = std::move(f);
  return info.Env().Undefined();
}

// fastSetUpper(nodeid, dirfd, name, ino, attrTimeout, nlink, alone): name
// '' for a directory, dirfd its own.
Napi::Value FastSetUpper(const Napi::CallbackInfo& info) {
  FastNode f;
  f.dirfd = info[1].As<Napi::Number>().Int32Value();
  f.name = Latin1(info[2]);
  f.ino = info[3].As<Napi::Number>().DoubleValue();
  f.attrTimeout = info[4].As<Napi::Number>().DoubleValue();
  f.nlink = (uint32_t)info[5].As<Napi::Number>().Int64Value();
  // The kernel opens a directory with OPENDIR, never OPEN.
  f.openable = !f.name.empty();
  f.upper = true;
  f.alone = f.name.empty() && info[6].ToBoolean();
  memset(&f.attr, 0, sizeof f.attr);
  std::unique_lock<std::shared_mutex> g(fastMu);
  fastNodes[(uint64_t)info[0].As<Napi::Number>().Int64Value()] = std::move(f);
  return info.Env().Undefined();
}

// fastSetNlink(nodeid, nlink): a registered upper directory's entries
// changed; its count is the union's new one (ignored for any other node).
Napi::Value FastSetNlink(const Napi::CallbackInfo& info) {
  std::unique_lock<std::shared_mutex> g(fastMu);
  auto it = fastNodes.find((uint64_t)info[0].As<Napi::Number>().Int64Value());
  if (it != fastNodes.end() && it->second.upper && it->second.name.empty()) it->second.nlink = (uint32_t)info[1].As<Napi::Number>().Int64Value();
  return info.Env().Undefined();
}

Napi::Value FastDrop(const Napi::CallbackInfo& info) {
  std::unique_lock<std::shared_mutex> g(fastMu);
  fastNodes.erase((uint64_t)info[0].As<Napi::Number>().Int64Value());
  return info.Env().Undefined();
}

}  // namespace

void AddFastOps(struct fuse_lowlevel_ops* ops) {
  ops->lookup = ll_lookup;
  ops->getattr = ll_getattr;
  ops->setattr = ll_setattr;
  ops->readlink = ll_readlink;
  ops->statfs = ll_statfs;
  ops->open = ll_open;
  ops->getxattr = ll_getxattr;
  ops->listxattr = ll_listxattr;
}

void SetPrivateXattrPrefix(const std::string& prefix) { privatePrefix = prefix; }

void ResetFastNodes() {
  std::unique_lock<std::shared_mutex> g(fastMu);
  fastNodes.clear();
  statfsFd = -1;
}

void InitFastNodes(Napi::Env env, Napi::Object e) {
  e.Set("fastSet", Napi::Function::New(env, FastSet, "fastSet"));
  e.Set("fastSetUpper", Napi::Function::New(env, FastSetUpper, "fastSetUpper"));
  e.Set("fastStatfs", Napi::Function::New(env, FastStatfs, "fastStatfs"));
  e.Set("fastSetNlink", Napi::Function::New(env, FastSetNlink, "fastSetNlink"));
  e.Set("fastDrop", Napi::Function::New(env, FastDrop, "fastDrop"));
}

}  // namespace strata
