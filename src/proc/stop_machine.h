// Internal: the stop state machine without its waits, so the blocking StopProcess and the
// coroutine AsyncStopProcess drive the same steps and produce the same results and log records.
#pragma once

#include <optional>

#include "base/clock.h"
#include "proc/stop.h"

namespace va {

class StopMachine {
 public:
  StopMachine(Process& process, const StopPolicy& policy);

  // Sends the term signal. A result when the stop is already decided; otherwise the caller waits
  // for exit until GraceDeadline() and calls AfterGrace.
  std::optional<StopResult> Start();
  MonoTime GraceDeadline() const { return start_ + policy_.grace; }
  // Given the outcome of the grace wait: a result, or the kill signal was sent and the caller
  // waits up to policy.kill_grace and calls AfterKill.
  std::optional<StopResult> AfterGrace(const Result<bool>& exited);
  StopResult AfterKill(const Result<bool>& exited);

 private:
  void Step(StopStep step, int sig);
  StopResult FailSignal(const Error& e);
  StopResult Finish(StopOutcome outcome, std::string detail = {});

  Process& p_;
  const StopPolicy& policy_;
  MonoTime start_;
  StopResult result_;
};

}  // namespace va
