// pivotRoot, loopbackUp, compileSeccomp and enterContainer for `strata run`.
#pragma once
#include <napi.h>

namespace strata {
void InitContainerSyscalls(Napi::Env env, Napi::Object exports);
}
