// See errors.h. uv_err_name gives the same code names that node:fs uses.
#include "errors.h"
#include <uv.h>
#include <cstring>

namespace strata {

Napi::Value ThrowErrno(Napi::Env env, int err, const char* syscall, const std::string& path) {
  const char* code = uv_err_name(-err);
  std::string msg = std::string(code) + ": " + strerror(err) + ", " + syscall;
  if (!path.empty()) msg += " '" + path + "'";
  Napi::Error e = Napi::Error::New(env, msg);
  e.Set("code", Napi::String::New(env, code));
  e.Set("errno", Napi::Number::New(env, -err));
  e.Set("syscall", Napi::String::New(env, syscall));
  if (!path.empty()) e.Set("path", FromLatin1(env, path));
  e.ThrowAsJavaScriptException();
  return env.Undefined();
}

void ThrowUsage(Napi::Env env, const char* what) {
  Napi::TypeError e = Napi::TypeError::New(env, what);
  e.Set("code", Napi::String::New(env, "EINVAL"));
  e.ThrowAsJavaScriptException();
}

std::string Latin1(const Napi::Value& v) {
  napi_env env = v.Env();
  size_t len = 0;
  napi_get_value_string_latin1(env, v, nullptr, 0, &len);
  std::string out(len, '\0');
  napi_get_value_string_latin1(env, v, out.data(), len + 1, &len);
  return out;
}

Napi::String FromLatin1(Napi::Env env, const char* s, size_t len) {
  napi_value v;
  napi_create_string_latin1(env, s, len, &v);
  return Napi::String(env, v);
}

}  // namespace strata
