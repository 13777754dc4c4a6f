// Waiting for another process (not a child) to exit without polling: a
// pidfd becomes readable when the process exits, so `strata umount` learns
// that its daemon is gone the moment it is, instead of on a sleep's tick.
// A daemon that goes on living once its mount has ended (a spare daemon
// waits for the next one: src/cli/spare-main.ts) says it is done by removing
// its mount record; an inotify watch on the record's directory sees that.
// The wait runs on libuv's thread pool; the promise settles on the JS thread.
#include "process-exit.h"
#include "errors.h"

#include <poll.h>
#include <pthread.h>
#include <sys/inotify.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <string>

namespace strata {
namespace {

// Closes fd on a thread of its own, or here if no thread can be made (the
// addon is built without C++ exceptions: std::thread would abort).
void CloseAside(int fd) {
  pthread_t t;
  pthread_attr_t a;
  pthread_attr_init(&a);
  pthread_attr_setdetachstate(&a, PTHREAD_CREATE_DETACHED);
  void* arg = reinterpret_cast<void*>(static_cast<intptr_t>(fd));
  auto run = [](void* p) -> void* {
    close(static_cast<int>(reinterpret_cast<intptr_t>(p)));
    return nullptr;
  };
  if (pthread_create(&t, &a, run, arg) != 0) close(fd);
  pthread_attr_destroy(&a);
}

long NowMs() {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec * 1000L + t.tv_nsec / 1000000L;
}

// A watch for `path`'s removal (or rename away): the inotify fd, or -1 if
// the watch cannot be set. *gone is set if it is gone already.
int WatchRemoval(const std::string& path, std::string* base, bool* gone) {
  size_t slash = path.rfind('/');
  if (slash == std::string::npos) return -1;
  *base = path.substr(slash + 1);
  int in = inotify_init1(IN_CLOEXEC | IN_NONBLOCK);
  if (in < 0) return -1;
  if (inotify_add_watch(in, path.substr(0, slash).c_str(), IN_DELETE | IN_MOVED_FROM) < 0) {
    close(in);
    return -1;
  }
  // Checked after the watch is set, so that no removal falls between.
  *gone = access(path.c_str(), F_OK) != 0 && errno == ENOENT;
  return in;
}

// True if the events waiting on `in` include `base`'s removal.
bool Removed(int in, const std::string& base) {
  alignas(struct inotify_event) char buf[4096];
  for (;;) {
    ssize_t n = read(in, buf, sizeof buf);
    if (n <= 0) return false;
    for (char* p = buf; p < buf + n;) {
      auto* ev = reinterpret_cast<struct inotify_event*>(p);
      if (ev->len && base == ev->name) return true;
      p += sizeof(struct inotify_event) + ev->len;
    }
  }
}

// 1 exited (or, with `gone`, that file removed), 0 neither by the deadline, or -errno.
int WaitExit(int pid, int timeoutMs, const std::string& gone) {
  int fd = (int)syscall(SYS_pidfd_open, pid, 0);
  if (fd < 0) return errno == ESRCH ? 1 : -errno;
  std::string base;
  bool already = false;
  int in = gone.empty() ? -1 : WatchRemoval(gone, &base, &already);
  int result = already ? 1 : 0;
  long deadline = NowMs() + timeoutMs;
  while (result == 0) {
    struct pollfd p[2] = {{fd, POLLIN, 0}, {in, POLLIN, 0}};
    long left = deadline - NowMs();
    if (left <= 0) break;
    int r = poll(p, in >= 0 ? 2 : 1, (int)left);
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) { result = -errno; break; }
    if (r == 0) break;
    if (p[0].revents) result = 1;
    else if (in >= 0 && p[1].revents && Removed(in, base)) result = 1;
  }
  // The last close of an inotify instance waits for an SRCU grace period
  // (fsnotify_destroy_group): 5-10 ms here, most of a spare's umount. It
  // is closed beside the answer, not before it.
  if (in >= 0) CloseAside(in);
  close(fd);
  return result;
}

class ExitWorker : public Napi::AsyncWorker {
 public:
  ExitWorker(Napi::Env env, int pid, int timeoutMs, std::string gone)
      : Napi::AsyncWorker(env), deferred_(Napi::Promise::Deferred::New(env)), pid_(pid), timeoutMs_(timeoutMs), gone_(std::move(gone)) {}
  Napi::Promise Promise() { return deferred_.Promise(); }
  void Execute() override { r_ = WaitExit(pid_, timeoutMs_, gone_); }
  void OnOK() override {
    if (r_ >= 0) { deferred_.Resolve(Napi::Boolean::New(Env(), r_ == 1)); return; }
    ThrowErrno(Env(), -r_, "pidfd_open", std::to_string(pid_));
    Napi::Error e = Env().GetAndClearPendingException();
    deferred_.Reject(e.Value());
  }

 private:
  Napi::Promise::Deferred deferred_;
  int pid_, timeoutMs_;
  std::string gone_;
  int r_ = 0;
};

// waitExit(pid, timeoutMs, gonePath?): Promise<boolean>, true once the
// process is gone, or the file gonePath is.
Napi::Value WaitExitAsync(const Napi::CallbackInfo& info) {
  std::string gone = info.Length() > 2 && info[2].IsString() ? info[2].As<Napi::String>().Utf8Value() : "";
  auto* w = new ExitWorker(info.Env(), info[0].As<Napi::Number>().Int32Value(), info[1].As<Napi::Number>().Int32Value(), gone);
  Napi::Promise p = w->Promise();
  w->Queue();
  return p;
}

}  // namespace

void InitProcessExit(Napi::Env env, Napi::Object e) {
  e.Set("waitExit", Napi::Function::New(env, WaitExitAsync, "waitExit"));
}

}  // namespace strata
