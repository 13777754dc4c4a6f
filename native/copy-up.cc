// See copy-up.h. The job object is CopyUpJob in src/native/binding.ts; its
// fields are read here by name, once, on the JS thread, and copied so the
// pool thread touches no JS value.
#include "copy-up.h"
#include "copy-data.h"
#include "errors.h"

#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <cerrno>
#include <string>
#include <utility>
#include <vector>

namespace strata {
namespace {

struct Job {
  bool dir = false;
  int from = -1;  // lower file open read-only, or -1: no data to copy
  int64_t length = 0;
  int work = -1;
  std::string tmpName;
  bool tmpfile = false;
  int parent = -1;
  std::string name;
  bool chown = false;
  uid_t uid = 0;
  gid_t gid = 0;
  std::vector<std::pair<std::string, std::string>> xattrs;  // set in this order
  mode_t mode = 0;
  struct timespec times[2] = {};
  bool sync = false;
};

int32_t I32(const Napi::Object& o, const char* k) { return o.Get(k).As<Napi::Number>().Int32Value(); }
int64_t I64(const Napi::Object& o, const char* k) { return o.Get(k).As<Napi::Number>().Int64Value(); }
bool B(const Napi::Object& o, const char* k) { return o.Get(k).ToBoolean().Value(); }

Job ReadJob(const Napi::Object& o, bool dir) {
  Job j;
  j.dir = dir;
  j.work = I32(o, "work");
  j.tmpName = Latin1(o.Get("tmpName"));
  j.parent = I32(o, "parent");
  j.name = Latin1(o.Get("name"));
  j.chown = B(o, "chown");
  j.uid = (uid_t)I64(o, "uid");
  j.gid = (gid_t)I64(o, "gid");
  j.mode = (mode_t)I32(o, "mode");
  j.times[0] = {(time_t)I64(o, "atime"), (long)I64(o, "atimeNs")};
  j.times[1] = {(time_t)I64(o, "mtime"), (long)I64(o, "mtimeNs")};
  Napi::Array names = o.Get("xattrNames").As<Napi::Array>();
  Napi::Array values = o.Get("xattrValues").As<Napi::Array>();
  for (uint32_t i = 0; i < names.Length(); i++) {
    Napi::Buffer<char> v = values.Get(i).As<Napi::Buffer<char>>();
    j.xattrs.emplace_back(Latin1(names.Get(i)), std::string(v.Data(), v.Length()));
  }
  if (!dir) {
    j.from = I32(o, "from");
    j.length = I64(o, "length");
    j.tmpfile = B(o, "tmpfile");
    j.sync = B(o, "sync");
  }
  return j;
}

// The failed step of a job, made into a JS error back on the JS thread.
struct Failure {
  int err = 0;
  const char* syscall = "";
  std::string path;
};

// Owner, xattrs, mode and times of the new entry, open as fd.
bool ApplyMetadata(const Job& j, int fd, Failure* f) {
  if (j.chown && fchown(fd, j.uid, j.gid) < 0) { *f = {errno, "fchown", j.name}; return false; }
  for (const auto& [n, v] : j.xattrs) {
    if (fsetxattr(fd, n.c_str(), v.data(), v.size(), 0) < 0) { *f = {errno, "fsetxattr", n}; return false; }
  }
  if (fchmod(fd, j.mode) < 0) { *f = {errno, "fchmod", j.name}; return false; }
  if (futimens(fd, j.times) < 0) { *f = {errno, "futimens", j.name}; return false; }
  return true;
}

// Names an O_TMPFILE file. AT_EMPTY_PATH needs CAP_DAC_READ_SEARCH on older
// kernels; without it the /proc/self/fd link does the same for the owner.
int LinkTmpfile(int fd, int dir, const std::string& name) {
  if (linkat(fd, "", dir, name.c_str(), AT_EMPTY_PATH) == 0) return 0;
  if (errno == ENOENT || errno == EPERM) {
    std::string proc = "/proc/self/fd/" + std::to_string(fd);
    if (linkat(AT_FDCWD, proc.c_str(), dir, name.c_str(), AT_SYMLINK_FOLLOW) == 0) return 0;
  }
  return errno;
}

// The copy is built unnamed (O_TMPFILE) where the work dir allows, else as
// tmpName in the work dir; either way it is complete and, with sync, on
// disk before it gets its name. Returns whether O_TMPFILE was refused.
bool CopyFile(const Job& j, Failure* f) {
  bool refused = false, named = false;
  int fd = -1;
  if (j.tmpfile) {
    fd = openat(j.work, ".", O_TMPFILE | O_WRONLY | O_CLOEXEC, 0600);
    // What openat(O_TMPFILE) answers where the filesystem cannot make one.
    if (fd < 0 && errno != EOPNOTSUPP && errno != EISDIR && errno != EINVAL) { *f = {errno, "openat(O_TMPFILE)", j.name}; return false; }
    refused = fd < 0;
  }
  if (fd < 0) {
    fd = openat(j.work, j.tmpName.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0) { *f = {errno, "openat", j.tmpName}; return refused; }
    named = true;
  }
  bool ok = true;
  int e;
  if (j.from >= 0 && (e = CopyData(j.from, fd, j.length)) != 0) { *f = {e, "copy_file_range", j.name}; ok = false; }
  if (ok) ok = ApplyMetadata(j, fd, f);
  // As kernel overlayfs does: the copy is durable before it is visible.
  if (ok && j.sync && fsync(fd) < 0) { *f = {errno, "fsync", j.name}; ok = false; }
  if (ok && !named && (e = LinkTmpfile(fd, j.parent, j.name)) != 0) { *f = {e, "linkat", j.name}; ok = false; }
  close(fd);
  if (ok && named && renameat2(j.work, j.tmpName.c_str(), j.parent, j.name.c_str(), RENAME_NOREPLACE) < 0) {
    *f = {errno, "renameat2", j.name};
    ok = false;
  }
  if (!ok && named) unlinkat(j.work, j.tmpName.c_str(), 0);
  return refused;
}

// Made as tmpName in the work dir, then renamed into place; returns the new
// directory open (the union's fd for it), or -1.
int CopyDir(const Job& j, Failure* f) {
  if (mkdirat(j.work, j.tmpName.c_str(), 0700) < 0) { *f = {errno, "mkdirat", j.tmpName}; return -1; }
  int fd = openat(j.work, j.tmpName.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) *f = {errno, "openat", j.tmpName};
  bool ok = fd >= 0 && ApplyMetadata(j, fd, f);
  if (ok && renameat2(j.work, j.tmpName.c_str(), j.parent, j.name.c_str(), RENAME_NOREPLACE) < 0) {
    *f = {errno, "renameat2", j.name};
    ok = false;
  }
  if (ok) return fd;
  if (fd >= 0) close(fd);
  unlinkat(j.work, j.tmpName.c_str(), AT_REMOVEDIR);
  return -1;
}

// The whole copy-up; the result is CopyDir's or CopyFile's.
int Run(const Job& j, Failure* f) {
  // The parent's times are the merged view's: a copy-up must not move them.
  struct stat pst;
  if (fstat(j.parent, &pst) < 0) { *f = {errno, "fstat", j.name}; return -1; }
  int result = j.dir ? CopyDir(j, f) : (CopyFile(j, f) ? 1 : 0);
  if (f->err) return result;
  // Best effort: the entry is in place by now, and a failure here would
  // only leave the parent's times moved.
  struct timespec t[2] = {pst.st_atim, pst.st_mtim};
  futimens(j.parent, t);
  return result;
}

Napi::Value Settle(Napi::Env env, const Job& j, const Failure& f, int result, Napi::Promise::Deferred* deferred) {
  if (!f.err) {
    Napi::Value v = j.dir ? Napi::Number::New(env, result).As<Napi::Value>() : Napi::Boolean::New(env, result != 0).As<Napi::Value>();
    if (deferred) deferred->Resolve(v);
    return v;
  }
  ThrowErrno(env, f.err, f.syscall, f.path);
  Napi::Error e = env.GetAndClearPendingException();
  if (!j.dir && result == 1) e.Set("tmpfileRefused", Napi::Boolean::New(env, true));
  if (deferred) {
    deferred->Reject(e.Value());
  } else {
    e.ThrowAsJavaScriptException();
  }
  return env.Undefined();
}

class CopyUpWorker : public Napi::AsyncWorker {
 public:
  CopyUpWorker(Napi::Env env, Job job)
      : Napi::AsyncWorker(env), deferred_(Napi::Promise::Deferred::New(env)), job_(std::move(job)) {}
  Napi::Promise Promise() { return deferred_.Promise(); }
  void Execute() override { result_ = Run(job_, &fail_); }
  void OnOK() override { Settle(Env(), job_, fail_, result_, &deferred_); }

 private:
  Napi::Promise::Deferred deferred_;
  Job job_;
  Failure fail_;
  int result_ = -1;
};

Napi::Value CopyUpFile(const Napi::CallbackInfo& info) {
  auto* w = new CopyUpWorker(info.Env(), ReadJob(info[0].As<Napi::Object>(), false));
  Napi::Promise p = w->Promise();
  w->Queue();
  return p;
}

// Inline: for what waits on no disk flush, a thread hop costs more than it saves.
Napi::Value RunNow(const Napi::CallbackInfo& info, bool dir) {
  Job j = ReadJob(info[0].As<Napi::Object>(), dir);
  Failure f;
  int result = Run(j, &f);
  return Settle(info.Env(), j, f, result, nullptr);
}
Napi::Value CopyUpFileSync(const Napi::CallbackInfo& info) { return RunNow(info, false); }
Napi::Value CopyUpDir(const Napi::CallbackInfo& info) { return RunNow(info, true); }

}  // namespace

void InitCopyUp(Napi::Env env, Napi::Object e) {
  e.Set("copyUpFile", Napi::Function::New(env, CopyUpFile, "copyUpFile"));
  e.Set("copyUpFileSync", Napi::Function::New(env, CopyUpFileSync, "copyUpFileSync"));
  e.Set("copyUpDir", Napi::Function::New(env, CopyUpDir, "copyUpDir"));
}

}  // namespace strata
