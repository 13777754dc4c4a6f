// The name a spare daemon listens on, and the check both ends make of the
// other. A spare (src/cli/spare-main.ts) is a mount daemon booted before it
// is needed, waiting on an abstract unix socket; bin/strata's client
// (launcher-main.cc) hands it a mount line instead of booting Node.
//
// Invariants:
// - A spare only ever serves a caller it could have been: same uids, gids,
//   groups, capabilities, no_new_privs, seccomp mode, namespaces (user,
//   mnt, net, cgroup) and root directory. The name is derived from these
//   plus the build and the STRATA_*/NODE_* environment, so a caller finds
//   only its own kind of spare; and since an abstract name has no
//   permissions, each end also reads the other's credentials (SO_PEERCRED,
//   then /proc/PID) and refuses a peer that differs: nobody else can squat
//   a name to catch a caller's descriptors and environment, or connect to
//   borrow a spare's privileges.
// - Written once here, compiled into both the addon and the client.
#pragma once
#include <string>
#include <vector>

namespace strata {

// What the kernel says this process (pid "self") or another may do, as one
// string; empty when /proc cannot tell (then nobody matches).
std::string ProcessIdentity(const std::string& pid);

// "strata-spare-<hex>": the abstract socket name for a spare of this
// process's identity, of the build whose files are buildFiles (their
// device, inode, size and mtime: a rebuild rewrites them, so a spare of an
// older build is never found). Empty when one is missing (no spares then).
std::string SpareName(const std::vector<std::string>& buildFiles);

// The build files of the install whose compiled TypeScript is in `dist`.
std::vector<std::string> BuildFilesOf(const std::string& dist);

// True when the process at the other end of the connected unix socket fd
// has this process's identity.
bool PeerIsLikeMe(int fd);

// Binds and listens on the abstract name (close-on-exec); -errno on failure
// (-EADDRINUSE: a spare of this name is already waiting).
int ListenAbstract(const std::string& name);

// Connects to the abstract name (close-on-exec); -errno on failure.
int ConnectAbstract(const std::string& name);

}  // namespace strata
