// Entries made ahead by JS (see entry-index.h).
#include "entry-index.h"
#include "errors.h"
#include "syscalls.h"

#include <cstring>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

namespace strata {
namespace {

using Names = std::unordered_map<std::string, struct fuse_entry_param>;

std::mutex indexMu;
std::unordered_map<uint64_t, Names> dirs;

uint64_t U64(const Napi::Value& v) { return (uint64_t)v.As<Napi::Number>().Int64Value(); }

// entryIndexSet(parent, names, nodeids, attrs, entryTimeout, attrTimeouts):
// adds to what parent has indexed; a name already there keeps its entry
// (JS does not index a name twice).
Napi::Value EntryIndexSet(const Napi::CallbackInfo& info) {
  uint64_t parent = U64(info[0]);
  Napi::Array names = info[1].As<Napi::Array>();
  Napi::Float64Array ids = info[2].As<Napi::Float64Array>();
  Napi::Array attrs = info[3].As<Napi::Array>();
  double entryTimeout = info[4].As<Napi::Number>().DoubleValue();
  Napi::Float64Array attrTimeouts = info[5].As<Napi::Float64Array>();
  uint32_t n = names.Length();
  std::vector<std::pair<std::string, struct fuse_entry_param>> made;
  made.reserve(n);
  for (uint32_t i = 0; i < n; i++) {
    struct fuse_entry_param e;
    memset(&e, 0, sizeof e);
    e.ino = (fuse_ino_t)ids[i];
    ToStat(attrs.Get(i), &e.attr);
    e.entry_timeout = entryTimeout;
    e.attr_timeout = attrTimeouts[i];
    made.emplace_back(Latin1(names.Get(i)), e);
  }
  std::lock_guard<std::mutex> g(indexMu);
  Names& d = dirs[parent];
  for (auto& m : made) d.emplace(std::move(m.first), m.second);
  return info.Env().Undefined();
}

// entryIndexTake(parent, name): the node id of the entry taken back, or 0
// when the name is not indexed (never was, or the kernel has it now).
Napi::Value EntryIndexTake(const Napi::CallbackInfo& info) {
  uint64_t parent = U64(info[0]);
  std::string name = Latin1(info[1]);
  double id = 0;
  {
    std::lock_guard<std::mutex> g(indexMu);
    auto d = dirs.find(parent);
    if (d != dirs.end()) {
      auto it = d->second.find(name);
      if (it != d->second.end()) {
        id = (double)it->second.ino;
        d->second.erase(it);
        if (d->second.empty()) dirs.erase(d);
      }
    }
  }
  return Napi::Number::New(info.Env(), id);
}

// entryIndexDrop(parent): the node ids of every entry taken back.
Napi::Value EntryIndexDrop(const Napi::CallbackInfo& info) {
  uint64_t parent = U64(info[0]);
  std::vector<double> ids;
  {
    std::lock_guard<std::mutex> g(indexMu);
    auto d = dirs.find(parent);
    if (d != dirs.end()) {
      ids.reserve(d->second.size());
      for (auto& kv : d->second) ids.push_back((double)kv.second.ino);
      dirs.erase(d);
    }
  }
  Napi::Float64Array out = Napi::Float64Array::New(info.Env(), ids.size());
  std::copy(ids.begin(), ids.end(), out.Data());
  return out;
}

}  // namespace

bool IndexedLookup(fuse_req_t req, fuse_ino_t parent, const char* name) {
  struct fuse_entry_param e;
  {
    // Every LOOKUP that JS would answer passes here: the name is copied
    // only for a directory that has entries.
    std::lock_guard<std::mutex> g(indexMu);
    auto d = dirs.find(parent);
    if (d == dirs.end()) return false;
    auto it = d->second.find(name);
    if (it == d->second.end()) return false;
    e = it->second;
    d->second.erase(it);
    if (d->second.empty()) dirs.erase(d);
  }
  // The reference goes to the kernel with the reply. A reply that cannot go
  // out (the lookup was interrupted) leaves it with the node, which then
  // stays until the mount ends: not put back, since by then the directory
  // may have changed and JS already taken its entries back.
  fuse_reply_entry(req, &e);
  return true;
}

void ResetEntryIndex() {
  std::lock_guard<std::mutex> g(indexMu);
  dirs.clear();
}

void InitEntryIndex(Napi::Env env, Napi::Object e) {
  e.Set("entryIndexSet", Napi::Function::New(env, EntryIndexSet, "entryIndexSet"));
  e.Set("entryIndexTake", Napi::Function::New(env, EntryIndexTake, "entryIndexTake"));
  e.Set("entryIndexDrop", Napi::Function::New(env, EntryIndexDrop, "entryIndexDrop"));
}

}  // namespace strata
