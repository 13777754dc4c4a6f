// Waiting for a process that is not our child to exit (pidfd + poll), or
// for the mount record of a daemon that lives on to go (inotify).
#pragma once
#include <napi.h>

namespace strata {
void InitProcessExit(Napi::Env env, Napi::Object exports);
}  // namespace strata
