// FileLock: an exclusive advisory lock (flock) on a lock file, held while the object lives.
#pragma once

#include <string>

#include "base/result.h"
#include "base/unique_fd.h"

namespace va {

class FileLock {
 public:
  // Opens (creating, mode 0600, never through a symlink) and locks `path`. If another holder has
  // it, waits for it; `waited` then tells the caller that somebody else went first.
  static Result<FileLock> Acquire(const std::string& path);
  // Like Acquire but fails with kTimeout instead of waiting.
  static Result<FileLock> TryAcquire(const std::string& path);

  bool Waited() const { return waited_; }

 private:
  FileLock(UniqueFd fd, bool waited) : fd_(std::move(fd)), waited_(waited) {}
  UniqueFd fd_;
  bool waited_ = false;
};

}  // namespace va
