// UniqueFd: close-once semantics.
#include "base/unique_fd.h"

#include <unistd.h>

namespace va {

void UniqueFd::Reset(int fd) {
  if (fd_ >= 0) ::close(fd_);  // never retried: Linux releases the fd even on EINTR
  fd_ = fd;
}

}  // namespace va
