// Waiting for another process (not a child) to exit without polling: a
// pidfd becomes readable when the process exits, so `strata umount` learns
// that its daemon is gone the moment it is, instead of on a sleep's tick.
// The wait runs on libuv's thread pool; the promise settles on the JS thread.
#include "process-exit.h"
#include "errors.h"

#include <poll.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>

namespace strata {
namespace {

// 1 exited, 0 still running at the deadline, or -errno.
int WaitExit(int pid, int timeoutMs) {
  int fd = (int)syscall(SYS_pidfd_open, pid, 0);
  if (fd < 0) return errno == ESRCH ? 1 : -errno;
  struct pollfd p = {fd, POLLIN, 0};
  int r;
  do r = poll(&p, 1, timeoutMs); while (r < 0 && errno == EINTR);
  int err = errno;
  close(fd);
  if (r < 0) return -err;
  return r > 0 ? 1 : 0;
}

class ExitWorker : public Napi::AsyncWorker {
 public:
  ExitWorker(Napi::Env env, int pid, int timeoutMs)
      : Napi::AsyncWorker(env), deferred_(Napi::Promise::Deferred::New(env)), pid_(pid), timeoutMs_(timeoutMs) {}
  Napi::Promise Promise() { return deferred_.Promise(); }
  void Execute() override { r_ = WaitExit(pid_, timeoutMs_); }
  void OnOK() override {
    if (r_ >= 0) { deferred_.Resolve(Napi::Boolean::New(Env(), r_ == 1)); return; }
    ThrowErrno(Env(), -r_, "pidfd_open", std::to_string(pid_));
    Napi::Error e = Env().GetAndClearPendingException();
    deferred_.Reject(e.Value());
  }

 private:
  Napi::Promise::Deferred deferred_;
  int pid_, timeoutMs_;
  int r_ = 0;
};

// waitExit(pid, timeoutMs): Promise<boolean>, true once the process is gone.
Napi::Value WaitExitAsync(const Napi::CallbackInfo& info) {
  auto* w = new ExitWorker(info.Env(), info[0].As<Napi::Number>().Int32Value(), info[1].As<Napi::Number>().Int32Value());
  Napi::Promise p = w->Promise();
  w->Queue();
  return p;
}

}  // namespace

void InitProcessExit(Napi::Env env, Napi::Object e) {
  e.Set("waitExit", Napi::Function::New(env, WaitExitAsync, "waitExit"));
}

}  // namespace strata
