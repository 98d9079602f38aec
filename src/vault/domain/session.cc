#include "vault/domain/session.h"

#include <algorithm>
#include <array>
#include <limits>

namespace va::vault {
namespace {

constexpr std::array kStates = {SessionState::kStarting, SessionState::kActive,
                                SessionState::kTerminating, SessionState::kTerminated};

constexpr std::array kReasons = {
    TerminationReason::kClientRequest,     TerminationReason::kOwnerRequest,
    TerminationReason::kAdminAction,       TerminationReason::kExpired,
    TerminationReason::kPermissionRevoked, TerminationReason::kFileDeleted,
    TerminationReason::kUserDisabled,      TerminationReason::kSandboxExited,
    TerminationReason::kServerShutdown,    TerminationReason::kServerRecovery,
};

}  // namespace

std::string_view SessionStateName(SessionState state) {
  switch (state) {
    case SessionState::kStarting:
      return "Starting";
    case SessionState::kActive:
      return "Active";
    case SessionState::kTerminating:
      return "Terminating";
    case SessionState::kTerminated:
      return "Terminated";
  }
  return "Terminated";
}

std::optional<SessionState> ParseSessionState(std::string_view name) {
  for (SessionState state : kStates) {
    if (SessionStateName(state) == name) return state;
  }
  return std::nullopt;
}

bool IsLive(SessionState state) { return state != SessionState::kTerminated; }

bool CanTransition(SessionState from, SessionState to) {
  switch (from) {
    case SessionState::kStarting:
      return to == SessionState::kActive || to == SessionState::kTerminating ||
             to == SessionState::kTerminated;
    case SessionState::kActive:
      return to == SessionState::kTerminating;
    case SessionState::kTerminating:
      return to == SessionState::kTerminated;
    case SessionState::kTerminated:
      return false;
  }
  return false;
}

std::string_view TerminationReasonName(TerminationReason reason) {
  switch (reason) {
    case TerminationReason::kClientRequest:
      return "ClientRequest";
    case TerminationReason::kOwnerRequest:
      return "OwnerRequest";
    case TerminationReason::kAdminAction:
      return "AdminAction";
    case TerminationReason::kExpired:
      return "Expired";
    case TerminationReason::kPermissionRevoked:
      return "PermissionRevoked";
    case TerminationReason::kFileDeleted:
      return "FileDeleted";
    case TerminationReason::kUserDisabled:
      return "UserDisabled";
    case TerminationReason::kSandboxExited:
      return "SandboxExited";
    case TerminationReason::kServerShutdown:
      return "ServerShutdown";
    case TerminationReason::kServerRecovery:
      return "ServerRecovery";
  }
  return "ServerRecovery";
}

std::optional<TerminationReason> ParseTerminationReason(std::string_view name) {
  for (TerminationReason reason : kReasons) {
    if (TerminationReasonName(reason) == name) return reason;
  }
  return std::nullopt;
}

int64_t DurationSeconds(int64_t started_at, int64_t until) {
  return until > started_at ? until - started_at : 0;
}

int64_t DurationSeconds(const Session& session, int64_t now) {
  return DurationSeconds(session.started_at, session.terminated_at.value_or(now));
}

int64_t SessionExpiry(int64_t now, int64_t max_duration_seconds,
                      std::optional<int64_t> permission_expires_at) {
  constexpr int64_t kMax = std::numeric_limits<int64_t>::max();
  const int64_t duration = std::max<int64_t>(max_duration_seconds, 0);
  const int64_t by_duration = now > kMax - duration ? kMax : now + duration;
  return permission_expires_at ? std::min(by_duration, *permission_expires_at) : by_duration;
}

}  // namespace va::vault
