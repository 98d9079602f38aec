// vpn off / status / reset; see vpn_off.h. Messages and exit codes follow seed 003 as refined by
// spec §5: the pid is identity-checked before any signal, exit is noticed through the pidfd, a
// zombie counts as gone, concurrent runs serialise on a lock, and after a forced kill the recorded
// vpnc-script disconnect is replayed.
#include "akon/vpn_off.h"

#include <unistd.h>

#include <boost/json.hpp>
#include <csignal>

#include "akon/runtime.h"
#include "akon/vpnc.h"
#include "base/file.h"
#include "base/lock_file.h"
#include "base/log.h"
#include "proc/stop.h"

namespace va::akon {
namespace {

constexpr const char* kCorruptMessage =
    "State file corrupted. VPN may still be running. Check manually with 'ip addr'.";

int64_t SecondsSince(WallTime t) {
  return std::chrono::duration_cast<std::chrono::seconds>(WallNow() - t).count();
}

void RemoveStateFile(const std::string& path) {
  if (auto st = RemoveFile(path); !st) {
    LogError("vpn_state_remove_failed", {{"path", path}, {"error", st.error().message}});
  } else {
    LogDebug("vpn_state_removed", {{"path", path}});
  }
}

// Tells the supervisor first that the user wants the VPN down (SIGUSR1), so that it does not
// reconnect when openconnect goes. Only after checking that the pid is still that akon process.
void TellSupervisor(const VpnState& state) {
  if (!state.supervisor_pid) return;
  ExpectedIdentity expected;
  expected.name = "akon";
  expected.start_time = state.supervisor_start_time;
  auto sup = Process::Adopt(*state.supervisor_pid, expected);
  if (!sup) {
    LogDebug("vpn_supervisor_not_found",
             {{"pid", *state.supervisor_pid}, {"detail", sup.error().message}});
    return;
  }
  auto sent = sup->Signal(SIGUSR1);
  LogDebug("vpn_supervisor_told", {{"pid", sup->Pid()}, {"sent", sent.value_or(false)}});
}

// Failure to read or parse the state, reported the seed's way. Returns the exit code.
int ReportLoadError(Ui& ui, const std::string& path, const Error& e) {
  switch (e.kind) {
    case ErrorKind::kCorrupt:
      LogError("vpn_state_corrupt", {{"path", path}, {"error", e.message}});
      RemoveStateFile(path);
      ui.Error(kCorruptMessage);
      return kExitVpnError;
    case ErrorKind::kUntrusted:
      LogError("vpn_state_untrusted", {{"path", path}, {"error", e.message}});
      ui.Error("State file not trusted: " + e.message + "; nothing was stopped.",
               "Check the VPN with 'ip addr', then remove " + path + " yourself.");
      return kExitVpnError;
    case ErrorKind::kPermission:
      ui.Error("Permission denied reading VPN state " + path + ".", "Run with sudo.");
      return kExitVpnError;
    default:
      ui.Error("Cannot read VPN state: " + e.message);
      return kExitVpnError;
  }
}

}  // namespace

bool SupervisorAlive(const VpnState& state) {
  if (!state.supervisor_pid) return false;
  ExpectedIdentity expected;
  expected.name = "akon";
  expected.start_time = state.supervisor_start_time;
  auto sup = Process::Adopt(*state.supervisor_pid, expected);
  return sup && !sup->Exited();
}

LiveCheck CheckOpenconnect(const VpnState& state) {
  LiveCheck check;
  if (!state.pid) {
    check.kind = LiveCheck::kNoPid;
    return check;
  }
  ExpectedIdentity expected;
  expected.name = "openconnect";
  expected.start_time = state.pid_start_time;
  auto proc = Process::Adopt(*state.pid, expected);
  if (!proc) {
    check.detail = proc.error().message;
    check.kind =
        proc.error().kind == ErrorKind::kUntrusted ? LiveCheck::kNotOurs : LiveCheck::kGone;
    return check;
  }
  if (proc->Exited()) {
    check.kind = LiveCheck::kGone;
    check.detail = "process " + std::to_string(*state.pid) + " has exited";
    return check;
  }
  check.kind = LiveCheck::kLive;
  check.process = std::move(*proc);
  return check;
}

int VpnOff(Ui& ui, const OffOptions& options) {
  const std::string path = StatePath();
  auto lock = FileLock::Acquire(StateLockPath(path));
  if (!lock && lock.error().kind == ErrorKind::kPermission) {
    // The lock is another user's (root ran `vpn on`), and so is the connection, if there is one:
    // the seed's "no connection" or "permission denied" case, not a locking problem.
    auto peek = LoadState(path);
    if (!peek && peek.error().kind == ErrorKind::kNotFound) {
      ui.Info("No active VPN connection found");
      return kExitVpnError;
    }
    LogError("vpn_disconnect_failed", {{"error", lock.error().message}, {"state", "Failed"}});
    ui.Error("Permission denied to terminate VPN process. Run with sudo.");
    return kExitVpnError;
  }
  if (!lock) {
    ui.Error("Cannot lock VPN state: " + lock.error().message, "Check " + path + ".lock.");
    return kExitVpnError;
  }
  auto state = LoadState(path);
  if (!state) {
    if (state.error().kind == ErrorKind::kNotFound) {
      if (lock->Waited()) {  // a concurrent `off` went first and finished the job
        ui.Info("VPN already disconnected");
        return kExitOk;
      }
      ui.Info("No active VPN connection found");
      return kExitVpnError;
    }
    return ReportLoadError(ui, path, state.error());
  }
  if (!state->pid) {
    LogWarn("vpn_state_without_pid", {{"path", path}});
    ui.Warn("No process ID tracked, cleaning up state");
    RemoveStateFile(path);
    return kExitVpnError;
  }
  const pid_t pid = *state->pid;
  LogInfo("vpn_disconnect_initiated", {{"pid", pid},
                                       {"ip", state->ip},
                                       {"device", state->device},
                                       {"duration_seconds", SecondsSince(state->connected_at)}});

  // First, so that a supervisor that is reconnecting (openconnect gone) stops too.
  TellSupervisor(*state);
  LiveCheck live = CheckOpenconnect(*state);
  if (live.kind != LiveCheck::kLive) {
    LogWarn("vpn_process_not_running", {{"pid", pid}, {"detail", live.detail}});
    if (live.kind == LiveCheck::kNotOurs) {
      ui.Warn("Process " + std::to_string(pid) + " is not the VPN's openconnect; not touching it.");
    } else if (auto st = ReplayDisconnect(state->record_dir, SystemVpncScript()); !st) {
      LogWarn("vpn_disconnect_replay_failed", {{"error", st.error().message}});
    }
    RemoveStateFile(path);
    ui.Info("VPN already disconnected");
    return kExitOk;
  }
  Process& proc = *live.process;
  if (::geteuid() != 0 && proc.Identity().uid != ::geteuid()) {
    LogError("vpn_disconnect_failed",
             {{"pid", pid},
              {"error", "process belongs to uid " + std::to_string(proc.Identity().uid)},
              {"state", "Failed"}});
    ui.Error("Permission denied to terminate VPN process. Run with sudo.");
    return kExitVpnError;
  }

  ui.Plain("Disconnecting VPN...");
  StopPolicy policy;
  policy.grace = options.grace;
  policy.kill_grace = options.kill_grace;
  policy.on_step = [&](StopStep step) {
    if (step == StopStep::kTermSent)
      LogInfo("vpn_signal_sent", {{"pid", pid}, {"signal", "SIGTERM"}});
    if (step == StopStep::kGraceExpired) ui.Plain("  Force-killing VPN process...");
  };
  StopResult r = StopProcess(proc, policy);
  switch (r.outcome) {
    case StopOutcome::kAlreadyGone:
    case StopOutcome::kExitedGracefully:
      RemoveStateFile(path);
      LogInfo(
          "vpn_disconnected_gracefully",
          {{"pid", pid}, {"method", "SIGTERM"}, {"state", "Disconnected"}, {"elapsed", r.elapsed}});
      ui.Success("VPN disconnected gracefully");
      return kExitOk;
    case StopOutcome::kKilled:
      LogWarn("vpn_force_killed", {{"pid", pid},
                                   {"method", "SIGKILL"},
                                   {"reason", "Graceful shutdown timeout"},
                                   {"state", "Disconnected"},
                                   {"elapsed", r.elapsed}});
      if (auto st = ReplayDisconnect(state->record_dir, SystemVpncScript()); !st) {
        LogWarn("vpn_disconnect_replay_failed", {{"error", st.error().message}});
        ui.Warn("Routes or DNS may not be fully restored: " + st.error().message);
      }
      RemoveStateFile(path);
      ui.Success("VPN disconnected (forced)");
      return kExitOk;
    case StopOutcome::kPermissionDenied:
      LogError("vpn_disconnect_failed", {{"pid", pid}, {"error", r.detail}, {"state", "Failed"}});
      ui.Error("Permission denied to terminate VPN process. Run with sudo.");
      return kExitVpnError;
    case StopOutcome::kUnkillable:
      LogError("vpn_disconnect_failed", {{"pid", pid}, {"error", r.detail}, {"state", "Failed"}});
      RemoveStateFile(path);
      ui.Error("Process could not be killed (may be in kernel state). Contact support.");
      return kExitVpnError;
    case StopOutcome::kNotOurs:
    case StopOutcome::kFailed:
      break;
  }
  LogError("vpn_disconnect_failed", {{"pid", pid}, {"error", r.detail}, {"state", "Failed"}});
  RemoveStateFile(path);
  ui.Error("Failed to terminate VPN process: " + r.detail,
           "Check with 'ip addr' and 'ps " + std::to_string(pid) + "'.");
  return kExitVpnError;
}

int VpnStatus(Ui& ui, bool as_json) {
  namespace json = boost::json;
  const std::string path = StatePath();
  json::object out;
  auto emit = [&](int code) {
    if (as_json) ui.Out() << json::serialize(out) << '\n' << std::flush;
    return code;
  };
  auto state = LoadState(path);
  if (!state) {
    if (state.error().kind == ErrorKind::kNotFound) {
      out["state"] = "Disconnected";
      if (!as_json) ui.Info("VPN is disconnected");
      return emit(kExitVpnError);
    }
    out["state"] = "Error";
    out["error"] = state.error().message;
    if (!as_json) {
      ui.Error("Cannot read VPN state: " + state.error().message,
               state.error().kind == ErrorKind::kPermission
                   ? "Run with sudo."
                   : "Run 'akon vpn reset' after checking 'ip addr'.");
    }
    return emit(kExitStatusError);
  }
  LiveCheck live = CheckOpenconnect(*state);
  out["ip"] = state->ip;
  out["device"] = state->device;
  out["server"] = state->server;
  out["since"] = FormatRfc3339(state->connected_at);
  if (state->pid) out["pid"] = *state->pid;
  if (live.kind == LiveCheck::kLive) {
    out["state"] = "Connected";
    out["duration_seconds"] = SecondsSince(state->connected_at);
    if (!as_json) {
      ui.Success("VPN connected: " + state->ip + " on " + state->device +
                 (state->server.empty() ? "" : " to " + state->server) + ", since " +
                 FormatRfc3339(state->connected_at) + ", pid " + std::to_string(*state->pid));
    }
    return emit(kExitOk);
  }
  if (state->status == "reconnecting") {
    if (SupervisorAlive(*state)) {
      out["state"] = "Reconnecting";
      out["attempt"] = state->attempt;
      if (state->next_retry) out["next_retry"] = FormatRfc3339(*state->next_retry);
      if (!as_json) {
        ui.Info("VPN is reconnecting: attempt " + std::to_string(state->attempt) +
                (state->next_retry ? ", next retry at " + FormatRfc3339(*state->next_retry) : "") +
                (state->ended.empty() ? "" : " (" + state->ended + ")"));
      }
      return emit(kExitVpnError);
    }
  }
  if (state->status == "error") {
    out["state"] = "Error";
    out["error"] = state->ended;
    if (!as_json) {
      ui.Error("VPN " + state->ended + ".", "Run 'akon vpn on' to try again, or 'akon vpn reset'.");
    }
    return emit(kExitStatusError);
  }
  out["state"] = "Stale";
  std::string why = live.kind == LiveCheck::kNoPid ? "no process ID is tracked" : live.detail;
  if (!state->ended.empty()) why = state->ended;
  out["reason"] = why;
  if (!as_json) {
    ui.Warn("VPN state is stale: " + why + ".");
    ui.Plain("  Run 'akon vpn reset' to clear it, or 'akon vpn on' to reconnect.");
  }
  return emit(kExitStale);
}

int VpnReset(Ui& ui) {
  const std::string path = StatePath();
  auto lock = FileLock::Acquire(StateLockPath(path));
  if (!lock) {
    ui.Error("Cannot lock VPN state: " + lock.error().message, "Run with sudo.");
    return kExitVpnError;
  }
  auto state = LoadState(path);
  if (!state && state.error().kind == ErrorKind::kNotFound) {
    ui.Info("No VPN state to reset");
    return kExitOk;
  }
  if (state) {
    LiveCheck live = CheckOpenconnect(*state);
    if (live.kind == LiveCheck::kLive) {
      ui.Info("VPN is connected (openconnect pid " + std::to_string(live.process->Pid()) +
              "); nothing to reset. Use 'akon vpn off' to disconnect.");
      return kExitOk;
    }
    if (live.kind == LiveCheck::kGone)
      (void)ReplayDisconnect(state->record_dir, SystemVpncScript());
  } else if (state.error().kind == ErrorKind::kPermission) {
    ui.Error("Permission denied reading VPN state " + path + ".", "Run with sudo.");
    return kExitVpnError;
  } else if (state.error().kind == ErrorKind::kUntrusted) {
    // Its pid cannot be checked, so whether a connection is live is unknown: leave it to a person.
    ui.Error("State file not trusted: " + state.error().message + "; not removed.",
             "Check the VPN with 'ip addr', then remove " + path + " yourself.");
    return kExitVpnError;
  }
  if (auto st = RemoveFile(path); !st) {
    ui.Error("Cannot remove " + path + ": " + st.error().message, "Run with sudo.");
    return kExitVpnError;
  }
  LogInfo("vpn_state_reset", {{"path", path}});
  ui.Success("Cleared stale VPN state");
  return kExitOk;
}

}  // namespace va::akon
