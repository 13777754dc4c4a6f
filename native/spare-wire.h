// What a caller sends a spare (see spare-key.h), one message: its stdin,
// stdout and stderr as SCM_RIGHTS, then a little-endian u32 length and that
// many bytes of NUL-terminated fields: argc, the args, the cwd, envc, the
// environment. Both ends are here. The spare answers "go\n" once it owns the request (or
// "refused\n", or closes, and the caller runs the line itself), then the
// mount daemon's readiness line ("ok PID", "cli", "error …", or nothing on
// failure: see src/cli/mount-line.ts and fuse/serve.ts), then EOF.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace strata {

constexpr uint32_t kSpareMaxRequest = 4u << 20;

// The spare's end: takes one request from an accepted connection, its three
// fds (close-on-exec) and payload; false if it is malformed (fds closed).
bool TakeSpareRequest(int conn, int fds[3], std::string* payload);

// Hands a request to the spare named `name`, if one of this process's
// identity waits there: stdio are the caller's fds 0, 1, 2 as the spare is
// to have them. Returns true once the spare has said "go" (then *ready is
// its readiness line, empty if it closed without one); false when no spare
// took it and nothing was done.
bool HandToSpare(const std::string& name, const std::vector<std::string>& args, const std::string& cwd,
                 const std::vector<std::string>& env, const int stdio[3], std::string* ready);

}  // namespace strata
