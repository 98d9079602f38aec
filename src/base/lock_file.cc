// FileLock; see lock_file.h.
#include "base/lock_file.h"

#include <fcntl.h>
#include <sys/file.h>

#include "base/sys.h"

namespace va {
namespace {

Result<UniqueFd> OpenLock(const std::string& path) {
  auto fd = Open(path, O_RDWR | O_CREAT | O_NOFOLLOW, 0600);
  if (!fd && fd.error().sys_errno == ELOOP) {
    return Fail(ErrorKind::kUntrusted, "lock file " + path + " is a symbolic link", ELOOP);
  }
  return fd;
}

}  // namespace

Result<FileLock> FileLock::Acquire(const std::string& path) {
  VA_TRY(UniqueFd fd, OpenLock(path));
  if (::flock(fd.Get(), LOCK_EX | LOCK_NB) == 0) return FileLock(std::move(fd), false);
  if (errno != EWOULDBLOCK) return SysFail("flock " + path);
  if (RetryEintr([&] { return ::flock(fd.Get(), LOCK_EX); }) != 0) return SysFail("flock " + path);
  return FileLock(std::move(fd), true);
}

Result<FileLock> FileLock::TryAcquire(const std::string& path) {
  VA_TRY(UniqueFd fd, OpenLock(path));
  if (::flock(fd.Get(), LOCK_EX | LOCK_NB) == 0) return FileLock(std::move(fd), false);
  if (errno == EWOULDBLOCK)
    return Fail(ErrorKind::kTimeout, path + " is locked by another process");
  return SysFail("flock " + path);
}

}  // namespace va
