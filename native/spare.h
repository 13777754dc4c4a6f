// A spare mount daemon's socket (spare-key.h): spareName, spareListen, spareAccept.
#pragma once
#include <napi.h>

namespace strata {
void InitSpare(Napi::Env env, Napi::Object exports);
}
