// The attribute rules of both paths (see attr-rules.h).
#include "attr-rules.h"
#include "errors.h"
#include "syscalls.h"

#include <fuse_lowlevel.h>
#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <string>

namespace strata {

int SetattrAt(int dirfd, const char* name, int fh, int valid, const struct stat& attr) {
  const bool self = name[0] == '\0';
  int r = 0;
  if (valid & FUSE_SET_ATTR_SIZE) {
    if (fh >= 0) r = ftruncate(fh, attr.st_size);
    else if (self) r = ftruncate(dirfd, attr.st_size);
    else {
      int fd = openat(dirfd, name, O_WRONLY | O_NOFOLLOW | O_CLOEXEC);
      r = fd < 0 ? -1 : ftruncate(fd, attr.st_size);
      if (fd >= 0) close(fd);
    }
  }
  if (r == 0 && (valid & (FUSE_SET_ATTR_UID | FUSE_SET_ATTR_GID))) {
    uid_t uid = (valid & FUSE_SET_ATTR_UID) ? attr.st_uid : (uid_t)-1;
    gid_t gid = (valid & FUSE_SET_ATTR_GID) ? attr.st_gid : (gid_t)-1;
    r = self ? fchown(dirfd, uid, gid) : fchownat(dirfd, name, uid, gid, AT_SYMLINK_NOFOLLOW);
  }
  if (r == 0 && (valid & FUSE_SET_ATTR_MODE)) {
    r = self ? fchmod(dirfd, attr.st_mode & 07777) : fchmodat(dirfd, name, attr.st_mode & 07777, 0);
  }
  if (r == 0 && (valid & (FUSE_SET_ATTR_ATIME | FUSE_SET_ATTR_MTIME))) {
    struct timespec ts[2];
    ts[0] = (valid & FUSE_SET_ATTR_ATIME) ? ((valid & FUSE_SET_ATTR_ATIME_NOW) ? timespec{0, UTIME_NOW} : attr.st_atim) : timespec{0, UTIME_OMIT};
    ts[1] = (valid & FUSE_SET_ATTR_MTIME) ? ((valid & FUSE_SET_ATTR_MTIME_NOW) ? timespec{0, UTIME_NOW} : attr.st_mtim) : timespec{0, UTIME_OMIT};
    r = self ? futimens(dirfd, ts) : utimensat(dirfd, name, ts, AT_SYMLINK_NOFOLLOW);
  }
  return r < 0 ? errno : 0;
}

namespace {

Napi::Value AttrTimeoutJs(const Napi::CallbackInfo& info) {
  double t = AttrTimeout(info[0].ToBoolean(), (mode_t)info[1].As<Napi::Number>().Uint32Value(),
                         (nlink_t)info[2].As<Napi::Number>().DoubleValue(), info[3].As<Napi::Number>().DoubleValue());
  return Napi::Number::New(info.Env(), t);
}

Napi::Value SetattrAtJs(const Napi::CallbackInfo& info) {
  std::string name = Latin1(info[1]);
  struct stat attr;
  ToStat(info[4], &attr);
  int err = SetattrAt(info[0].As<Napi::Number>().Int32Value(), name.c_str(), info[2].As<Napi::Number>().Int32Value(),
                      info[3].As<Napi::Number>().Int32Value(), attr);
  if (err) return ThrowErrno(info.Env(), err, "setattr", name);
  return info.Env().Undefined();
}

}  // namespace

void InitAttrRules(Napi::Env env, Napi::Object e) {
  e.Set("attrTimeout", Napi::Function::New(env, AttrTimeoutJs, "attrTimeout"));
  e.Set("setattrAt", Napi::Function::New(env, SetattrAtJs, "setattrAt"));
}

}  // namespace strata
