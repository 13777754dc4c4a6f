// What a client sends a spare (see spare-key.h), one message: its stdin,
// stdout and stderr as SCM_RIGHTS, then a little-endian u32 length and that
// many bytes of NUL-terminated fields: argc, the args, the cwd, envc, the
// environment. The spare answers "go\n" once it owns the request (or
// "refused\n", or closes, and the client runs the line itself), then the
// mount daemon's readiness line ("ok PID", "cli", or nothing on failure:
// see src/cli/mount-line-main.ts), then EOF.
#pragma once
#include <cstdint>

namespace strata {
constexpr uint32_t kSpareMaxRequest = 4u << 20;
}
