// The graceful-then-certain stop; see stop.h and stop_machine.h.
#include "proc/stop.h"

#include "base/log.h"
#include "proc/stop_machine.h"

namespace va {

std::string_view StopOutcomeName(StopOutcome outcome) {
  switch (outcome) {
    case StopOutcome::kAlreadyGone:
      return "already_gone";
    case StopOutcome::kExitedGracefully:
      return "exited_gracefully";
    case StopOutcome::kKilled:
      return "killed";
    case StopOutcome::kUnkillable:
      return "unkillable";
    case StopOutcome::kNotOurs:
      return "not_ours";
    case StopOutcome::kPermissionDenied:
      return "permission_denied";
    case StopOutcome::kFailed:
      return "failed";
  }
  return "failed";
}

StopMachine::StopMachine(Process& p, const StopPolicy& policy)
    : p_(p), policy_(policy), start_(MonoNow()) {
  result_.pid = p.Pid();
}

std::optional<StopResult> StopMachine::Start() {
  LogDebug("proc_stop_begin", {{"pid", p_.Pid()},
                               {"term_signal", SignalName(policy_.term_signal)},
                               {"grace", policy_.grace}});
  if (p_.Exited()) return Finish(StopOutcome::kAlreadyGone);
  auto sent = p_.Signal(policy_.term_signal);
  if (!sent) return FailSignal(sent.error());
  if (!*sent) return Finish(StopOutcome::kAlreadyGone);
  Step(StopStep::kTermSent, policy_.term_signal);
  return std::nullopt;
}

std::optional<StopResult> StopMachine::AfterGrace(const Result<bool>& exited) {
  if (!exited) return Finish(StopOutcome::kFailed, exited.error().message);
  if (*exited) return Finish(StopOutcome::kExitedGracefully);
  Step(StopStep::kGraceExpired, 0);
  auto sent = p_.Signal(policy_.kill_signal);
  if (!sent) return FailSignal(sent.error());
  if (!*sent) return Finish(StopOutcome::kExitedGracefully);  // went just after the grace
  Step(StopStep::kKillSent, policy_.kill_signal);
  return std::nullopt;
}

StopResult StopMachine::AfterKill(const Result<bool>& exited) {
  if (!exited) return Finish(StopOutcome::kFailed, exited.error().message);
  if (*exited) return Finish(StopOutcome::kKilled);
  return Finish(StopOutcome::kUnkillable, "still present " +
                                              LogField::FormatMillis(policy_.kill_grace) +
                                              " after " + SignalName(policy_.kill_signal));
}

void StopMachine::Step(StopStep step, int sig) {
  if (sig != 0) {
    LogDebug("proc_stop_signal_sent", {{"pid", p_.Pid()}, {"signal", SignalName(sig)}});
  } else {
    LogDebug("proc_stop_grace_expired", {{"pid", p_.Pid()}, {"grace", policy_.grace}});
  }
  if (policy_.on_step) policy_.on_step(step);
}

StopResult StopMachine::FailSignal(const Error& e) {
  if (e.kind == ErrorKind::kPermission) return Finish(StopOutcome::kPermissionDenied, e.message);
  return Finish(StopOutcome::kFailed, e.message);
}

StopResult StopMachine::Finish(StopOutcome outcome, std::string detail) {
  result_.outcome = outcome;
  result_.detail = std::move(detail);
  if (result_.Gone()) result_.status = p_.Reap();
  result_.elapsed = MonoNow() - start_;
  Log(result_.Gone() ? LogLevel::kDebug : LogLevel::kWarn, "proc_stop_done",
      {{"pid", result_.pid},
       {"outcome", StopOutcomeName(outcome)},
       {"elapsed", result_.elapsed},
       {"status", result_.status ? result_.status->ToString() : std::string("-")},
       {"detail", result_.detail}});
  return result_;
}

StopResult StopProcess(Process& process, const StopPolicy& policy) {
  StopMachine m(process, policy);
  if (auto done = m.Start()) return *done;
  if (auto done = m.AfterGrace(process.WaitExitUntil(m.GraceDeadline()))) return *done;
  return m.AfterKill(process.WaitExit(policy.kill_grace));
}

StopResult StopPid(pid_t pid, const ExpectedIdentity& expected, const StopPolicy& policy) {
  const MonoTime start = MonoNow();
  auto proc = Process::Adopt(pid, expected);
  if (!proc) {
    StopResult r;
    r.pid = pid;
    r.detail = proc.error().message;
    r.outcome = proc.error().kind == ErrorKind::kNotFound    ? StopOutcome::kAlreadyGone
                : proc.error().kind == ErrorKind::kUntrusted ? StopOutcome::kNotOurs
                                                             : StopOutcome::kFailed;
    r.elapsed = MonoNow() - start;
    Log(r.outcome == StopOutcome::kAlreadyGone ? LogLevel::kDebug : LogLevel::kWarn,
        "proc_stop_done",
        {{"pid", pid},
         {"outcome", StopOutcomeName(r.outcome)},
         {"elapsed", r.elapsed},
         {"detail", r.detail}});
    return r;
  }
  StopResult r = StopProcess(*proc, policy);
  r.elapsed = MonoNow() - start;
  return r;
}

}  // namespace va
