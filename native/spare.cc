// The spare's end of the hand-over (spare-key.h, spare-wire.h): listen on
// its name, then wait, blocking the JS thread (a spare has nothing else to
// do), for one caller like itself and take its request.
#include "spare.h"

#include <poll.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "errors.h"
#include "spare-key.h"
#include "spare-wire.h"

namespace strata {
namespace {

// spareName(dist): string, '' when the build's files are not all there.
Napi::Value SpareNameJs(const Napi::CallbackInfo& info) {
  return Napi::String::New(info.Env(), SpareName(BuildFilesOf(info[0].As<Napi::String>().Utf8Value())));
}

// spareListen(name): fd, or null when a spare of that name already waits.
Napi::Value SpareListen(const Napi::CallbackInfo& info) {
  std::string name = info[0].As<Napi::String>().Utf8Value();
  int fd = ListenAbstract(name);
  if (fd == -EADDRINUSE) return info.Env().Null();
  if (fd < 0) return ThrowErrno(info.Env(), -fd, "bind", "@" + name);
  return Napi::Number::New(info.Env(), fd);
}

void Say(int fd, const char* s) {
  ssize_t r;
  do r = write(fd, s, strlen(s)); while (r < 0 && errno == EINTR);
}

// spareAccept(listenFd, timeoutMs): {conn, fds: [in, out, err], payload} once
// a caller like this process has handed over its request (it has been told
// "go"), or null when none came before the deadline. Callers of another
// identity, or with a malformed request, are turned away meanwhile.
Napi::Value SpareAccept(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int lfd = info[0].As<Napi::Number>().Int32Value();
  int timeoutMs = info[1].As<Napi::Number>().Int32Value();
  // The deadline holds across signals and turned-away callers: a restarted
  // poll would wait its whole timeout again (a profiler's SIGPROF every
  // 50 µs kept an idle spare alive for good).
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeoutMs);
  for (;;) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now()).count();
    pollfd p = {lfd, POLLIN, 0};
    int r = poll(&p, 1, left > 0 ? (int)left : 0);
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) return ThrowErrno(env, errno, "poll");
    if (r == 0) return env.Null();
    int conn = accept4(lfd, nullptr, nullptr, SOCK_CLOEXEC);
    if (conn < 0) {
      if (errno == EINTR || errno == ECONNABORTED || errno == EAGAIN) continue;
      return ThrowErrno(env, errno, "accept4");
    }
    if (!PeerIsLikeMe(conn)) {
      Say(conn, "refused\n");
      close(conn);
      continue;
    }
    // A caller that stalls mid-request must not hold the spare for good.
    timeval limit = {5, 0};
    setsockopt(conn, SOL_SOCKET, SO_RCVTIMEO, &limit, sizeof limit);
    int fds[3];
    std::string payload;
    if (!TakeSpareRequest(conn, fds, &payload)) {
      Say(conn, "refused\n");
      close(conn);
      continue;
    }
    timeval none = {0, 0};
    setsockopt(conn, SOL_SOCKET, SO_RCVTIMEO, &none, sizeof none);
    Say(conn, "go\n");
    Napi::Object o = Napi::Object::New(env);
    o.Set("conn", conn);
    Napi::Array a = Napi::Array::New(env, 3);
    for (uint32_t i = 0; i < 3; i++) a.Set(i, fds[i]);
    o.Set("fds", a);
    o.Set("payload", Napi::Buffer<char>::Copy(env, payload.data(), payload.size()));
    return o;
  }
}

std::vector<std::string> Strings(const Napi::Value& v) {
  Napi::Array a = v.As<Napi::Array>();
  std::vector<std::string> out;
  for (uint32_t i = 0; i < a.Length(); i++) out.push_back(a.Get(i).As<Napi::String>().Utf8Value());
  return out;
}

// spareHandOff(dist, args, cwd, env, [in, out, err]): the readiness line of
// the spare of this process's kind that took the request ('' if it said
// none), or null when no spare took it (nothing was done). Blocks until the
// spare has mounted or failed: a few milliseconds.
Napi::Value SpareHandOff(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string name = SpareName(BuildFilesOf(info[0].As<Napi::String>().Utf8Value()));
  if (name.empty()) return env.Null();
  Napi::Array fds = info[4].As<Napi::Array>();
  int stdio[3];
  for (uint32_t i = 0; i < 3; i++) stdio[i] = fds.Get(i).As<Napi::Number>().Int32Value();
  std::string ready;
  if (!HandToSpare(name, Strings(info[1]), info[2].As<Napi::String>().Utf8Value(), Strings(info[3]), stdio, &ready)) return env.Null();
  return Napi::String::New(env, ready);
}

// setCmdline(args): rewrites /proc/self/cmdline in place to the NUL-separated
// args, cut at the room the process started with (returns the bytes kept;
// 0 when /proc does not say where its argv is). Its own argv memory is
// writable and the kernel reads cmdline from there, so ps, pgrep and
// whoever finds a mount's daemon by its command line (the bench, umount
// helpers) see the line the spare was handed, not "spare-main.js".
Napi::Value SetCmdline(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Array args = info[0].As<Napi::Array>();
  FILE* f = fopen("/proc/self/stat", "r");
  if (!f) return Napi::Number::New(env, 0);
  char buf[4096];
  size_t n = fread(buf, 1, sizeof buf - 1, f);
  fclose(f);
  buf[n] = 0;
  char* p = strrchr(buf, ')');
  unsigned long long start = 0, end = 0;
  // After the k-th space past ")" comes field k + 2: arg_start is field 48, arg_end 49.
  for (int field = 2; p && field < 49; field++) {
    p = strchr(p + 1, ' ');
    if (p && field == 47) start = strtoull(p + 1, nullptr, 10);
    if (p && field == 48) end = strtoull(p + 1, nullptr, 10);
  }
  if (!start || end <= start) return Napi::Number::New(env, 0);
  char* area = (char*)(uintptr_t)start;
  size_t room = (size_t)(end - start);
  std::string line;
  for (uint32_t i = 0; i < args.Length(); i++) {
    line += args.Get(i).As<Napi::String>().Utf8Value();
    line.push_back('\0');
  }
  size_t keep = std::min(line.size(), room);
  memcpy(area, line.data(), keep);
  memset(area + keep, 0, room - keep);
  if (keep > 0) area[keep - 1] = 0;
  return Napi::Number::New(env, (double)keep);
}

}  // namespace

void InitSpare(Napi::Env env, Napi::Object e) {
  e.Set("spareName", Napi::Function::New(env, SpareNameJs, "spareName"));
  e.Set("spareListen", Napi::Function::New(env, SpareListen, "spareListen"));
  e.Set("spareAccept", Napi::Function::New(env, SpareAccept, "spareAccept"));
  e.Set("setCmdline", Napi::Function::New(env, SetCmdline, "setCmdline"));
  e.Set("spareHandOff", Napi::Function::New(env, SpareHandOff, "spareHandOff"));
}

}  // namespace strata
