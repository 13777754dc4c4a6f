// The syscalls a container's set-up needs and Node lacks: pivot_root with the
// old root detached, bringing up lo in a new network namespace, compiling a
// seccomp profile (libseccomp) to BPF, and becoming the container's process
// (enter-process.cc). Profiles are compiled in the parent, so the container's
// init only installs bytes.
#include "container-syscalls.h"
#include "enter-process.h"
#include "pty-relay.h"
#include "errors.h"

#include <fcntl.h>
#include <linux/capability.h>
#include <net/if.h>
#include <poll.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <termios.h>
#include <seccomp.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
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

// pivotRoot(newRoot): as runc does, pivot_root(".", ".") stacks the old root
// on the new one, and a detaching unmount of "." then drops it, so no path
// inside leads back to the host's tree.
Napi::Value PivotRoot(const Napi::CallbackInfo& info) {
  std::string root = Latin1(info[0]);
  int oldroot = open("/", O_DIRECTORY | O_RDONLY | O_CLOEXEC);
  if (oldroot < 0) return ThrowErrno(info.Env(), errno, "open", "/");
  int newroot = open(root.c_str(), O_DIRECTORY | O_RDONLY | O_CLOEXEC);
  if (newroot < 0) { close(oldroot); return ThrowErrno(info.Env(), errno, "open", root); }
  const char* step = nullptr;
  if (fchdir(newroot) < 0) step = "fchdir";
  else if (syscall(SYS_pivot_root, ".", ".") < 0) step = "pivot_root";
  else if (fchdir(oldroot) < 0) step = "fchdir";
  // The old root must not propagate our unmount back to the host.
  else if (mount(nullptr, ".", nullptr, MS_SLAVE | MS_REC, nullptr) < 0) step = "mount(MS_SLAVE)";
  else if (umount2(".", MNT_DETACH) < 0) step = "umount2";
  else if (chdir("/") < 0) step = "chdir";
  int e = errno;
  close(oldroot);
  close(newroot);
  if (step) return ThrowErrno(info.Env(), e, step, root);
  return info.Env().Undefined();
}

Napi::Value LoopbackUp(const Napi::CallbackInfo& info) {
  int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (s < 0) return ThrowErrno(info.Env(), errno, "socket");
  struct ifreq ifr;
  memset(&ifr, 0, sizeof ifr);
  strncpy(ifr.ifr_name, "lo", IFNAMSIZ - 1);
  int r = ioctl(s, SIOCGIFFLAGS, &ifr);
  if (r == 0) {
    ifr.ifr_flags |= IFF_UP | IFF_RUNNING;
    r = ioctl(s, SIOCSIFFLAGS, &ifr);
  }
  int e = errno;
  close(s);
  if (r < 0) return ThrowErrno(info.Env(), e, "ioctl(SIOCSIFFLAGS)", "lo");
  return info.Env().Undefined();
}

bool Action(const std::string& name, uint32_t errnoRet, uint32_t* out) {
  if (name == "SCMP_ACT_ALLOW") *out = SCMP_ACT_ALLOW;
  else if (name == "SCMP_ACT_ERRNO") *out = SCMP_ACT_ERRNO(errnoRet);
  else if (name == "SCMP_ACT_KILL" || name == "SCMP_ACT_KILL_THREAD") *out = SCMP_ACT_KILL;
  else if (name == "SCMP_ACT_KILL_PROCESS") *out = SCMP_ACT_KILL_PROCESS;
  else if (name == "SCMP_ACT_TRAP") *out = SCMP_ACT_TRAP;
  else if (name == "SCMP_ACT_LOG") *out = SCMP_ACT_LOG;
  else if (name == "SCMP_ACT_TRACE") *out = SCMP_ACT_TRACE(errnoRet);
  else return false;
  return true;
}

bool Op(const std::string& name, enum scmp_compare* out) {
  static const struct { const char* n; enum scmp_compare op; } ops[] = {
      {"SCMP_CMP_NE", SCMP_CMP_NE}, {"SCMP_CMP_LT", SCMP_CMP_LT}, {"SCMP_CMP_LE", SCMP_CMP_LE},
      {"SCMP_CMP_EQ", SCMP_CMP_EQ}, {"SCMP_CMP_GE", SCMP_CMP_GE}, {"SCMP_CMP_GT", SCMP_CMP_GT},
      {"SCMP_CMP_MASKED_EQ", SCMP_CMP_MASKED_EQ},
  };
  for (auto& o : ops)
    if (name == o.n) { *out = o.op; return true; }
  return false;
}

// compileSeccomp(defaultAction, defaultErrno, arches, rules) → Buffer of BPF.
// rules: [names[], action, errno, [[index, op, value, valueTwo], …]] with
// values as decimal strings (64-bit). Names the kernel or libseccomp does not
// know are skipped, as runc does.
Napi::Value CompileSeccomp(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  uint32_t def;
  if (!Action(info[0].As<Napi::String>().Utf8Value(), info[1].As<Napi::Number>().Uint32Value(), &def)) {
    ThrowUsage(env, "unknown seccomp defaultAction");
    return env.Undefined();
  }
  scmp_filter_ctx ctx = seccomp_init(def);
  if (!ctx) return ThrowErrno(env, ENOMEM, "seccomp_init");
  std::string bad;
  for (auto& a : Strings(info[2])) {
    uint32_t arch = seccomp_arch_resolve_name(a.c_str());
    if (arch && arch != seccomp_arch_native()) seccomp_arch_add(ctx, arch);
  }
  Napi::Array rules = info[3].As<Napi::Array>();
  for (uint32_t i = 0; i < rules.Length() && bad.empty(); i++) {
    Napi::Array r = rules.Get(i).As<Napi::Array>();
    uint32_t act;
    if (!Action(r.Get(1u).As<Napi::String>().Utf8Value(), r.Get(2u).As<Napi::Number>().Uint32Value(), &act)) {
      bad = "unknown seccomp action " + r.Get(1u).As<Napi::String>().Utf8Value();
      break;
    }
    std::vector<struct scmp_arg_cmp> cmps;
    Napi::Array args = r.Get(3u).As<Napi::Array>();
    for (uint32_t j = 0; j < args.Length(); j++) {
      Napi::Array x = args.Get(j).As<Napi::Array>();
      struct scmp_arg_cmp c;
      c.arg = x.Get(0u).As<Napi::Number>().Uint32Value();
      if (!Op(x.Get(1u).As<Napi::String>().Utf8Value(), &c.op)) { bad = "unknown seccomp op"; break; }
      c.datum_a = strtoull(x.Get(2u).As<Napi::String>().Utf8Value().c_str(), nullptr, 10);
      c.datum_b = strtoull(x.Get(3u).As<Napi::String>().Utf8Value().c_str(), nullptr, 10);
      cmps.push_back(c);
    }
    if (act == def) continue;
    for (auto& name : Strings(r.Get(0u))) {
      int nr = seccomp_syscall_resolve_name(name.c_str());
      if (nr == __NR_SCMP_ERROR) continue;
      int rc = seccomp_rule_add_array(ctx, act, nr, cmps.size(), cmps.data());
      // -EEXIST/-EACCES: a rule already covers it, or it equals the default.
      if (rc < 0 && rc != -EEXIST && rc != -EACCES) { bad = "seccomp rule for " + name + ": " + strerror(-rc); break; }
    }
  }
  if (!bad.empty()) {
    seccomp_release(ctx);
    ThrowUsage(env, bad.c_str());
    return env.Undefined();
  }
  int fd = memfd_create("seccomp-bpf", MFD_CLOEXEC);
  int rc = fd < 0 ? -errno : seccomp_export_bpf(ctx, fd);
  seccomp_release(ctx);
  if (rc < 0) { if (fd >= 0) close(fd); return ThrowErrno(env, -rc, "seccomp_export_bpf"); }
  off_t len = lseek(fd, 0, SEEK_END);
  Napi::Buffer<uint8_t> out = Napi::Buffer<uint8_t>::New(env, (size_t)len);
  ssize_t got = pread(fd, out.Data(), (size_t)len, 0);
  close(fd);
  if (got != len) return ThrowErrno(env, EIO, "pread", "seccomp-bpf");
  return out;
}

// enterContainer({cwd, uid, gid, groups, argv, env, caps, noNewPrivs, seccomp, tty}):
// returns only by throwing.
Napi::Value EnterContainer(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Object o = info[0].As<Napi::Object>();
  ProcessSpec spec;
  spec.cwd = Latin1(o.Get("cwd"));
  spec.uid = (uid_t)o.Get("uid").As<Napi::Number>().Int64Value();
  spec.gid = (gid_t)o.Get("gid").As<Napi::Number>().Int64Value();
  Napi::Array g = o.Get("groups").As<Napi::Array>();
  for (uint32_t i = 0; i < g.Length(); i++) spec.groups.push_back((gid_t)g.Get(i).As<Napi::Number>().Int64Value());
  Napi::Array c = o.Get("caps").As<Napi::Array>();
  for (uint32_t i = 0; i < c.Length(); i++) spec.caps.push_back(c.Get(i).As<Napi::Number>().Int32Value());
  spec.argv = Strings(o.Get("argv"));
  spec.env = Strings(o.Get("env"));
  spec.noNewPrivs = o.Get("noNewPrivs").ToBoolean();
  Napi::Value bpf = o.Get("seccomp");
  if (bpf.IsBuffer()) {
    auto b = bpf.As<Napi::Buffer<uint8_t>>();
    spec.seccomp.assign(b.Data(), b.Data() + b.Length());
  }
  if (o.Get("tty").ToBoolean()) RunWithPty(spec);
  std::string what;
  int err = EnterProcess(spec, &what);
  return ThrowErrno(env, err, what.c_str(), spec.argv.empty() ? "" : spec.argv[0]);
}

}  // namespace

void InitContainerSyscalls(Napi::Env env, Napi::Object e) {
  e.Set("pivotRoot", Napi::Function::New(env, PivotRoot, "pivotRoot"));
  e.Set("loopbackUp", Napi::Function::New(env, LoopbackUp, "loopbackUp"));
  e.Set("compileSeccomp", Napi::Function::New(env, CompileSeccomp, "compileSeccomp"));
  e.Set("enterContainer", Napi::Function::New(env, EnterContainer, "enterContainer"));
  Napi::Object c = e.Get("constants").As<Napi::Object>();
  c.Set("MS_SLAVE", Napi::Number::New(env, MS_SLAVE));
  c.Set("MS_STRICTATIME", Napi::Number::New(env, MS_STRICTATIME));
}

}  // namespace strata
