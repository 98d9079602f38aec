// pidfd syscalls; see pidfd.h.
#include "proc/pidfd.h"

#include <poll.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <csignal>

#include "base/sys.h"

namespace va {

Result<UniqueFd> PidfdOpen(pid_t pid) {
  int fd = static_cast<int>(::syscall(SYS_pidfd_open, pid, 0));
  if (fd < 0) return SysFail("pidfd_open " + std::to_string(pid));
  // pidfds are always close-on-exec (the kernel sets O_CLOEXEC).
  return UniqueFd(fd);
}

Result<bool> PidfdSendSignal(int pidfd, int sig) {
  if (::syscall(SYS_pidfd_send_signal, pidfd, sig, nullptr, 0) == 0) return true;
  if (errno == ESRCH) return false;
  return SysFail("pidfd_send_signal " + std::to_string(sig));
}

bool PidfdExited(int pidfd) {
  auto r = PollOne(pidfd, POLLIN, std::chrono::milliseconds(0));
  return r && (*r & (POLLIN | POLLHUP)) != 0;
}

}  // namespace va
