// mount(2) and sethostname(2) for a container's init (container-init.ts);
// becoming the container's process is container-syscalls.cc's.
#include "exec-in-root.h"
#include "errors.h"

#include <sys/mount.h>
#include <unistd.h>

#include <cerrno>
#include <string>

namespace strata {
namespace {

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

}  // namespace

void InitExecInRoot(Napi::Env env, Napi::Object e) {
  e.Set("mount", Napi::Function::New(env, Mount, "mount"));
  e.Set("sethostname", Napi::Function::New(env, SetHostname, "sethostname"));
  Napi::Object c = e.Get("constants").As<Napi::Object>();
  struct { const char* name; double v; } consts[] = {
      {"MS_RDONLY", MS_RDONLY}, {"MS_NOSUID", MS_NOSUID}, {"MS_NODEV", MS_NODEV}, {"MS_NOEXEC", MS_NOEXEC},
      {"MS_BIND", MS_BIND}, {"MS_REC", MS_REC}, {"MS_PRIVATE", MS_PRIVATE}, {"MS_REMOUNT", MS_REMOUNT},
  };
  for (auto& k : consts) c.Set(k.name, Napi::Number::New(env, k.v));
}

}  // namespace strata
