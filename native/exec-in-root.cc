// What `strata run` needs at the very end and Node cannot do: mount(2),
// sethostname(2), and becoming the container's process — chroot, chdir,
// drop to the image's user, execve — in one call, since nothing of this
// process may run after it.
#include "exec-in-root.h"
#include "errors.h"

#include <fcntl.h>
#include <grp.h>
#include <sys/mount.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <string>
#include <vector>

namespace strata {
namespace {

std::vector<std::string> Strings(const Napi::Value& v) {
  std::vector<std::string> out;
  Napi::Array a = v.As<Napi::Array>();
  for (uint32_t i = 0; i < a.Length(); i++) out.push_back(a.Get(i).As<Napi::String>().Utf8Value());
  return out;
}

// mount(source, target, fstype, flags, data)
Napi::Value Mount(const Napi::CallbackInfo& info) {
  std::string src = info[0].As<Napi::String>().Utf8Value(), target = Latin1(info[1]);
  std::string type = info[2].As<Napi::String>().Utf8Value(), data = info[4].As<Napi::String>().Utf8Value();
  unsigned long flags = (unsigned long)info[3].As<Napi::Number>().Int64Value();
  if (mount(src.empty() ? nullptr : src.c_str(), target.c_str(), type.empty() ? nullptr : type.c_str(), flags,
            data.empty() ? nullptr : data.c_str()) < 0)
    return ThrowErrno(info.Env(), errno, "mount", target);
  return info.Env().Undefined();
}

Napi::Value SetHostname(const Napi::CallbackInfo& info) {
  std::string name = info[0].As<Napi::String>().Utf8Value();
  if (sethostname(name.c_str(), name.size()) < 0) return ThrowErrno(info.Env(), errno, "sethostname", name);
  return info.Env().Undefined();
}

// execInRoot(root, cwd, uid, gid, groups, argv, env): returns only on failure.
Napi::Value ExecInRoot(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string root = Latin1(info[0]), cwd = Latin1(info[1]);
  uid_t uid = (uid_t)info[2].As<Napi::Number>().Int64Value();
  gid_t gid = (gid_t)info[3].As<Napi::Number>().Int64Value();
  std::vector<gid_t> groups;
  Napi::Array g = info[4].As<Napi::Array>();
  for (uint32_t i = 0; i < g.Length(); i++) groups.push_back((gid_t)g.Get(i).As<Napi::Number>().Int64Value());
  std::vector<std::string> argv = Strings(info[5]), envs = Strings(info[6]);
  if (argv.empty()) { ThrowUsage(env, "no command to run"); return env.Undefined(); }
  if (chroot(root.c_str()) < 0) return ThrowErrno(env, errno, "chroot", root);
  if (chdir(cwd.c_str()) < 0) return ThrowErrno(env, errno, "chdir", cwd);
  if (setgroups(groups.size(), groups.data()) < 0) return ThrowErrno(env, errno, "setgroups");
  if (setgid(gid) < 0) return ThrowErrno(env, errno, "setgid");
  if (setuid(uid) < 0) return ThrowErrno(env, errno, "setuid");
  std::vector<char*> av, ev;
  for (auto& s : argv) av.push_back(s.data());
  av.push_back(nullptr);
  std::string path = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
  for (auto& s : envs) {
    ev.push_back(s.data());
    if (s.rfind("PATH=", 0) == 0) path = s.substr(5);
  }
  ev.push_back(nullptr);
  // Node leaves signals blocked or ignored that a new program must not inherit.
  sigset_t all;
  sigemptyset(&all);
  sigprocmask(SIG_SETMASK, &all, nullptr);
  for (int s = 1; s < NSIG; s++) signal(s, SIG_DFL);
  // Node marks the standard fds close-on-exec; the command needs them.
  for (int fd = 0; fd <= 2; fd++) {
    int flags = fcntl(fd, F_GETFD);
    if (flags >= 0) fcntl(fd, F_SETFD, flags & ~FD_CLOEXEC);
  }
  int err = ENOENT;
  if (argv[0].find('/') != std::string::npos) {
    execve(argv[0].c_str(), av.data(), ev.data());
    err = errno;
  } else {
    for (size_t start = 0; start <= path.size();) {
      size_t end = path.find(':', start);
      if (end == std::string::npos) end = path.size();
      std::string candidate = path.substr(start, end - start);
      candidate = (candidate.empty() ? "." : candidate) + "/" + argv[0];
      execve(candidate.c_str(), av.data(), ev.data());
      if (errno != ENOENT && errno != ENOTDIR) err = errno;
      start = end + 1;
    }
  }
  return ThrowErrno(env, err, "execve", argv[0]);
}

}  // namespace

void InitExecInRoot(Napi::Env env, Napi::Object e) {
  e.Set("mount", Napi::Function::New(env, Mount, "mount"));
  e.Set("sethostname", Napi::Function::New(env, SetHostname, "sethostname"));
  e.Set("execInRoot", Napi::Function::New(env, ExecInRoot, "execInRoot"));
  Napi::Object c = e.Get("constants").As<Napi::Object>();
  struct { const char* name; double v; } consts[] = {
      {"MS_RDONLY", MS_RDONLY}, {"MS_NOSUID", MS_NOSUID}, {"MS_NODEV", MS_NODEV}, {"MS_NOEXEC", MS_NOEXEC},
      {"MS_BIND", MS_BIND}, {"MS_REC", MS_REC}, {"MS_PRIVATE", MS_PRIVATE}, {"MS_REMOUNT", MS_REMOUNT},
  };
  for (auto& k : consts) c.Set(k.name, Napi::Number::New(env, k.v));
}

}  // namespace strata
