// Becoming a container's process, shared by the addon (a container's init,
// after pivot_root) and by strata-nsexec (exec into a running container,
// after setns): the capability sets, the seccomp filter, the user, then
// execve. Plain C++ with no N-API, so the helper executable can link it.
#pragma once
#include <sys/types.h>

#include <cstdint>
#include <string>
#include <vector>

namespace strata {

struct ProcessSpec {
  std::string cwd;
  uid_t uid = 0;
  gid_t gid = 0;
  std::vector<gid_t> groups;
  std::vector<std::string> argv, env;
  // Capability numbers kept in the bounding, permitted and effective sets.
  std::vector<int> caps;
  bool noNewPrivs = false;
  // A compiled classic-BPF seccomp program (sock_filter array); empty: none.
  std::vector<uint8_t> seccomp;
};

// Returns only on failure: the errno, with *what naming the step.
int EnterProcess(const ProcessSpec& spec, std::string* what);

// Installs a seccomp BPF program on the calling thread.
int LoadSeccomp(const std::vector<uint8_t>& bpf);

}  // namespace strata
