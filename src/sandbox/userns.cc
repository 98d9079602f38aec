// uid/gid maps of the sandbox's user namespace; see userns.h.
#include "sandbox/userns.h"

#include <sched.h>
#include <signal.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <string>

#include "base/sys.h"

namespace va::sandbox {
namespace {

Status WriteMap(pid_t child, const char* file, const std::string& text) {
  std::string path = "/proc/" + std::to_string(child) + "/" + file;
  auto st = WriteExistingFile(path, text);
  if (!st) return tl::unexpected(std::move(st.error()).Context("user namespace"));
  return {};
}

}  // namespace

Status WriteIdMaps(pid_t child, const IdMapping& mapping) {
  if (mapping.privileged) {
    VA_TRY_STATUS(
        WriteMap(child, "uid_map", "0 0 1\n1 " + std::to_string(mapping.host_uid) + " 1\n"));
    VA_TRY_STATUS(
        WriteMap(child, "gid_map", "0 0 1\n1 " + std::to_string(mapping.host_gid) + " 1\n"));
    return {};
  }
  VA_TRY_STATUS(WriteMap(child, "setgroups", "deny"));
  VA_TRY_STATUS(WriteMap(child, "uid_map", "0 " + std::to_string(::geteuid()) + " 1\n"));
  VA_TRY_STATUS(WriteMap(child, "gid_map", "0 " + std::to_string(::getegid()) + " 1\n"));
  return {};
}

Result<bool> UserNamespacesAvailable() {
  // A child that only exits: clone with CLONE_NEWUSER succeeds or not.
  long pid = ::syscall(SYS_clone, CLONE_NEWUSER | SIGCHLD, nullptr, nullptr, nullptr, 0);
  if (pid == 0) ::_exit(0);
  if (pid < 0) {
    if (errno == EPERM || errno == EINVAL || errno == ENOSPC || errno == EUSERS) return false;
    return SysFail("user namespace: clone");
  }
  int status = 0;
  RetryEintr([&] { return ::waitpid(static_cast<pid_t>(pid), &status, 0); });
  return true;
}

}  // namespace va::sandbox
