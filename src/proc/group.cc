// Stopping a process group; see group.h.
#include "proc/group.h"

#include <dirent.h>
#include <poll.h>

#include <cctype>
#include <map>

#include "base/log.h"
#include "base/sys.h"
#include "proc/process.h"

namespace va {

Result<std::vector<pid_t>> ListProcessGroup(pid_t pgid) {
  DIR* dir = ::opendir("/proc");
  if (dir == nullptr) return SysFail("opendir /proc");
  std::vector<pid_t> out;
  while (dirent* e = ::readdir(dir)) {
    if (!std::isdigit(static_cast<unsigned char>(e->d_name[0]))) continue;
    pid_t pid = static_cast<pid_t>(std::strtol(e->d_name, nullptr, 10));
    auto st = ReadProcessStat(pid);
    if (st && st->pgid == pgid && st->state != 'Z' && st->state != 'X') out.push_back(pid);
  }
  ::closedir(dir);
  return out;
}

namespace {

// The members of a group that we hold by pidfd and are waiting for.
class Members {
 public:
  explicit Members(pid_t pgid) : pgid_(pgid) {}

  // Adopts members not yet held and sends them `sig`. Returns how many were newly signalled.
  size_t ScanAndSignal(int sig) {
    size_t sent = 0;
    auto pids = ListProcessGroup(pgid_);
    if (!pids) return 0;
    for (pid_t pid : *pids) {
      if (held_.count(pid) || denied_.count(pid)) continue;
      auto p = Process::Adopt(pid);
      if (!p || p->Identity().pgid != pgid_) continue;  // gone or moved away meanwhile
      auto r = p->Signal(sig);
      if (!r) {
        if (r.error().kind == ErrorKind::kPermission) denied_.insert({pid, r.error().message});
        continue;
      }
      if (*r) ++sent;
      held_.emplace(pid, std::move(*p));
    }
    return sent;
  }

  size_t SignalHeld(int sig) {
    size_t sent = 0;
    for (auto& [pid, p] : held_) {
      auto r = p.Signal(sig);
      if (r && *r) ++sent;
    }
    return sent;
  }

  // Waits until every held member has exited and a rescan finds no new ones (new ones get `sig`).
  // true: the group is empty; false: the deadline passed first.
  Result<bool> WaitEmpty(MonoTime deadline, int sig) {
    for (;;) {
      Prune();
      if (held_.empty()) {
        if (ScanAndSignal(sig) == 0 && (Prune(), held_.empty())) return true;
        continue;
      }
      std::vector<pollfd> fds;
      fds.reserve(held_.size());
      for (auto& [pid, p] : held_) fds.push_back({p.PidFd(), POLLIN, 0});
      int r = ::poll(fds.data(), fds.size(), MillisUntil(deadline));
      if (r < 0 && errno != EINTR) return SysFail("poll pidfds");
      if (r == 0 && MonoNow() >= deadline) {
        Prune();
        return held_.empty();
      }
    }
  }

  bool Denied() const { return !denied_.empty(); }
  std::string DeniedDetail() const {
    return denied_.empty() ? std::string() : denied_.begin()->second;
  }
  size_t Remaining() const { return held_.size(); }

 private:
  void Prune() {
    for (auto it = held_.begin(); it != held_.end();) {
      if (it->second.Exited()) {
        it->second.Reap();
        it = held_.erase(it);
      } else {
        ++it;
      }
    }
  }

  pid_t pgid_;
  std::map<pid_t, Process> held_;
  std::map<pid_t, std::string> denied_;
};

}  // namespace

GroupStopResult StopProcessGroup(pid_t pgid, const StopPolicy& policy) {
  const MonoTime start = MonoNow();
  GroupStopResult result;
  Members members(pgid);
  auto finish = [&](StopOutcome outcome, std::string detail = {}) {
    result.outcome = outcome;
    result.detail = std::move(detail);
    result.elapsed = MonoNow() - start;
    Log(outcome == StopOutcome::kUnkillable || outcome == StopOutcome::kFailed ||
                outcome == StopOutcome::kPermissionDenied
            ? LogLevel::kWarn
            : LogLevel::kDebug,
        "proc_group_stop_done",
        {{"pgid", pgid},
         {"outcome", StopOutcomeName(outcome)},
         {"signalled", result.signalled},
         {"killed", result.killed},
         {"elapsed", result.elapsed},
         {"detail", result.detail}});
    return result;
  };

  result.signalled = members.ScanAndSignal(policy.term_signal);
  if (result.signalled == 0 && members.Remaining() == 0) {
    return members.Denied() ? finish(StopOutcome::kPermissionDenied, members.DeniedDetail())
                            : finish(StopOutcome::kAlreadyGone);
  }
  if (policy.on_step) policy.on_step(StopStep::kTermSent);
  auto empty = members.WaitEmpty(start + policy.grace, policy.term_signal);
  if (!empty) return finish(StopOutcome::kFailed, empty.error().message);
  if (*empty) {
    return members.Denied() ? finish(StopOutcome::kPermissionDenied, members.DeniedDetail())
                            : finish(StopOutcome::kExitedGracefully);
  }
  if (policy.on_step) policy.on_step(StopStep::kGraceExpired);
  result.killed = members.SignalHeld(policy.kill_signal);
  if (policy.on_step) policy.on_step(StopStep::kKillSent);
  empty = members.WaitEmpty(MonoNow() + policy.kill_grace, policy.kill_signal);
  if (!empty) return finish(StopOutcome::kFailed, empty.error().message);
  if (!*empty) {
    return finish(StopOutcome::kUnkillable, std::to_string(members.Remaining()) +
                                                " member(s) survived " +
                                                SignalName(policy.kill_signal));
  }
  return members.Denied() ? finish(StopOutcome::kPermissionDenied, members.DeniedDetail())
                          : finish(StopOutcome::kKilled);
}

}  // namespace va
