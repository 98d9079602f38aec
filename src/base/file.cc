// Atomic write and trusted read; see file.h.
#include "base/file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/ids.h"
#include "base/sys.h"
#include "base/unique_fd.h"

namespace va {
namespace {

std::pair<std::string, std::string> SplitPath(const std::string& path) {
  auto slash = path.rfind('/');
  if (slash == std::string::npos) return {".", path};
  if (slash == 0) return {"/", path.substr(1)};
  return {path.substr(0, slash), path.substr(slash + 1)};
}

}  // namespace

Status WriteFileAtomic(const std::string& path, std::string_view data, mode_t mode) {
  auto [dir, base] = SplitPath(path);
  if (base.empty()) return Fail(ErrorKind::kInvalid, "write " + path + ": not a file name");
  VA_TRY(UniqueFd dirfd, Open(dir, O_RDONLY | O_DIRECTORY));
  const std::string tmp = "." + base + ".tmp-" + RandomHex(8);
  VA_TRY(UniqueFd fd,
         OpenAt(dirfd.Get(), tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW, mode & 0777));
  auto cleanup = [&](Error e) {
    ::unlinkat(dirfd.Get(), tmp.c_str(), 0);
    return tl::unexpected<Error>(std::move(e).Context("write " + path));
  };
  if (::fchmod(fd.Get(), mode & 0777) != 0) return cleanup(SysError("fchmod", errno));
  if (auto st = WriteAll(fd.Get(), data); !st) return cleanup(st.error());
  if (::fsync(fd.Get()) != 0) return cleanup(SysError("fsync", errno));
  fd.Reset();
  if (::renameat(dirfd.Get(), tmp.c_str(), dirfd.Get(), base.c_str()) != 0) {
    return cleanup(SysError("rename", errno));
  }
  if (::fsync(dirfd.Get()) != 0) return SysFail("fsync directory of " + path);
  return {};
}

Result<std::string> ReadTrustedFile(const std::string& path, const TrustPolicy& policy) {
  int fd = RetryEintr(
      [&] { return ::open(path.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK); });
  if (fd < 0) {
    int err = errno;
    if (err == ELOOP) return Fail(ErrorKind::kUntrusted, path + " is a symbolic link", err);
    return SysFail("open " + path, err);
  }
  UniqueFd owned(fd);
  VA_TRY(struct stat st, Fstat(fd));
  if (!S_ISREG(st.st_mode)) {
    return Fail(ErrorKind::kUntrusted, path + " is not a regular file");
  }
  const uid_t expected = policy.owner == static_cast<uid_t>(-1) ? ::geteuid() : policy.owner;
  if (st.st_uid != expected && st.st_uid != 0) {
    return Fail(ErrorKind::kUntrusted, path + " is owned by uid " + std::to_string(st.st_uid) +
                                           ", not by uid " + std::to_string(expected) + " or root");
  }
  if (st.st_mode & (S_IWGRP | S_IWOTH)) {
    return Fail(ErrorKind::kUntrusted, path + " is writable by group or others");
  }
  if (policy.private_only && (st.st_mode & (S_IRWXG | S_IRWXO))) {
    return Fail(ErrorKind::kUntrusted, path + " is accessible by group or others (chmod 600 it)");
  }
  auto data = ReadAll(fd, policy.max_bytes);
  if (!data) return tl::unexpected(std::move(data.error()).Context(path));
  return data;
}

Status RemoveFile(const std::string& path) {
  if (::unlink(path.c_str()) != 0 && errno != ENOENT) return SysFail("unlink " + path);
  return {};
}

}  // namespace va
