// The request table and the calls into JS (see js-requests.h).
#include "js-requests.h"
#include "pause-gate.h"
#include "session-locks.h"

#include <fcntl.h>

#include <cerrno>

#include <mutex>
#include <unordered_map>
#include <vector>

namespace strata {

std::mutex reqMu;

namespace {

void CallJs(Napi::Env env, Napi::Function fn, std::nullptr_t*, Call* c);
using Tsfn = Napi::TypedThreadSafeFunction<std::nullptr_t, Call, CallJs>;

Tsfn tsfn;
struct Pending {
  fuse_req_t req;
  bool mutating;
  uint64_t ino;
};
std::unordered_map<uint64_t, Pending> reqs;
uint64_t nextId = 1;

uint64_t Track(fuse_req_t req, bool mutating, uint64_t ino) {
  std::lock_guard<std::mutex> g(reqMu);
  uint64_t id = nextId++;
  reqs.emplace(id, Pending{req, mutating, ino});
  return id;
}

bool Mutating(const Call* c) {
  if (c->op == OP_OPEN) {  // a write open may copy up
    int flags = (int)static_cast<const OpenCall*>(c)->flags;
    return (flags & O_ACCMODE) != O_RDONLY || (flags & O_TRUNC);
  }
  return MutatingOp(c->op);
}

// Forgets wait here for the JS thread: one queued FORGET call carries every
// pair that arrives before JS takes it, from however many kernel requests
// (single FORGETs come one per request). Delay is safe: a forget only drops
// references the kernel already got, and counts add up in any order.
// forgetMu is a leaf lock (session-locks.h).
std::mutex forgetMu;
std::vector<double> pendingForgets;
bool forgetQueued = false;

// On the JS thread, as the queued FORGET call is delivered.
void TakeForgets(std::vector<double>* into) {
  std::lock_guard<std::mutex> g(forgetMu);
  into->swap(pendingForgets);
  forgetQueued = false;
}

void CallJs(Napi::Env env, Napi::Function fn, std::nullptr_t*, Call* c) {
  if (env == nullptr || fn.IsEmpty()) { delete c; return; }
  std::vector<napi_value> a;
  a.push_back(Napi::Number::New(env, c->op));
  a.push_back(Napi::Number::New(env, (double)c->id));
  a.push_back(Napi::Number::New(env, (double)c->ino));
  if (c->op == OP_FORGET) TakeForgets(&static_cast<ForgetCall*>(c)->forgets);
  c->Push(env, a);
  delete c;
  fn.Call(a);
}

}  // namespace

void Send(Call* c, fuse_req_t req) {
  bool mutating = req && Mutating(c);
  if (mutating) MutBegin();
  if (req) c->id = Track(req, mutating, c->ino);
  if (tsfn.NonBlockingCall(c) != napi_ok) {
    if (req) {
      std::lock_guard<std::mutex> g(reqMu);
      reqs.erase(c->id);
      fuse_reply_err(req, EIO);
    }
    if (mutating) MutDone();
    delete c;
  }
}

fuse_req_t TakeRequest(uint64_t id, uint64_t* ino) {
  auto it = reqs.find(id);
  if (it == reqs.end()) return nullptr;
  fuse_req_t r = it->second.req;
  if (ino) *ino = it->second.ino;
  if (it->second.mutating) MutDone();
  reqs.erase(it);
  return r;
}

void QueueForgets(const struct fuse_forget_data* f, size_t count) {
  bool send;
  {
    std::lock_guard<std::mutex> g(forgetMu);
    for (size_t i = 0; i < count; i++) {
      pendingForgets.push_back((double)f[i].ino);
      pendingForgets.push_back((double)f[i].nlookup);
    }
    send = !forgetQueued;
    forgetQueued = true;
  }
  // If the call cannot be queued the session is ending: its nodes go with it.
  if (send) Send(new ForgetCall(0), nullptr);
}

// The kernel sends the umask because ll_init asks for FUSE_CAP_DONT_MASK.
Caller CallerOf(fuse_req_t req) {
  const struct fuse_ctx* ctx = fuse_req_ctx(req);
  Caller c;
  c.uid = ctx->uid;
  c.gid = ctx->gid;
  c.umask = ctx->umask;
  return c;
}

void StartJsCalls(Napi::Env env, Napi::Function dispatch) {
  {
    // Forgets of a previous session in this process are not this one's.
    std::lock_guard<std::mutex> g(forgetMu);
    pendingForgets.clear();
    forgetQueued = false;
  }
  tsfn = Tsfn::New(env, dispatch, "strata-fuse", 0, 1);
}

void DropRequests() {
  for (auto& p : reqs) if (p.second.mutating) MutDone();
  reqs.clear();
}

void EndJsCalls(int code) {
  auto* c = new ExitCall(0);
  c->code = code;
  tsfn.BlockingCall(c);
  tsfn.Release();
}

}  // namespace strata
