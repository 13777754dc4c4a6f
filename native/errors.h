// Errors for the addon: every failed syscall becomes a JS Error shaped like
// Node's own (code 'ENOENT', errno -2, syscall, path), so callers in union/
// branch on err.code exactly as they would for node:fs.
#pragma once
#include <napi.h>
#include <string>

namespace strata {

// Throws (pending JS exception) and returns an empty value to return early.
Napi::Value ThrowErrno(Napi::Env env, int err, const char* syscall, const std::string& path = "");
void ThrowUsage(Napi::Env env, const char* what);

// Latin1 strings carry arbitrary name bytes 1:1 (non-UTF-8 names must survive).
std::string Latin1(const Napi::Value& v);
Napi::String FromLatin1(Napi::Env env, const char* s, size_t len);
inline Napi::String FromLatin1(Napi::Env env, const std::string& s) { return FromLatin1(env, s.data(), s.size()); }

}  // namespace strata
