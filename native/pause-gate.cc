// The pause gate (see pause-gate.h).
#include "pause-gate.h"

#include <condition_variable>
#include <mutex>

namespace strata {
namespace {
std::mutex pauseMu;
std::condition_variable pauseCv;
bool paused = false;
int inflight = 0;
}  // namespace

void MutBegin() {
  std::unique_lock<std::mutex> l(pauseMu);
  pauseCv.wait(l, [] { return !paused; });
  inflight++;
}

void MutDone() {
  std::lock_guard<std::mutex> l(pauseMu);
  inflight--;
  pauseCv.notify_all();
}

// fusePause(on): stop (or let go) new changes to the upper layer.
Napi::Value Pause(const Napi::CallbackInfo& info) {
  std::lock_guard<std::mutex> l(pauseMu);
  paused = info[0].ToBoolean();
  pauseCv.notify_all();
  return info.Env().Undefined();
}

// fuseInflight(): changes under way (0 once a pause has taken hold).
Napi::Value Inflight(const Napi::CallbackInfo& info) {
  std::lock_guard<std::mutex> l(pauseMu);
  return Napi::Number::New(info.Env(), inflight);
}

}  // namespace strata
