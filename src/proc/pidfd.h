// pidfd syscalls. glibc 2.36's <sys/pidfd.h> lacks extern "C" guards, so this header declares
// what the project needs and calls the syscalls directly.
#pragma once

#include <sys/types.h>

#include "base/result.h"
#include "base/unique_fd.h"

namespace va {

// pidfd_open(2) with PIDFD_NONBLOCK unset; fails with kNotFound when pid does not exist.
Result<UniqueFd> PidfdOpen(pid_t pid);
// pidfd_send_signal(2). true: delivered; false: the process has already exited (ESRCH).
// Fails with kPermission on EPERM.
Result<bool> PidfdSendSignal(int pidfd, int sig);
// True when the process behind pidfd has exited (reaped or not): poll(2) readiness.
bool PidfdExited(int pidfd);

}  // namespace va
