// strata, the installed command (scripts/setup links /usr/local/bin/strata
// to build/Release/strata). Every container start and stop that podman or
// buildah makes with strata as mount_program waits for it, so it is native:
// a mount line (fuse-overlayfs's `-o … MNT`, `mount --lowerdir … MNT`) and
// `umount` go, with this process's stdio, cwd and environment, straight to
// a spare mount daemon booted beforehand (spare-key.h, spare-wire.h), with
// no shell, fork or Node start on the caller's path; `--version` (and -V) is
// answered here, from package.json. Everything else, and a
// line no spare took, is bin/strata's (the shell script, which starts Node):
// it is exec'd with STRATA_SPARE_TRIED saying why, so that it does not ask
// again. bin/strata run directly execs this for the same lines.
//
// STRATA_SPARE_TRIED: 75 no spare took the line (bin/strata runs it
// itself, as without spares), 76 the spare said it is no line of its
// (bin/strata runs the full CLI).
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "spare-key.h"
#include "spare-wire.h"

extern char** environ;

namespace {

constexpr int kDone = 0, kFailed = 1;
constexpr const char* kNoSpare = "75";
constexpr const char* kNotALine = "76";

// The lines a spare takes, as bin/strata routes them: fuse-overlayfs's line
// unless it runs in the foreground (-f, -d: this process would serve), a
// raw `strata mount` (a lowerdir among its arguments), and umount.
bool SpareLine(int argc, char** argv) {
  if (argc < 2) return false;
  const char* first = argv[1];
  if (strncmp(first, "-o", 2) == 0 || strcmp(first, "-f") == 0 || strcmp(first, "-d") == 0 ||
      strcmp(first, "--debug") == 0) {
    for (int i = 1; i < argc; i++)
      if (strcmp(argv[i], "-f") == 0 || strcmp(argv[i], "-d") == 0 || strcmp(argv[i], "--debug") == 0) return false;
    return true;
  }
  if (strcmp(first, "mount") == 0) {
    for (int i = 2; i < argc; i++)
      if (strcmp(argv[i], "--lowerdir") == 0 || strstr(argv[i], "lowerdir=")) return true;
    return false;
  }
  return strcmp(first, "umount") == 0 || strcmp(first, "unmount") == 0;
}

// This build's root: the real path of this executable is ROOT/build/Release/strata.
std::string Root() {
  char exe[PATH_MAX];
  ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
  if (n <= 0) return "";
  std::string p(exe, n);
  for (int up = 0; up < 3; up++) {
    size_t slash = p.rfind('/');
    if (slash == std::string::npos) return "";
    p.resize(slash);
  }
  return p;
}

// The top-level "version" string of package.json, or "" (then bin/strata
// answers). Scripts and shells ask `strata --version` often, and a Node
// start is ~0.15 s on a small machine; this scanner knows just enough JSON
// (strings with escapes, nesting) to find that one field, and no library
// is worth linking into the launcher for it.
std::string PackageVersion(const std::string& root) {
  FILE* f = fopen((root + "/package.json").c_str(), "re");
  if (!f) return "";
  std::string j;
  char buf[4096];
  for (size_t n; (n = fread(buf, 1, sizeof buf, f)) > 0;) j.append(buf, n);
  fclose(f);
  int depth = 0;
  std::string last;  // the last string read at depth 1
  bool keyed = false;  // a ':' followed it
  for (size_t i = 0; i < j.size(); i++) {
    char c = j[i];
    if (c == '"') {
      std::string v;
      for (i++; i < j.size() && j[i] != '"'; i++) {
        if (j[i] == '\\') {
          if (++i >= j.size() || j[i] == 'u') return "";  // no \u in a version we print
          v += j[i] == 'n' ? '\n' : j[i] == 't' ? '\t' : j[i];
        } else {
          v += j[i];
        }
      }
      if (i >= j.size()) return "";  // unterminated: bin/strata says what is wrong
      if (depth == 1 && keyed && last == "version") return v;
      if (depth == 1) last = keyed ? "" : v;
      keyed = false;
    } else if (c == ':') {
      keyed = depth == 1 && !last.empty();
    } else if (c == '{' || c == '[') {
      depth++;
      keyed = false;
    } else if (c == '}' || c == ']') {
      depth--;
    } else if (c == ',') {
      last.clear();
      keyed = false;
    }
  }
  return "";
}

// Runs bin/strata with our arguments; returns only if that fails.
int RunScript(const std::string& root, int argc, char** argv, const char* tried) {
  std::string script = root + "/bin/strata";
  setenv("STRATA_SPARE_TRIED", tried, 1);
  std::vector<char*> args{const_cast<char*>("sh"), script.data()};
  for (int i = 1; i < argc; i++) args.push_back(argv[i]);
  args.push_back(nullptr);
  execv("/bin/sh", args.data());
  fprintf(stderr, "strata: cannot run %s: %s\n", script.c_str(), strerror(errno));
  return 127;
}

}  // namespace

int main(int argc, char** argv) {
  std::string root = Root();
  if (root.empty()) {
    fprintf(stderr, "strata: cannot find where strata is installed (/proc/self/exe)\n");
    return 127;
  }
  if (argc == 2 && (strcmp(argv[1], "--version") == 0 || strcmp(argv[1], "-V") == 0)) {
    std::string v = PackageVersion(root);
    if (!v.empty() && printf("%s\n", v.c_str()) > 0 && fflush(stdout) == 0) return kDone;
  }
  const char* off = getenv("STRATA_SPARE");
  if (!SpareLine(argc, argv) || (off && strcmp(off, "0") == 0)) return RunScript(root, argc, argv, kNoSpare);
  std::string name = strata::SpareName(strata::BuildFilesOf(root + "/dist"));
  char cwd[PATH_MAX];
  if (name.empty() || !getcwd(cwd, sizeof cwd)) return RunScript(root, argc, argv, kNoSpare);
  std::vector<std::string> args(argv + 1, argv + argc), env;
  for (char** e = environ; *e; e++) env.emplace_back(*e);
  const int stdio[3] = {0, 1, 2};
  std::string ready;
  if (!strata::HandToSpare(name, args, cwd, env, stdio, &ready)) return RunScript(root, argc, argv, kNoSpare);
  if (ready.compare(0, 3, "ok ") == 0 || ready == "exit 0") return kDone;
  if (ready == "cli") return RunScript(root, argc, argv, kNotALine);
  return kFailed;
}
