// Thin wrappers: validate arguments, make one syscall, throw a Node-shaped
// error on failure. Names travel as latin1 strings so any byte survives.
// Xattrs go through /proc/self/fd/N/name with the l*xattr calls: fgetxattr
// cannot be used on a name relative to a directory fd, and this never follows
// a symlink in the last component.
#include "syscalls.h"
#include "errors.h"
#include "attr-rules.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <linux/fs.h>
#include <stdio.h>
#include <sys/file.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>
#include <vector>

namespace strata {

int FstatfsFields(int fd, double* o) {
  struct statfs s;
  if (fstatfs(fd, &s) < 0) return -1;
  o[0] = (double)s.f_bsize;
  o[1] = (double)s.f_blocks;
  o[2] = (double)s.f_bfree;
  o[3] = (double)s.f_bavail;
  o[4] = (double)s.f_files;
  o[5] = (double)s.f_ffree;
  o[6] = (double)s.f_namelen;
  o[7] = (double)s.f_frsize;
  o[8] = (double)s.f_type;
  return 0;
}

void ToStatvfs(const double* o, struct statvfs* s) {
  memset(s, 0, sizeof *s);
  s->f_bsize = (unsigned long)o[0];
  s->f_blocks = (fsblkcnt_t)o[1];
  s->f_bfree = (fsblkcnt_t)o[2];
  s->f_bavail = (fsblkcnt_t)o[3];
  s->f_files = (fsfilcnt_t)o[4];
  s->f_ffree = (fsfilcnt_t)o[5];
  s->f_favail = (fsfilcnt_t)o[5];
  s->f_namemax = (unsigned long)o[6];
  s->f_frsize = (unsigned long)o[7];
}

void FillStat(double* o, const struct stat& st) {
  o[0] = (double)st.st_dev;
  o[1] = (double)st.st_ino;
  o[2] = st.st_mode;
  o[3] = (double)st.st_nlink;
  o[4] = st.st_uid;
  o[5] = st.st_gid;
  o[6] = (double)st.st_rdev;
  o[7] = (double)st.st_size;
  o[8] = (double)st.st_blksize;
  o[9] = (double)st.st_blocks;
  o[10] = (double)st.st_atim.tv_sec;
  o[11] = (double)st.st_atim.tv_nsec;
  o[12] = (double)st.st_mtim.tv_sec;
  o[13] = (double)st.st_mtim.tv_nsec;
  o[14] = (double)st.st_ctim.tv_sec;
  o[15] = (double)st.st_ctim.tv_nsec;
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

namespace {

int I32(const Napi::CallbackInfo& info, size_t i) { return info[i].As<Napi::Number>().Int32Value(); }
int64_t I64(const Napi::CallbackInfo& info, size_t i) { return info[i].As<Napi::Number>().Int64Value(); }
std::string S(const Napi::CallbackInfo& info, size_t i) { return Latin1(info[i]); }

Napi::Value StatValue(Napi::Env env, const struct stat& st) {
  Napi::Float64Array a = Napi::Float64Array::New(env, kStatLen);
  FillStat(a.Data(), st);
  return a;
}

// The path the xattr calls see for (dirfd, name). With an empty name the
// magic link /proc/self/fd/N itself must be followed (to the fd's file);
// otherwise the final name must not be followed.
struct XPath {
  std::string path;
  bool follow;
};
XPath XattrPath(int dirfd, const std::string& name) {
  if (dirfd == AT_FDCWD) return {name, false};
  std::string p = "/proc/self/fd/" + std::to_string(dirfd);
  if (name.empty()) return {p, true};
  return {p + "/" + name, false};
}
ssize_t XGet(const XPath& x, const char* n, void* v, size_t s) { return x.follow ? getxattr(x.path.c_str(), n, v, s) : lgetxattr(x.path.c_str(), n, v, s); }
ssize_t XList(const XPath& x, char* v, size_t s) { return x.follow ? listxattr(x.path.c_str(), v, s) : llistxattr(x.path.c_str(), v, s); }
int XSet(const XPath& x, const char* n, const void* v, size_t s, int f) { return x.follow ? setxattr(x.path.c_str(), n, v, s, f) : lsetxattr(x.path.c_str(), n, v, s, f); }
int XRemove(const XPath& x, const char* n) { return x.follow ? removexattr(x.path.c_str(), n) : lremovexattr(x.path.c_str(), n); }

Napi::Value OpenAt(const Napi::CallbackInfo& info) {
  std::string name = S(info, 1);
  int fd = openat(I32(info, 0), name.c_str(), I32(info, 2) | O_CLOEXEC, (mode_t)I32(info, 3));
  if (fd < 0) return ThrowErrno(info.Env(), errno, "openat", name);
  return Napi::Number::New(info.Env(), fd);
}

Napi::Value Close(const Napi::CallbackInfo& info) {
  if (close(I32(info, 0)) < 0 && errno != EINTR) return ThrowErrno(info.Env(), errno, "close");
  return info.Env().Undefined();
}

Napi::Value FstatAt(const Napi::CallbackInfo& info) {
  std::string name = S(info, 1);
  struct stat st;
  if (fstatat(I32(info, 0), name.c_str(), &st, I32(info, 2)) < 0) return ThrowErrno(info.Env(), errno, "fstatat", name);
  return StatValue(info.Env(), st);
}

// Lookups through layers miss far more often than they fail: a miss is a
// value (null), not an exception, so the hot path builds no Error objects.
Napi::Value LstatAtOrNull(const Napi::CallbackInfo& info) {
  std::string name = S(info, 1);
  struct stat st;
  if (fstatat(I32(info, 0), name.c_str(), &st, AT_SYMLINK_NOFOLLOW) < 0) {
    if (errno == ENOENT || errno == ENOTDIR) return info.Env().Null();
    return ThrowErrno(info.Env(), errno, "fstatat", name);
  }
  return StatValue(info.Env(), st);
}

Napi::Value Fstat(const Napi::CallbackInfo& info) {
  struct stat st;
  if (fstat(I32(info, 0), &st) < 0) return ThrowErrno(info.Env(), errno, "fstat");
  return StatValue(info.Env(), st);
}

Napi::Value MkdirAt(const Napi::CallbackInfo& info) {
  std::string name = S(info, 1);
  if (mkdirat(I32(info, 0), name.c_str(), (mode_t)I32(info, 2)) < 0) return ThrowErrno(info.Env(), errno, "mkdirat", name);
  return info.Env().Undefined();
}

Napi::Value MknodAt(const Napi::CallbackInfo& info) {
  std::string name = S(info, 1);
  if (mknodat(I32(info, 0), name.c_str(), (mode_t)I32(info, 2), (dev_t)I64(info, 3)) < 0)
    return ThrowErrno(info.Env(), errno, "mknodat", name);
  return info.Env().Undefined();
}

Napi::Value SymlinkAt(const Napi::CallbackInfo& info) {
  std::string target = S(info, 0), name = S(info, 2);
  if (symlinkat(target.c_str(), I32(info, 1), name.c_str()) < 0) return ThrowErrno(info.Env(), errno, "symlinkat", name);
  return info.Env().Undefined();
}

Napi::Value ReadlinkAt(const Napi::CallbackInfo& info) {
  std::string name = S(info, 1);
  std::vector<char> buf(4096);
  for (;;) {
    ssize_t n = readlinkat(I32(info, 0), name.c_str(), buf.data(), buf.size());
    if (n < 0) return ThrowErrno(info.Env(), errno, "readlinkat", name);
    if ((size_t)n < buf.size()) return FromLatin1(info.Env(), buf.data(), (size_t)n);
    buf.resize(buf.size() * 2);
  }
}

Napi::Value LinkAt(const Napi::CallbackInfo& info) {
  std::string from = S(info, 1), to = S(info, 3);
  if (linkat(I32(info, 0), from.c_str(), I32(info, 2), to.c_str(), I32(info, 4)) < 0)
    return ThrowErrno(info.Env(), errno, "linkat", to);
  return info.Env().Undefined();
}

Napi::Value UnlinkAt(const Napi::CallbackInfo& info) {
  std::string name = S(info, 1);
  if (unlinkat(I32(info, 0), name.c_str(), I32(info, 2)) < 0) return ThrowErrno(info.Env(), errno, "unlinkat", name);
  return info.Env().Undefined();
}

Napi::Value RenameAt2(const Napi::CallbackInfo& info) {
  std::string from = S(info, 1), to = S(info, 3);
  if (syscall(SYS_renameat2, I32(info, 0), from.c_str(), I32(info, 2), to.c_str(), (unsigned)I32(info, 4)) < 0)
    return ThrowErrno(info.Env(), errno, "renameat2", from);
  return info.Env().Undefined();
}

Napi::Value FchmodAt(const Napi::CallbackInfo& info) {
  std::string name = S(info, 1);
  if (fchmodat(I32(info, 0), name.c_str(), (mode_t)I32(info, 2), 0) < 0) return ThrowErrno(info.Env(), errno, "fchmodat", name);
  return info.Env().Undefined();
}

Napi::Value Fchmod(const Napi::CallbackInfo& info) {
  if (fchmod(I32(info, 0), (mode_t)I32(info, 1)) < 0) return ThrowErrno(info.Env(), errno, "fchmod");
  return info.Env().Undefined();
}

Napi::Value FchownAt(const Napi::CallbackInfo& info) {
  std::string name = S(info, 1);
  if (fchownat(I32(info, 0), name.c_str(), (uid_t)I64(info, 2), (gid_t)I64(info, 3), I32(info, 4)) < 0)
    return ThrowErrno(info.Env(), errno, "fchownat", name);
  return info.Env().Undefined();
}

Napi::Value Fchown(const Napi::CallbackInfo& info) {
  if (fchown(I32(info, 0), (uid_t)I64(info, 1), (gid_t)I64(info, 2)) < 0) return ThrowErrno(info.Env(), errno, "fchown");
  return info.Env().Undefined();
}

// Times are (sec, nsec) pairs; nsec may be UTIME_NOW or UTIME_OMIT.
Napi::Value UtimensAt(const Napi::CallbackInfo& info) {
  std::string name = S(info, 1);
  struct timespec ts[2] = {{(time_t)I64(info, 2), (long)I64(info, 3)}, {(time_t)I64(info, 4), (long)I64(info, 5)}};
  if (utimensat(I32(info, 0), name.c_str(), ts, I32(info, 6)) < 0) return ThrowErrno(info.Env(), errno, "utimensat", name);
  return info.Env().Undefined();
}

Napi::Value Futimens(const Napi::CallbackInfo& info) {
  struct timespec ts[2] = {{(time_t)I64(info, 1), (long)I64(info, 2)}, {(time_t)I64(info, 3), (long)I64(info, 4)}};
  if (futimens(I32(info, 0), ts) < 0) return ThrowErrno(info.Env(), errno, "futimens");
  return info.Env().Undefined();
}

Napi::Value Ftruncate(const Napi::CallbackInfo& info) {
  if (ftruncate(I32(info, 0), (off_t)I64(info, 1)) < 0) return ThrowErrno(info.Env(), errno, "ftruncate");
  return info.Env().Undefined();
}

Napi::Value Fsync(const Napi::CallbackInfo& info) {
  int r = info.Length() > 1 && info[1].ToBoolean() ? fdatasync(I32(info, 0)) : fsync(I32(info, 0));
  if (r < 0) return ThrowErrno(info.Env(), errno, "fsync");
  return info.Env().Undefined();
}

Napi::Value Pwrite(const Napi::CallbackInfo& info) {
  Napi::Buffer<char> b = info[1].As<Napi::Buffer<char>>();
  ssize_t n = pwrite(I32(info, 0), b.Data(), b.Length(), (off_t)I64(info, 2));
  if (n < 0) return ThrowErrno(info.Env(), errno, "pwrite");
  return Napi::Number::New(info.Env(), (double)n);
}

Napi::Value GetXattr(const Napi::CallbackInfo& info) {
  XPath path = XattrPath(I32(info, 0), S(info, 1));
  std::string name = S(info, 2);
  for (;;) {
    ssize_t n = XGet(path, name.c_str(), nullptr, 0);
    if (n < 0) {
      if (errno == ENODATA) return info.Env().Null();
      return ThrowErrno(info.Env(), errno, "lgetxattr", name);
    }
    Napi::Buffer<char> b = Napi::Buffer<char>::New(info.Env(), (size_t)n);
    ssize_t m = XGet(path, name.c_str(), b.Data(), (size_t)n);
    if (m >= 0) return m == n ? b : Napi::Buffer<char>::Copy(info.Env(), b.Data(), (size_t)m);
    if (errno == ENODATA) return info.Env().Null();
    if (errno != ERANGE) return ThrowErrno(info.Env(), errno, "lgetxattr", name);
  }
}

Napi::Value ListXattr(const Napi::CallbackInfo& info) {
  XPath path = XattrPath(I32(info, 0), S(info, 1));
  std::vector<char> buf;
  for (;;) {
    ssize_t n = XList(path, nullptr, 0);
    if (n < 0) return ThrowErrno(info.Env(), errno, "llistxattr", S(info, 1));
    buf.resize((size_t)n + 1);
    ssize_t m = XList(path, buf.data(), (size_t)n);
    if (m < 0 && errno == ERANGE) continue;
    if (m < 0) return ThrowErrno(info.Env(), errno, "llistxattr", S(info, 1));
    Napi::Array out = Napi::Array::New(info.Env());
    uint32_t k = 0;
    for (ssize_t i = 0; i < m;) {
      size_t len = strnlen(buf.data() + i, (size_t)(m - i));
      if (len) out.Set(k++, FromLatin1(info.Env(), buf.data() + i, len));
      i += (ssize_t)len + 1;
    }
    return out;
  }
}

Napi::Value SetXattr(const Napi::CallbackInfo& info) {
  XPath path = XattrPath(I32(info, 0), S(info, 1));
  std::string name = S(info, 2);
  Napi::Buffer<char> v = info[3].As<Napi::Buffer<char>>();
  if (XSet(path, name.c_str(), v.Data(), v.Length(), I32(info, 4)) < 0)
    return ThrowErrno(info.Env(), errno, "lsetxattr", name);
  return info.Env().Undefined();
}

Napi::Value RemoveXattr(const Napi::CallbackInfo& info) {
  XPath path = XattrPath(I32(info, 0), S(info, 1));
  std::string name = S(info, 2);
  if (XRemove(path, name.c_str()) < 0) return ThrowErrno(info.Env(), errno, "lremovexattr", name);
  return info.Env().Undefined();
}

// Whole directory in one call: [names, types (DT_*), inos]. "." and ".." are
// left out. A fresh fd keeps the caller's fd offset untouched.
Napi::Value ReadDir(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int fd = openat(I32(info, 0), ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return ThrowErrno(env, errno, "openat", ".");
  Napi::Array names = Napi::Array::New(env);
  std::vector<double> inos;
  std::vector<uint8_t> types;
  alignas(8) char buf[32768];
  uint32_t k = 0;
  for (;;) {
    long n = syscall(SYS_getdents64, fd, buf, sizeof buf);
    if (n < 0) {
      int e = errno;
      close(fd);
      return ThrowErrno(env, e, "getdents64");
    }
    if (n == 0) break;
    for (long off = 0; off < n;) {
      struct linux_dirent64 {
        uint64_t d_ino;
        int64_t d_off;
        unsigned short d_reclen;
        unsigned char d_type;
        char d_name[];
      }* d = (linux_dirent64*)(buf + off);
      off += d->d_reclen;
      if (d->d_name[0] == '.' && (d->d_name[1] == 0 || (d->d_name[1] == '.' && d->d_name[2] == 0))) continue;
      names.Set(k++, FromLatin1(env, d->d_name, strlen(d->d_name)));
      inos.push_back((double)d->d_ino);
      types.push_back(d->d_type);
    }
  }
  close(fd);
  Napi::Float64Array ia = Napi::Float64Array::New(env, inos.size());
  std::copy(inos.begin(), inos.end(), ia.Data());
  Napi::Uint8Array ta = Napi::Uint8Array::New(env, types.size());
  std::copy(types.begin(), types.end(), ta.Data());
  Napi::Array out = Napi::Array::New(env, 3);
  out.Set(0u, names);
  out.Set(1u, ta);
  out.Set(2u, ia);
  return out;
}

Napi::Value Statfs(const Napi::CallbackInfo& info) {
  Napi::Float64Array a = Napi::Float64Array::New(info.Env(), kStatfsLen);
  if (FstatfsFields(I32(info, 0), a.Data()) < 0) return ThrowErrno(info.Env(), errno, "fstatfs");
  return a;
}

Napi::Value Umount2(const Napi::CallbackInfo& info) {
  std::string path = S(info, 0);
  if (umount2(path.c_str(), I32(info, 1)) < 0) return ThrowErrno(info.Env(), errno, "umount2", path);
  return info.Env().Undefined();
}

// A union of many directories keeps many directory fds open.
Napi::Value RaiseNofileLimit(const Napi::CallbackInfo& info) {
  struct rlimit rl;
  if (getrlimit(RLIMIT_NOFILE, &rl) < 0) return ThrowErrno(info.Env(), errno, "getrlimit");
  rl.rlim_cur = rl.rlim_max;
  if (setrlimit(RLIMIT_NOFILE, &rl) < 0) return ThrowErrno(info.Env(), errno, "setrlimit");
  return Napi::Number::New(info.Env(), (double)rl.rlim_cur);
}

// flock(fd, op); returns false instead of throwing when LOCK_NB finds it held.
Napi::Value Flock(const Napi::CallbackInfo& info) {
  if (flock(I32(info, 0), I32(info, 1)) < 0) {
    if (errno == EWOULDBLOCK) return Napi::Boolean::New(info.Env(), false);
    return ThrowErrno(info.Env(), errno, "flock");
  }
  return Napi::Boolean::New(info.Env(), true);
}

// dup2(fd, fd2): a daemon started by bin/strata points its stdout/stderr at
// its log once mounted (Node cannot), so that nothing of the caller's stays open.
Napi::Value Dup2(const Napi::CallbackInfo& info) {
  if (dup2(I32(info, 0), I32(info, 1)) < 0) return ThrowErrno(info.Env(), errno, "dup2");
  return info.Env().Undefined();
}

// Clears O_NONBLOCK on fd: a container's stdio must block as a shell's does
// (Node sets it on the pipes it writes to; see src/run/blocking-stdio.ts).
Napi::Value ClearNonblock(const Napi::CallbackInfo& info) {
  int fd = I32(info, 0);
  int fl = fcntl(fd, F_GETFL);
  if (fl < 0 || fcntl(fd, F_SETFL, fl & ~O_NONBLOCK) < 0) return ThrowErrno(info.Env(), errno, "fcntl");
  return info.Env().Undefined();
}

// isMountRoot(path): whether something is mounted at path (bind mounts of a
// directory on itself included), from statx's STATX_ATTR_MOUNT_ROOT; null
// where the kernel does not say (before 5.8). It looks at the path as stat
// does: never at a mount this process serves.
Napi::Value IsMountRoot(const Napi::CallbackInfo& info) {
  std::string path = S(info, 0);
  struct statx stx;
  if (statx(AT_FDCWD, path.c_str(), AT_NO_AUTOMOUNT, STATX_TYPE, &stx) < 0) return ThrowErrno(info.Env(), errno, "statx", path);
  if (!(stx.stx_attributes_mask & STATX_ATTR_MOUNT_ROOT)) return info.Env().Null();
  return Napi::Boolean::New(info.Env(), (stx.stx_attributes & STATX_ATTR_MOUNT_ROOT) != 0);
}

Napi::Value MakeDev(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), (double)makedev((unsigned)I64(info, 0), (unsigned)I64(info, 1)));
}

}  // namespace

void InitSyscalls(Napi::Env env, Napi::Object e) {
  struct { const char* name; Napi::Function::Callback fn; } fns[] = {
      {"openat", OpenAt},         {"close", Close},           {"fstatat", FstatAt},
      {"lstatAtOrNull", LstatAtOrNull}, {"fstat", Fstat},     {"mkdirat", MkdirAt},
      {"mknodat", MknodAt},       {"symlinkat", SymlinkAt},   {"readlinkat", ReadlinkAt},
      {"linkat", LinkAt},         {"unlinkat", UnlinkAt},     {"renameat2", RenameAt2},
      {"fchmodat", FchmodAt},     {"fchmod", Fchmod},         {"fchownat", FchownAt},
      {"fchown", Fchown},         {"utimensat", UtimensAt},   {"futimens", Futimens},
      {"ftruncate", Ftruncate},   {"fsync", Fsync},           {"pwrite", Pwrite},
      {"getxattr", GetXattr},     {"listxattr", ListXattr},   {"setxattr", SetXattr},
      {"removexattr", RemoveXattr}, {"readdir", ReadDir},     {"statfs", Statfs},
      {"umount2", Umount2},       {"isMountRoot", IsMountRoot},       {"raiseNofileLimit", RaiseNofileLimit}, {"makedev", MakeDev},
      {"flock", Flock},           {"dup2", Dup2}, {"clearNonblock", ClearNonblock},
  };
  for (auto& f : fns) e.Set(f.name, Napi::Function::New(env, f.fn, f.name));

  Napi::Object c = Napi::Object::New(env);
  struct { const char* name; double v; } consts[] = {
      {"AT_FDCWD", AT_FDCWD}, {"AT_SYMLINK_NOFOLLOW", AT_SYMLINK_NOFOLLOW}, {"AT_REMOVEDIR", AT_REMOVEDIR},
      {"AT_EMPTY_PATH", AT_EMPTY_PATH}, {"O_PATH", O_PATH}, {"O_DIRECTORY", O_DIRECTORY},
      {"O_NOFOLLOW", O_NOFOLLOW}, {"O_RDONLY", O_RDONLY}, {"O_WRONLY", O_WRONLY}, {"O_RDWR", O_RDWR},
      {"O_CREAT", O_CREAT}, {"O_EXCL", O_EXCL}, {"O_TRUNC", O_TRUNC}, {"O_APPEND", O_APPEND},
      {"O_ACCMODE", O_ACCMODE}, {"O_NOATIME", O_NOATIME}, {"O_DIRECT", O_DIRECT},
      {"RENAME_NOREPLACE", RENAME_NOREPLACE}, {"RENAME_EXCHANGE", RENAME_EXCHANGE},
      {"RENAME_WHITEOUT", RENAME_WHITEOUT}, {"UTIME_NOW", UTIME_NOW}, {"UTIME_OMIT", UTIME_OMIT},
      {"XATTR_CREATE", XATTR_CREATE}, {"XATTR_REPLACE", XATTR_REPLACE}, {"MNT_DETACH", MNT_DETACH},
      {"MNT_FORCE", MNT_FORCE}, {"NAME_MAX", NAME_MAX}, {"LOCK_EX", LOCK_EX}, {"LOCK_SH", LOCK_SH},
      {"LOCK_UN", LOCK_UN}, {"LOCK_NB", LOCK_NB}, {"BACKING_OPEN_DROP", kBackingOpenDrop},
  };
  for (auto& k : consts) c.Set(k.name, Napi::Number::New(env, k.v));
  e.Set("constants", c);
}

}  // namespace strata
