// The replies from JS (see js-replies.h).
#include "js-replies.h"
#include "errors.h"
#include "js-requests.h"
#include "lower-opens.h"
#include "passthrough.h"
#include "session-locks.h"
#include "syscalls.h"

#include <fuse_lowlevel.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <mutex>
#include <string>
#include <vector>

namespace strata {
namespace {

// Takes the request for info[0]; the caller holds reqMu until it has replied.
fuse_req_t Take(const Napi::CallbackInfo& info, uint64_t* ino = nullptr) {
  return TakeRequest((uint64_t)info[0].As<Napi::Number>().Int64Value(), ino);
}

void ToEntry(const Napi::CallbackInfo& info, size_t at, struct fuse_entry_param* e) {
  memset(e, 0, sizeof *e);
  e->ino = (fuse_ino_t)info[at].As<Napi::Number>().Int64Value();
  e->generation = (uint64_t)info[at + 1].As<Napi::Number>().Int64Value();
  ToStat(info[at + 2], &e->attr);
  e->entry_timeout = info[at + 3].As<Napi::Number>().DoubleValue();
  e->attr_timeout = info[at + 4].As<Napi::Number>().DoubleValue();
}

// Open flags from JS (OPEN_* in src/native/binding.ts): bit 1 keep_cache,
// bit 8 cache_readdir, bit 16 a lower file's fd (re-opened at copy-up),
// bit 32 a regular file's backing fd (not a directory handle).
void ToOpen(uint32_t bits, double fh, struct fuse_file_info* fi) {
  memset(fi, 0, sizeof *fi);
  fi->fh = (uint64_t)fh;
  fi->keep_cache = (bits & 1) != 0;
  fi->cache_readdir = (bits & 8) != 0;
}

#define REPLY_BEGIN                               \
  std::lock_guard<std::mutex> g(reqMu);           \
  fuse_req_t req = Take(info);                    \
  if (!req) return Napi::Boolean::New(info.Env(), false);
#define REPLY_END return Napi::Boolean::New(info.Env(), true);

Napi::Value ReplyErr(const Napi::CallbackInfo& info) {
  REPLY_BEGIN
  fuse_reply_err(req, info[1].As<Napi::Number>().Int32Value());
  REPLY_END
}

// replyEntry(id, nodeid, generation, attr, entryTimeout, attrTimeout)
Napi::Value ReplyEntry(const Napi::CallbackInfo& info) {
  REPLY_BEGIN
  struct fuse_entry_param e;
  ToEntry(info, 1, &e);
  fuse_reply_entry(req, &e);
  REPLY_END
}

// replyCreate(id, nodeid, generation, attr, entryTimeout, attrTimeout, fd, openBits)
Napi::Value ReplyCreate(const Napi::CallbackInfo& info) {
  REPLY_BEGIN
  struct fuse_entry_param e;
  ToEntry(info, 1, &e);
  struct fuse_file_info fi;
  ToOpen(info[7].As<Napi::Number>().Uint32Value(), info[6].As<Napi::Number>().DoubleValue(), &fi);
  // A new file is an upper one: passed through where the kernel lets us.
  if (PassthroughReplyCreate(req, &e, &fi, true) < 0) close((int)fi.fh);  // the caller was interrupted
  REPLY_END
}

// replyAttr(id, attr, timeout)
Napi::Value ReplyAttr(const Napi::CallbackInfo& info) {
  REPLY_BEGIN
  struct stat st;
  ToStat(info[1], &st);
  fuse_reply_attr(req, &st, info[2].As<Napi::Number>().DoubleValue());
  REPLY_END
}

Napi::Value ReplyReadlink(const Napi::CallbackInfo& info) {
  REPLY_BEGIN
  std::string s = Latin1(info[1]);
  fuse_reply_readlink(req, s.c_str());
  REPLY_END
}

// replyOpen(id, fh, openBits): fh is a backing fd for files, a handle for dirs.
Napi::Value ReplyOpen(const Napi::CallbackInfo& info) {
  std::lock_guard<std::mutex> g(reqMu);
  uint64_t ino = 0;
  fuse_req_t req = Take(info, &ino);
  if (!req) return Napi::Boolean::New(info.Env(), false);
  uint32_t bits = info[2].As<Napi::Number>().Uint32Value();
  struct fuse_file_info fi;
  ToOpen(bits, info[1].As<Napi::Number>().DoubleValue(), &fi);
  bool lower = (bits & 16) != 0;
  bool file = (bits & 32) != 0;
  if (lower) AddLowerOpen(ino, (int)fi.fh);
  int r = file ? PassthroughReplyOpen(req, ino, &fi, !lower || PassthroughLowersAllowed()) : fuse_reply_open(req, &fi);
  bool closeOnFail = info.Length() > 3 && info[3].ToBoolean();
  // -ENOENT: the opener was interrupted; for a file, any failure (its
  // registration already undone) leaves the fd to us.
  if (r < 0 && closeOnFail && (r == -ENOENT || file)) {
    if (lower) DropLowerOpen((int)fi.fh);
    close((int)fi.fh);
  }
  REPLY_END
}

Napi::Value ReplyBuf(const Napi::CallbackInfo& info) {
  REPLY_BEGIN
  Napi::Buffer<char> b = info[1].As<Napi::Buffer<char>>();
  fuse_reply_buf(req, b.Data(), b.Length());
  REPLY_END
}

Napi::Value ReplyXattrSize(const Napi::CallbackInfo& info) {
  REPLY_BEGIN
  fuse_reply_xattr(req, (size_t)info[1].As<Napi::Number>().Int64Value());
  REPLY_END
}

Napi::Value ReplyStatfs(const Napi::CallbackInfo& info) {
  REPLY_BEGIN
  struct statvfs s;
  ToStatvfs(info[1].As<Napi::Float64Array>().Data(), &s);
  fuse_reply_statfs(req, &s);
  REPLY_END
}

// Fills a readdir reply with entries from add(req, i, buf, room), which
// returns the room entry i needs (fuse_add_direntry*), until one does not
// fit; returns how many went in (-1: the request is gone).
template <typename Add>
Napi::Value FillDir(const Napi::CallbackInfo& info, uint32_t n, Add add) {
  Napi::Env env = info.Env();
  std::lock_guard<std::mutex> g(reqMu);
  fuse_req_t req = Take(info);
  if (!req) return Napi::Number::New(env, -1);
  size_t size = (size_t)info[1].As<Napi::Number>().Int64Value();
  std::vector<char> buf(size);
  size_t used = 0;
  uint32_t i = 0;
  for (; i < n; i++) {
    size_t need = add(req, i, buf.data() + used, size - used);
    if (need > size - used) break;
    used += need;
  }
  fuse_reply_buf(req, buf.data(), used);
  return Napi::Number::New(env, i);
}

// replyDir(id, size, names, inos, types, offs)
Napi::Value ReplyDir(const Napi::CallbackInfo& info) {
  Napi::Array names = info[2].As<Napi::Array>();
  const double* inos = info[3].As<Napi::Float64Array>().Data();
  const uint8_t* types = info[4].As<Napi::Uint8Array>().Data();
  const double* offs = info[5].As<Napi::Float64Array>().Data();
  return FillDir(info, names.Length(), [&](fuse_req_t req, uint32_t i, char* buf, size_t room) {
    std::string name = Latin1(names.Get(i));
    struct stat st;
    memset(&st, 0, sizeof st);
    st.st_ino = (ino_t)inos[i];
    st.st_mode = (mode_t)types[i] << 12;
    return fuse_add_direntry(req, buf, room, name.c_str(), &st, (off_t)offs[i]);
  });
}

// replyDirPlus(id, size, names, offs, nodeids, attrs[], entryTimeouts, attrTimeouts):
// JS has already counted which entries fit (and looked them up); a nodeid
// of 0 marks "." and "..", for which the kernel takes no reference.
Napi::Value ReplyDirPlus(const Napi::CallbackInfo& info) {
  Napi::Array names = info[2].As<Napi::Array>();
  const double* offs = info[3].As<Napi::Float64Array>().Data();
  const double* nodeids = info[4].As<Napi::Float64Array>().Data();
  Napi::Array attrs = info[5].As<Napi::Array>();
  const double* ets = info[6].As<Napi::Float64Array>().Data();
  const double* ats = info[7].As<Napi::Float64Array>().Data();
  return FillDir(info, names.Length(), [&](fuse_req_t req, uint32_t i, char* buf, size_t room) {
    std::string name = Latin1(names.Get(i));
    struct fuse_entry_param e;
    memset(&e, 0, sizeof e);
    e.ino = (fuse_ino_t)nodeids[i];
    ToStat(attrs.Get(i), &e.attr);
    e.entry_timeout = ets[i];
    e.attr_timeout = ats[i];
    return fuse_add_direntry_plus(req, buf, room, name.c_str(), &e, (off_t)offs[i]);
  });
}

}  // namespace

void InitJsReplies(Napi::Env env, Napi::Object e) {
  struct { const char* name; Napi::Function::Callback fn; } fns[] = {
      {"replyErr", ReplyErr},           {"replyEntry", ReplyEntry},         {"replyCreate", ReplyCreate},
      {"replyAttr", ReplyAttr},         {"replyReadlink", ReplyReadlink},   {"replyOpen", ReplyOpen},
      {"replyBuf", ReplyBuf},           {"replyXattrSize", ReplyXattrSize}, {"replyStatfs", ReplyStatfs},
      {"replyDir", ReplyDir},           {"replyDirPlus", ReplyDirPlus},
  };
  for (auto& f : fns) e.Set(f.name, Napi::Function::New(env, f.fn, f.name));
}

}  // namespace strata
