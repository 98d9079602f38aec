// The stop state machine: ask a process to end (term signal), give it a grace period, then end
// it certainly (kill signal) and verify that it is gone. Exit is noticed the moment it happens
// through pidfd readiness, never by polling. Every step is logged (proc_stop_* events).
#pragma once

#include <sys/types.h>

#include <chrono>
#include <csignal>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "proc/identity.h"
#include "proc/process.h"

namespace va {

enum class StopStep { kTermSent, kGraceExpired, kKillSent };

struct StopPolicy {
  int term_signal = SIGTERM;
  std::chrono::nanoseconds grace = std::chrono::seconds(5);
  int kill_signal = SIGKILL;
  std::chrono::nanoseconds kill_grace = std::chrono::seconds(1);
  // Told of each step as it happens (for user-facing progress lines); may be empty.
  std::function<void(StopStep)> on_step;
};

enum class StopOutcome {
  kAlreadyGone,       // exited (or was a zombie) before any signal was needed
  kExitedGracefully,  // ended within the grace period after the term signal
  kKilled,            // ended after the kill signal
  kUnkillable,        // still there after the kill signal and kill_grace
  kNotOurs,           // the pid is another process than expected: never signalled
  kPermissionDenied,  // the kernel refused to let us signal it: left running
  kFailed,            // an unexpected system error; detail says which
};

// Stable snake_case name: "already_gone", "exited_gracefully", "killed", ...
std::string_view StopOutcomeName(StopOutcome outcome);

struct StopResult {
  StopOutcome outcome = StopOutcome::kFailed;
  pid_t pid = 0;
  std::chrono::nanoseconds elapsed{};  // from the start of the stop to its verdict
  std::optional<ExitStatus> status;    // when the process was our child and has been reaped
  std::string detail;                  // why, for kNotOurs / kPermissionDenied / kFailed

  bool Gone() const {
    return outcome == StopOutcome::kAlreadyGone || outcome == StopOutcome::kExitedGracefully ||
           outcome == StopOutcome::kKilled;
  }
};

// Stops a process we hold. Safe to run concurrently with another stop of the same process (from
// this or another process): each returns when the process is gone.
StopResult StopProcess(Process& process, const StopPolicy& policy = {});

// Adopts `pid` after checking `expected`, then stops it. kAlreadyGone when no such pid exists,
// kNotOurs when the identity does not match.
StopResult StopPid(pid_t pid, const ExpectedIdentity& expected, const StopPolicy& policy = {});

}  // namespace va
