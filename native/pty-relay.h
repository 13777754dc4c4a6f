// The -t of run and exec (pty-relay.cc): the process on a new pty of the
// devpts at /dev/pts, this one relaying bytes, window size and signals, and
// exiting with its status.
#pragma once
#include "enter-process.h"

namespace strata {

[[noreturn]] void RunWithPty(const ProcessSpec& spec);

}  // namespace strata
