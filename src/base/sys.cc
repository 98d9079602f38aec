// Syscall wrappers; see sys.h for the contract.
#include "base/sys.h"

#include <unistd.h>

#include <climits>

namespace va {

Result<UniqueFd> Open(const std::string& path, int flags, mode_t mode) {
  int fd = RetryEintr([&] { return ::open(path.c_str(), flags | O_CLOEXEC, mode); });
  if (fd < 0) return SysFail("open " + path);
  return UniqueFd(fd);
}

Result<UniqueFd> OpenAt(int dirfd, const std::string& path, int flags, mode_t mode) {
  int fd = RetryEintr([&] { return ::openat(dirfd, path.c_str(), flags | O_CLOEXEC, mode); });
  if (fd < 0) return SysFail("openat " + path);
  return UniqueFd(fd);
}

Result<size_t> Read(int fd, std::span<char> buf) {
  ssize_t n = RetryEintr([&] { return ::read(fd, buf.data(), buf.size()); });
  if (n < 0) return SysFail("read");
  return static_cast<size_t>(n);
}

Result<std::string> ReadAll(int fd, size_t max_bytes) {
  std::string out;
  char buf[8192];
  for (;;) {
    VA_TRY(size_t n, Read(fd, buf));
    if (n == 0) return out;
    if (out.size() + n > max_bytes) {
      return Fail(ErrorKind::kInvalid, "file larger than " + std::to_string(max_bytes) + " bytes");
    }
    out.append(buf, n);
  }
}

Status WriteAll(int fd, std::string_view data) {
  while (!data.empty()) {
    ssize_t n = RetryEintr([&] { return ::write(fd, data.data(), data.size()); });
    if (n < 0) return SysFail("write");
    data.remove_prefix(static_cast<size_t>(n));
  }
  return {};
}

Result<struct stat> Fstat(int fd) {
  struct stat st {};
  if (::fstat(fd, &st) != 0) return SysFail("fstat");
  return st;
}

Result<Pipe> MakePipe(int extra_flags) {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC | extra_flags) != 0) return SysFail("pipe2");
  return Pipe{UniqueFd(fds[0]), UniqueFd(fds[1])};
}

int MillisUntil(std::chrono::steady_clock::time_point deadline) {
  const auto now = std::chrono::steady_clock::now();
  if (deadline <= now) return 0;  // compared before subtracting: min() must not overflow
  if (deadline == std::chrono::steady_clock::time_point::max()) return INT_MAX;
  auto left = deadline - now;
  // Round up so that a wait never ends just before the deadline.
  auto ms = std::chrono::ceil<std::chrono::milliseconds>(left).count();
  return ms > INT_MAX ? INT_MAX : static_cast<int>(ms);
}

Result<short> PollOne(int fd, short events, std::chrono::milliseconds timeout) {
  const bool forever = timeout.count() < 0 || timeout == std::chrono::milliseconds::max();
  const auto deadline = forever ? std::chrono::steady_clock::time_point::max()
                                : std::chrono::steady_clock::now() + timeout;
  for (;;) {
    pollfd p{fd, events, 0};
    int r = ::poll(&p, 1, forever ? -1 : MillisUntil(deadline));
    if (r > 0) return p.revents;
    if (r == 0) return static_cast<short>(0);
    if (errno != EINTR) return SysFail("poll");
  }
}

Result<std::string> ReadSmallFile(const std::string& path, size_t max_bytes) {
  VA_TRY(UniqueFd fd, Open(path, O_RDONLY));
  auto data = ReadAll(fd.Get(), max_bytes);
  if (!data) return tl::unexpected(std::move(data.error()).Context(path));
  return data;
}

Status WriteExistingFile(const std::string& path, std::string_view data) {
  VA_TRY(UniqueFd fd, Open(path, O_WRONLY));
  auto st = WriteAll(fd.Get(), data);
  if (!st) return tl::unexpected(std::move(st.error()).Context(path));
  return {};
}

}  // namespace va
