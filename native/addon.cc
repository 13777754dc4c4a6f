// Entry point of the strata_native addon: syscalls Node lacks, data copying
// for copy-up, and the FUSE binding. Typed for TS by src/native/binding.ts.
#include <napi.h>
#include "copy-up.h"
#include "dir-opens.h"
#include "container-syscalls.h"
#include "exec-in-root.h"
#include "fuse-session.h"
#include "process-exit.h"
#include "spare.h"
#include "syscalls.h"

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  strata::InitSyscalls(env, exports);
  strata::InitCopyUp(env, exports);
  strata::InitFuseSession(env, exports);
  strata::InitDirOpens(env, exports);
  strata::InitExecInRoot(env, exports);
  strata::InitContainerSyscalls(env, exports);
  strata::InitProcessExit(env, exports);
  strata::InitSpare(env, exports);
  return exports;
}

NODE_API_MODULE(strata_native, Init)
