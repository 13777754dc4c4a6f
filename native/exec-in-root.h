// mount and sethostname for `strata run`.
#pragma once
#include <napi.h>

namespace strata {
void InitExecInRoot(Napi::Env env, Napi::Object exports);
}
