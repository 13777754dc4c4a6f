// The pause gate: while paused (for a consistent commit), every operation
// that can change the upper layer waits before it starts; `inflight` counts
// those under way (native ones until they return, JS ones until their
// reply), so the pauser knows when the upper has stopped moving. pauseMu is
// a leaf lock: taken after reqMu, never while holding fastMu (the order is
// in session-locks.h).
#pragma once
#include <napi.h>

namespace strata {

void MutBegin();
void MutDone();

struct MutScope {
  MutScope() { MutBegin(); }
  ~MutScope() { MutDone(); }
  MutScope(const MutScope&) = delete;
  MutScope& operator=(const MutScope&) = delete;
};

// fusePause(on) and fuseInflight() for JS.
Napi::Value Pause(const Napi::CallbackInfo& info);
Napi::Value Inflight(const Napi::CallbackInfo& info);

}  // namespace strata
