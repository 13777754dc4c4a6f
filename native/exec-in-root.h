// mount, sethostname and execInRoot for `strata run`.
#pragma once
#include <napi.h>

namespace strata {
void InitExecInRoot(Napi::Env env, Napi::Object exports);
}
