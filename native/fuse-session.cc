// The session's life (see fuse-session.h for its other parts). One session
// at a time per process: a daemon serves one mount (a spare daemon first
// serves a throwaway one of its own, cli/spare-warm-up.ts).
//
// Threads: libfuse's multithreaded loop reads requests on its own threads,
// started by RunLoop on a detached thread of ours. A file's fi->fh is the
// backing file descriptor JS (or the fast path) opened; the data ops use it
// directly on the loop threads. A lower file's fd is made to read the upper
// copy once the file is copied up (lower-opens.h). Every file open is
// answered through passthrough.h, which lets the kernel read the backing
// file itself where that keeps the overlay's view.
//
// Invariants: `se` is created on the JS thread before the loop starts and
// destroyed by the loop thread under reqMu once the loop returns; whoever
// else uses it (fuseUnmount, notifications) holds reqMu and checks `ended`
// first, so nothing touches a destroyed session. Teardown under reqMu also
// orders it after every reply in progress (session-locks.h).
#include "fuse-session.h"
#include "attr-rules.h"
#include "data-ops.h"
#include "dir-opens.h"
#include "entry-index.h"
#include "errors.h"
#include "fast-nodes.h"
#include "js-ops.h"
#include "js-replies.h"
#include "js-requests.h"
#include "lower-opens.h"
#include "passthrough.h"
#include "pause-gate.h"
#include "session-locks.h"

#include <fuse_lowlevel.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace strata {
namespace {

struct fuse_session* se = nullptr;
std::string mountpoint;
std::thread loopThread;
bool ended = false;
bool debug = false;
bool posixAcl = false;
// MaxSplicedReply() of this session, read at mount: INIT and the readahead use it.
unsigned maxReply = 1u << 20;

// The largest READ reply libfuse splices: it wants a pipe of 3 pages plus
// the reply (fuse_send_data_iov), and a pipe grows only to fs.pipe-max-size
// (1 MiB by default) without CAP_SYS_RESOURCE. libfuse's own cap is 1 MiB.
unsigned MaxSplicedReply() {
  unsigned pipeMax = 1u << 20;
  if (FILE* f = fopen("/proc/sys/fs/pipe-max-size", "re")) {
    if (fscanf(f, "%u", &pipeMax) != 1) pipeMax = 1u << 20;
    fclose(f);
  }
  const unsigned page = (unsigned)sysconf(_SC_PAGESIZE);
  const unsigned fit = pipeMax > 4 * page ? (pipeMax - 4 * page) / page * page : 32 * page;
  return fit < (1u << 20) ? fit : (1u << 20);
}

// mountinfo writes space, tab, newline and backslash as \\ooo octal.
std::string UnescapeMountinfo(const char* s) {
  std::string out;
  for (; *s; s++) {
    if (s[0] == '\\' && s[1] >= '0' && s[1] <= '3' && s[2] >= '0' && s[2] <= '7' && s[3] >= '0' && s[3] <= '7') {
      out += (char)((s[1] - '0') * 64 + (s[2] - '0') * 8 + (s[3] - '0'));
      s += 3;
    } else {
      out += *s;
    }
  }
  return out;
}

// The kernel offers a FUSE mount 128 KiB of readahead (its bdi's default)
// and keeps no more than that whatever INIT answers: a sequential read then
// costs a READ request per 128 KiB. Raised to one full spliced reply per
// READ (8x fewer requests: cold 256 MiB read, daemon CPU 0.16 -> 0.12 s),
// through the mount's own bdi, which only root may write; others keep the
// default. The mount is found in /proc/self/mountinfo, never by a stat of
// the mount point, which would wait on this process before INIT.
void RaiseReadahead(const std::string& canonical) {
  FILE* f = fopen("/proc/self/mountinfo", "re");
  if (!f) return;
  std::string dev;
  char* line = nullptr;
  size_t cap = 0;
  while (getline(&line, &cap, f) > 0) {
    char majmin[32], point[PATH_MAX], type[64];
    // ID PARENT MAJ:MIN ROOT POINT OPTIONS [OPTIONAL...] - TYPE SOURCE ...
    if (sscanf(line, "%*s %*s %31s %*s %4095s", majmin, point) != 2) continue;
    const char* dash = strstr(line, " - ");
    if (!dash || sscanf(dash + 3, "%63s", type) != 1 || strncmp(type, "fuse", 4) != 0) continue;
    if (UnescapeMountinfo(point) == canonical) dev = majmin;
  }
  free(line);
  fclose(f);
  if (dev.empty()) return;
  if (FILE* ra = fopen(("/sys/class/bdi/" + dev + "/read_ahead_kb").c_str(), "we")) {
    fprintf(ra, "%u\n", maxReply / 1024);
    fclose(ra);
  }
}

void ll_init(void*, struct fuse_conn_info* conn) {
  // No FUSE_CAP_SPLICE_READ: libfuse would then splice every request into a
  // pipe and read it back out, a second syscall per request, to save a copy
  // only on big writes.
  unsigned want = FUSE_CAP_ATOMIC_O_TRUNC | FUSE_CAP_SPLICE_WRITE | FUSE_CAP_SPLICE_MOVE |
                  FUSE_CAP_READDIRPLUS | FUSE_CAP_PARALLEL_DIROPS | FUSE_CAP_CACHE_SYMLINKS | FUSE_CAP_ASYNC_READ |
                  // The union applies the caller's umask itself, unless the
                  // parent's default ACL decides the mode (as POSIX says).
                  FUSE_CAP_DONT_MASK;
  // The kernel checks ACLs itself (with default_permissions) and caches each
  // inode's ACLs, so `ls -l` stops asking us for system.posix_acl_access on
  // every entry. The cache stays right: lowers never change, and the upper
  // changes only through this mount (setxattr/chmod refresh it).
  if (posixAcl) want |= FUSE_CAP_POSIX_ACL;
  conn->want |= want & conn->capable;
  // Lowers are immutable and the upper changes only through us: keep the page
  // cache across opens rather than dropping it whenever mtime moves.
  conn->want &= ~FUSE_CAP_AUTO_INVAL_DATA;
  // FUSE_CAP_READDIRPLUS_AUTO stays as libfuse wants it: the kernel asks for
  // attributes on a directory's first read and after lookups in it, else a
  // plain READDIR; a plain `ls` of a cold 10k dir then stats nothing (3x
  // faster than always-plus; find -printf moved within the bench's noise).
  conn->max_readahead = 1 << 20;
  // Big requests, but each read's reply must fit in one pipe to be spliced
  // (file -> pipe -> /dev/fuse, one copy of the data). libfuse otherwise
  // falls back to a fresh malloc'd buffer per READ, read into and written
  // out: two copies, and the page faults and munmap TLB shootdowns of a new
  // 1 MiB buffer each time; a cold 256 MiB read took 2.5x fuse-overlayfs's
  // CPU that way. max_write also sets the kernel's max_pages, so reads.
  if (conn->max_write > maxReply) conn->max_write = maxReply;
  if (debug) fprintf(stderr, "strata: INIT max_write=%u max_readahead=%u want=0x%x\n", conn->max_write, conn->max_readahead, conn->want);
}

struct fuse_lowlevel_ops ops;

constexpr unsigned kLoopThreads = 16;

void RunLoop() {
  struct fuse_loop_config* cfg = fuse_loop_cfg_create();
  // Idle threads never exit: with a cap of 4 below 16, a cold find made and
  // ended ~140 threads (one per ~55 requests: clone3, an 8 MiB stack mapped
  // and torn down), the churn libfuse's header itself warns about. A kept
  // thread costs its touched stack pages only.
  fuse_loop_cfg_set_idle_threads(cfg, kLoopThreads);
  fuse_loop_cfg_set_max_threads(cfg, kLoopThreads);
  fuse_loop_cfg_set_clone_fd(cfg, 0);
  int rc = fuse_session_loop_mt(se, cfg);
  fuse_loop_cfg_destroy(cfg);
  {
    std::lock_guard<std::mutex> g(reqMu);
    ended = true;
    DropRequests();
    fuse_session_unmount(se);
    fuse_session_destroy(se);
    se = nullptr;
    PassthroughReset();
  }
  EndJsCalls(rc);
}

// fuseMount(mountpoint, options, dispatch, debug, noFsync, posixAcl, privatePrefix): mounts and starts serving.
Napi::Value Mount(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (se || loopThread.joinable()) { ThrowUsage(env, "a FUSE session is already running in this process"); return env.Undefined(); }
  mountpoint = Latin1(info[0]);
  if (info.Length() > 6 && info[6].IsString()) SetPrivateXattrPrefix(Latin1(info[6]));
  std::string opts = Latin1(info[1]);
  debug = info.Length() > 3 && info[3].ToBoolean();
  // volatile / fsync=0: without fsync handlers the kernel stops sending them
  // (ENOSYS once) and fsync(2) succeeds without touching the upper.
  bool noFsync = info.Length() > 4 && info[4].ToBoolean();
  posixAcl = info.Length() > 5 && info[5].ToBoolean();
  maxReply = MaxSplicedReply();
  std::vector<std::string> argvS = {"strata", "-o", opts};
  if (debug) argvS.push_back("-d");
  std::vector<char*> argv;
  for (auto& s : argvS) argv.push_back(s.data());
  struct fuse_args args = FUSE_ARGS_INIT((int)argv.size(), argv.data());

  // What native code knows of nodes is per session: a process may serve one
  // mount after another (a spare's warm-up mount, then the real one), and
  // node ids of the last one must mean nothing to the next.
  ResetFastNodes();
  ResetLowerOpens();
  ResetDirOpens();
  ResetEntryIndex();
  memset(&ops, 0, sizeof ops);
  ops.init = ll_init;
  AddJsOps(&ops, noFsync);
  AddFastOps(&ops);
  AddDataOps(&ops, noFsync);

  se = fuse_session_new(&args, &ops, sizeof ops, nullptr);
  fuse_opt_free_args(&args);
  if (!se) { ThrowErrno(env, EINVAL, "fuse_session_new", opts); return env.Undefined(); }
  // Resolved before the mount: afterwards the path leads into it.
  char canonical[PATH_MAX];
  bool resolved = realpath(mountpoint.c_str(), canonical) != nullptr;
  if (fuse_session_mount(se, mountpoint.c_str()) != 0) {
    fuse_session_destroy(se);
    se = nullptr;
    ThrowErrno(env, EIO, "fuse_session_mount", mountpoint);
    return env.Undefined();
  }
  if (resolved) RaiseReadahead(canonical);
  PassthroughInstall(se, debug);
  ended = false;
  StartJsCalls(env, info[2].As<Napi::Function>());
  loopThread = std::thread(RunLoop);
  loopThread.detach();
  return env.Undefined();
}

// Ends the session: the loop threads see the unmount and return, and the
// dispatch function receives OP_EXIT once teardown is done.
Napi::Value Unmount(const Napi::CallbackInfo& info) {
  std::lock_guard<std::mutex> g(reqMu);
  if (se && !ended) {
    fuse_session_exit(se);
    fuse_session_unmount(se);
  }
  return info.Env().Undefined();
}

// Drops the kernel's cached attributes of a node (offset -1: attributes only,
// so no page lock is taken and no request of ours is waited for).
Napi::Value NotifyInvalInode(const Napi::CallbackInfo& info) {
  // reqMu: RunLoop destroys the session under it.
  std::lock_guard<std::mutex> g(reqMu);
  if (!se || ended) return info.Env().Undefined();
  fuse_lowlevel_notify_inval_inode(se, (fuse_ino_t)info[0].As<Napi::Number>().Int64Value(), -1, 0);
  return info.Env().Undefined();
}

}  // namespace

void InitFuseSession(Napi::Env env, Napi::Object e) {
  struct { const char* name; Napi::Function::Callback fn; } fns[] = {
      {"fuseMount", Mount},         {"fuseUnmount", Unmount},
      {"notifyInvalInode", NotifyInvalInode},
      {"reopenLower", ReopenLower},
      {"passthroughStats", PassthroughStats}, {"passthroughAllowLowers", PassthroughAllowLowersJs},
      {"fusePause", Pause}, {"fuseInflight", Inflight},
  };
  for (auto& f : fns) e.Set(f.name, Napi::Function::New(env, f.fn, f.name));
  e.Set("fuseRequestsDigest", Napi::String::New(env, kFuseRequestsDigest));
  InitJsReplies(env, e);
  InitFastNodes(env, e);
  InitEntryIndex(env, e);
  InitAttrRules(env, e);
}

}  // namespace strata
