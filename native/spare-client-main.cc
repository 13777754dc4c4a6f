// strata-spare DIST ARGS…: bin/strata's first try at a mount line. Hands the
// line, with this process's stdio, cwd and environment, to a spare mount
// daemon already booted (spare-key.h, spare-wire.h), so the caller
// (podman's mount_program, `strata mount --lowerdir …`) waits for no Node
// start-up. Written in C++ because its whole point is to not be Node.
// `strata umount MNT` goes the same way (the spare unmounts and goes on
// waiting). Exit: 0 done, 1 failed (said on stderr), 76 not a line the
// spare takes (bin/strata runs the full CLI), 75 no spare took it
// (bin/strata runs the line itself, as it would without spares).
#include <unistd.h>

#include <climits>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "spare-key.h"
#include "spare-wire.h"

extern char** environ;

int main(int argc, char** argv) {
  constexpr int kDone = 0, kFailed = 1, kNoSpare = 75, kNotALine = 76;
  if (argc < 2) return kNoSpare;
  const char* off = getenv("STRATA_SPARE");
  if (off && strcmp(off, "0") == 0) return kNoSpare;
  std::string name = strata::SpareName(strata::BuildFilesOf(argv[1]));
  char cwd[PATH_MAX];
  if (name.empty() || !getcwd(cwd, sizeof cwd)) return kNoSpare;
  std::vector<std::string> args(argv + 2, argv + argc), env;
  for (char** e = environ; *e; e++) env.emplace_back(*e);
  const int stdio[3] = {0, 1, 2};
  std::string ready;
  if (!strata::HandToSpare(name, args, cwd, env, stdio, &ready)) return kNoSpare;
  if (ready.compare(0, 3, "ok ") == 0 || ready == "exit 0") return kDone;
  if (ready == "cli") return kNotALine;
  return kFailed;
}
