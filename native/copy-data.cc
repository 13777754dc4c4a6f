// See copy-data.h. copyData() runs inline (small files: a thread hop costs
// more than the copy); copyDataAsync() runs on the libuv pool so a big
// copy-up never stalls the requests behind it.
#include "copy-data.h"
#include "errors.h"

#include <fcntl.h>
#include <linux/fs.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <cerrno>
#include <string>
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

namespace {

Napi::Value CopyDataSync(const Napi::CallbackInfo& info) {
  int err = CopyData(info[0].As<Napi::Number>().Int32Value(), info[1].As<Napi::Number>().Int32Value(),
                     info[2].As<Napi::Number>().Int64Value());
  if (err) return ThrowErrno(info.Env(), err, "copy_file_range");
  return info.Env().Undefined();
}

class CopyWorker : public Napi::AsyncWorker {
 public:
  CopyWorker(Napi::Env env, int src, int dst, int64_t len)
      : Napi::AsyncWorker(env), deferred_(Napi::Promise::Deferred::New(env)), src_(src), dst_(dst), len_(len) {}
  Napi::Promise Promise() { return deferred_.Promise(); }
  void Execute() override { err_ = CopyData(src_, dst_, len_); }
  void OnOK() override {
    if (!err_) { deferred_.Resolve(Env().Undefined()); return; }
    ThrowErrno(Env(), err_, "copy_file_range");
    Napi::Error e = Env().GetAndClearPendingException();
    deferred_.Reject(e.Value());
  }

 private:
  Napi::Promise::Deferred deferred_;
  int src_, dst_;
  int64_t len_;
  int err_ = 0;
};

// An unnamed file in `dir` (O_TMPFILE): the copy exists nowhere until
// linkTmpfile() gives it its name, so a crash mid-copy leaves nothing behind.
Napi::Value OpenTmpfile(const Napi::CallbackInfo& info) {
  int fd = openat(info[0].As<Napi::Number>().Int32Value(), ".", O_TMPFILE | O_WRONLY | O_CLOEXEC,
                  (mode_t)info[1].As<Napi::Number>().Int32Value());
  if (fd < 0) return ThrowErrno(info.Env(), errno, "openat(O_TMPFILE)");
  return Napi::Number::New(info.Env(), fd);
}

// Names an O_TMPFILE file `name` in `dir`; EEXIST if the name is taken.
// AT_EMPTY_PATH needs CAP_DAC_READ_SEARCH (on older kernels); without it,
// the /proc/self/fd link does the same for the file's owner.
Napi::Value LinkTmpfile(const Napi::CallbackInfo& info) {
  int fd = info[0].As<Napi::Number>().Int32Value();
  int dir = info[1].As<Napi::Number>().Int32Value();
  std::string name = Latin1(info[2]);
  if (linkat(fd, "", dir, name.c_str(), AT_EMPTY_PATH) == 0) return info.Env().Undefined();
  if (errno == ENOENT || errno == EPERM) {
    std::string proc = "/proc/self/fd/" + std::to_string(fd);
    if (linkat(AT_FDCWD, proc.c_str(), dir, name.c_str(), AT_SYMLINK_FOLLOW) == 0) return info.Env().Undefined();
  }
  return ThrowErrno(info.Env(), errno, "linkat", name);
}

Napi::Value CopyDataAsync(const Napi::CallbackInfo& info) {
  auto* w = new CopyWorker(info.Env(), info[0].As<Napi::Number>().Int32Value(), info[1].As<Napi::Number>().Int32Value(),
                           info[2].As<Napi::Number>().Int64Value());
  Napi::Promise p = w->Promise();
  w->Queue();
  return p;
}

}  // namespace

void InitCopyData(Napi::Env env, Napi::Object e) {
  e.Set("copyData", Napi::Function::New(env, CopyDataSync, "copyData"));
  e.Set("copyDataAsync", Napi::Function::New(env, CopyDataAsync, "copyDataAsync"));
  e.Set("openTmpfile", Napi::Function::New(env, OpenTmpfile, "openTmpfile"));
  e.Set("linkTmpfile", Napi::Function::New(env, LinkTmpfile, "linkTmpfile"));
}

}  // namespace strata
