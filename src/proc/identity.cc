// Process identity from /proc; see identity.h.
#include "proc/identity.h"

#include <unistd.h>

#include <charconv>
#include <climits>
#include <sstream>

#include "base/sys.h"

namespace va {
namespace {

constexpr size_t kCommMax = 15;

template <typename T>
bool ParseNumber(std::string_view s, T& out) {
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return ec == std::errc() && p == s.data() + s.size();
}

}  // namespace

Result<ProcessIdentity> ReadProcessStat(pid_t pid) {
  if (pid <= 0) return Fail(ErrorKind::kInvalid, "invalid pid " + std::to_string(pid));
  const std::string dir = "/proc/" + std::to_string(pid);
  auto stat = ReadSmallFile(dir + "/stat", 4096);
  if (!stat) {
    if (stat.error().sys_errno == ENOENT || stat.error().sys_errno == ESRCH) {
      return Fail(ErrorKind::kNotFound, "no process " + std::to_string(pid), ESRCH);
    }
    return tl::unexpected(stat.error());
  }
  // "PID (COMM) S PPID PGRP ..." — COMM may hold spaces and parentheses: use the last ')'.
  ProcessIdentity id;
  id.pid = pid;
  auto open = stat->find('(');
  auto close = stat->rfind(')');
  if (open == std::string::npos || close == std::string::npos || close < open ||
      close + 2 >= stat->size()) {
    return Fail(ErrorKind::kCorrupt, dir + "/stat: unexpected format");
  }
  id.comm = stat->substr(open + 1, close - open - 1);
  std::istringstream rest(stat->substr(close + 2));
  std::string field;
  // Field 3 is the state; fields are counted from 1 with pid = 1 and comm = 2.
  for (int n = 3; n <= 22 && rest >> field; ++n) {
    if (n == 3) id.state = field.empty() ? '?' : field[0];
    if (n == 4 && !ParseNumber(field, id.ppid))
      return Fail(ErrorKind::kCorrupt, dir + "/stat: ppid");
    if (n == 5 && !ParseNumber(field, id.pgid))
      return Fail(ErrorKind::kCorrupt, dir + "/stat: pgrp");
    if (n == 22) {
      if (!ParseNumber(field, id.start_time))
        return Fail(ErrorKind::kCorrupt, dir + "/stat: starttime");
      break;
    }
  }
  if (id.start_time == 0 && id.pid != 1) return Fail(ErrorKind::kCorrupt, dir + "/stat: too short");
  return id;
}

Result<ProcessIdentity> ReadProcessIdentity(pid_t pid) {
  VA_TRY(ProcessIdentity id, ReadProcessStat(pid));
  const std::string dir = "/proc/" + std::to_string(pid);

  auto status = ReadSmallFile(dir + "/status", 16384);
  if (!status) return Fail(ErrorKind::kNotFound, "no process " + std::to_string(pid), ESRCH);
  auto uid_at = status->find("\nUid:");
  if (uid_at == std::string::npos) return Fail(ErrorKind::kCorrupt, dir + "/status: no Uid");
  std::istringstream uids(status->substr(uid_at + 5, 64));
  unsigned long ruid = 0;
  if (!(uids >> ruid)) return Fail(ErrorKind::kCorrupt, dir + "/status: bad Uid");
  id.uid = static_cast<uid_t>(ruid);

  char exe[PATH_MAX];
  ssize_t n = ::readlink((dir + "/exe").c_str(), exe, sizeof(exe) - 1);
  if (n > 0) id.exe.assign(exe, static_cast<size_t>(n));
  return id;
}

std::optional<std::string> IdentityMismatch(const ProcessIdentity& id,
                                            const ExpectedIdentity& expected) {
  if (expected.name) {
    const std::string& want = *expected.name;
    bool comm_ok = id.comm == want.substr(0, kCommMax);
    std::string exe = id.exe;
    if (exe.size() > 10 && exe.ends_with(" (deleted)")) exe.resize(exe.size() - 10);
    auto slash = exe.rfind('/');
    bool exe_ok = !exe.empty() && exe.substr(slash == std::string::npos ? 0 : slash + 1) == want;
    if (!comm_ok && !exe_ok) {
      return "process " + std::to_string(id.pid) + " is '" + id.comm + "', not '" + want + "'";
    }
  }
  if (expected.start_time && *expected.start_time != id.start_time) {
    return "process " + std::to_string(id.pid) + " started at tick " +
           std::to_string(id.start_time) + ", not " + std::to_string(*expected.start_time) +
           " (the pid was reused)";
  }
  if (expected.uid && *expected.uid != id.uid) {
    return "process " + std::to_string(id.pid) + " belongs to uid " + std::to_string(id.uid) +
           ", not " + std::to_string(*expected.uid);
  }
  return std::nullopt;
}

}  // namespace va
