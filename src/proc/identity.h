// What a process is, read from /proc, and whether it is the one we expect. Used before any signal
// to a pid we did not spawn ourselves: a recycled pid must never be signalled.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string>

#include "base/result.h"

namespace va {

struct ProcessIdentity {
  pid_t pid = 0;
  std::string comm;         // /proc/PID/stat field 2 (the kernel truncates it to 15 bytes)
  std::string exe;          // /proc/PID/exe target; empty when unreadable (other user, zombie)
  uint64_t start_time = 0;  // /proc/PID/stat field 22: clock ticks after boot
  uid_t uid = 0;            // real uid from /proc/PID/status
  char state = '?';         // R, S, D, Z, T, ...
  pid_t ppid = 0;
  pid_t pgid = 0;
};

// Reads /proc/PID/stat and /proc/PID/status. kNotFound when the pid does not exist.
Result<ProcessIdentity> ReadProcessIdentity(pid_t pid);
// Only the fields of /proc/PID/stat (comm, state, ppid, pgid, start_time): one read, for scans.
Result<ProcessIdentity> ReadProcessStat(pid_t pid);

struct ExpectedIdentity {
  // Matches the command name (comm, compared on its first 15 bytes) or the basename of exe.
  std::optional<std::string> name;
  std::optional<uint64_t> start_time;
  std::optional<uid_t> uid;
};

// nullopt when `id` matches every expectation set, otherwise the first mismatch in words.
std::optional<std::string> IdentityMismatch(const ProcessIdentity& id,
                                            const ExpectedIdentity& expected);

}  // namespace va
