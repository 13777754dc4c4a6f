// Waiting for a process that is not our child to exit (pidfd + poll).
#pragma once
#include <napi.h>

namespace strata {
void InitProcessExit(Napi::Env env, Napi::Object exports);
}  // namespace strata
