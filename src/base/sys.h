// Thin syscall wrappers: EINTR retried, errno captured into Result, every new descriptor
// close-on-exec. Each function fails with an Error naming the call and the path when there is one.
#pragma once

#include <fcntl.h>
#include <poll.h>
#include <sys/stat.h>
#include <sys/types.h>

#include <cerrno>
#include <chrono>
#include <cstddef>
#include <span>
#include <string>
#include <string_view>
#include <utility>

#include "base/result.h"
#include "base/unique_fd.h"

namespace va {

// Retries a syscall-style call (returns -1 and sets errno) while it fails with EINTR.
template <typename F>
auto RetryEintr(F&& f) {
  for (;;) {
    auto r = f();
    if (!(r == -1 && errno == EINTR)) return r;
  }
}

// open(2) with O_CLOEXEC always added.
Result<UniqueFd> Open(const std::string& path, int flags, mode_t mode = 0);
// openat(2) with O_CLOEXEC always added.
Result<UniqueFd> OpenAt(int dirfd, const std::string& path, int flags, mode_t mode = 0);

// One read(2); returns 0 at end of file.
Result<size_t> Read(int fd, std::span<char> buf);
// Reads until end of file; fails with kInvalid when more than max_bytes arrive.
Result<std::string> ReadAll(int fd, size_t max_bytes = 16 << 20);
// Writes every byte, retrying short writes.
Status WriteAll(int fd, std::string_view data);

Result<struct stat> Fstat(int fd);

struct Pipe {
  UniqueFd read;
  UniqueFd write;
};
// pipe2(O_CLOEXEC | extra_flags).
Result<Pipe> MakePipe(int extra_flags = 0);

// Waits for events on one fd up to timeout (negative = forever). Returns revents, 0 on timeout.
Result<short> PollOne(int fd, short events, std::chrono::milliseconds timeout);

// Milliseconds left until deadline, clamped to [0, INT_MAX]; for poll(2).
int MillisUntil(std::chrono::steady_clock::time_point deadline);

// Reads a small text file such as /proc/PID/stat whole (no trust checks).
Result<std::string> ReadSmallFile(const std::string& path, size_t max_bytes = 1 << 20);
// Writes a short string to an existing file (cgroup and /proc control files).
Status WriteExistingFile(const std::string& path, std::string_view data);

}  // namespace va
