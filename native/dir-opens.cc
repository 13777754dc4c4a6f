// The stable-directory registry and native directory handles (see dir-opens.h).
#include "dir-opens.h"

#include <mutex>
#include <unordered_map>
#include <unordered_set>

namespace strata {
namespace {
std::mutex dirMu;
// nodeid -> open bits (OPEN_* in src/native/binding.ts: 1 keep_cache, 8 cache_readdir).
std::unordered_map<uint64_t, uint32_t> stableDirs;
// Native handles a READDIR has shown to JS: JS holds a listing for each.
std::unordered_set<uint64_t> jsSeen;
// Native handles whose listing JS has sent to the end -> that end offset.
std::unordered_map<uint64_t, uint64_t> atEnd;
uint64_t nextFh = kDirFhBase;

Napi::Value DirStable(const Napi::CallbackInfo& info) {
  uint64_t ino = (uint64_t)info[0].As<Napi::Number>().Int64Value();
  uint32_t bits = info[1].As<Napi::Number>().Uint32Value();
  std::lock_guard<std::mutex> g(dirMu);
  stableDirs[ino] = bits;
  return info.Env().Undefined();
}

Napi::Value DirUnstable(const Napi::CallbackInfo& info) {
  uint64_t ino = (uint64_t)info[0].As<Napi::Number>().Int64Value();
  std::lock_guard<std::mutex> g(dirMu);
  stableDirs.erase(ino);
  return info.Env().Undefined();
}
Napi::Value DirAtEnd(const Napi::CallbackInfo& info) {
  uint64_t fh = (uint64_t)info[0].As<Napi::Number>().Int64Value();
  uint64_t end = (uint64_t)info[1].As<Napi::Number>().Int64Value();
  if (fh < kDirFhBase) return info.Env().Undefined();
  std::lock_guard<std::mutex> g(dirMu);
  jsSeen.erase(fh);
  atEnd[fh] = end;
  return info.Env().Undefined();
}
}  // namespace

void ResetDirOpens() {
  std::lock_guard<std::mutex> g(dirMu);
  stableDirs.clear();
  jsSeen.clear();
  atEnd.clear();
}

bool OpenDirNative(fuse_ino_t ino, struct fuse_file_info* fi) {
  std::lock_guard<std::mutex> g(dirMu);
  auto it = stableDirs.find(ino);
  if (it == stableDirs.end()) return false;
  fi->fh = nextFh++;
  fi->keep_cache = (it->second & 1) != 0;
  fi->cache_readdir = (it->second & 8) != 0;
  return true;
}

void DirHandleToJs(uint64_t fh) {
  if (fh < kDirFhBase) return;
  std::lock_guard<std::mutex> g(dirMu);
  jsSeen.insert(fh);
}

bool ReleaseDirNative(uint64_t fh) {
  if (fh < kDirFhBase) return false;
  std::lock_guard<std::mutex> g(dirMu);
  atEnd.erase(fh);
  return jsSeen.erase(fh) == 0;
}

bool ReaddirAtEndNative(fuse_req_t req, uint64_t fh, off_t off) {
  if (fh < kDirFhBase) return false;
  {
    std::lock_guard<std::mutex> g(dirMu);
    auto it = atEnd.find(fh);
    if (it == atEnd.end()) return false;
    if (off < 0 || (uint64_t)off < it->second) {
      // Back before the end: JS lists the directory again for this handle.
      atEnd.erase(it);
      return false;
    }
  }
  fuse_reply_buf(req, nullptr, 0);
  return true;
}

void InitDirOpens(Napi::Env env, Napi::Object e) {
  e.Set("dirStable", Napi::Function::New(env, DirStable, "dirStable"));
  e.Set("dirUnstable", Napi::Function::New(env, DirUnstable, "dirUnstable"));
  e.Set("dirAtEnd", Napi::Function::New(env, DirAtEnd, "dirAtEnd"));
  e.Set("nativeDirFhBase", Napi::Number::New(env, (double)kDirFhBase));
}

}  // namespace strata
