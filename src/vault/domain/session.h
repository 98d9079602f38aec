// The viewing session (spec §6–§8): one client viewing one file of one owner through one sandbox
// on one node, for a bounded time. States move only forward:
//
//   Starting ──► Active ──► Terminating ──► Terminated
//       │                        ▲               ▲
//       └────────────────────────┘               │  (Starting ──► Terminated: a start that
//       └────────────────────────────────────────┘   failed before the session was ever Active)
//
// Starting, Active and Terminating are "live": the session still holds (or may hold) a sandbox
// and a peer, counts against the client's limit and blocks a second session on the same file.
// Terminated carries terminated_at and, when the session was ended (rather than failing to
// start), a TerminationReason whose names are the wire names of spec §7. Times are integer Unix
// seconds; durations are whole seconds rounded down. Nothing here knows of HTTP, SQL or JSON.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace va::vault {

enum class SessionState { kStarting, kActive, kTerminating, kTerminated };
// "Starting", "Active", "Terminating", "Terminated".
std::string_view SessionStateName(SessionState state);
std::optional<SessionState> ParseSessionState(std::string_view name);
// Starting, Active or Terminating.
bool IsLive(SessionState state);
// Whether the state machine above allows `from` → `to`.
bool CanTransition(SessionState from, SessionState to);

// Why a session ended (spec §7). The names are stable: they appear on the wire, in the audit log
// and in the database.
enum class TerminationReason {
  kClientRequest,
  kOwnerRequest,
  kAdminAction,
  kExpired,
  kPermissionRevoked,
  kFileDeleted,
  kUserDisabled,
  kSandboxExited,
  kServerShutdown,
  kServerRecovery,
};
// "ClientRequest", "OwnerRequest", …, "ServerRecovery".
std::string_view TerminationReasonName(TerminationReason reason);
std::optional<TerminationReason> ParseTerminationReason(std::string_view name);

struct Session {
  std::string id;             // ses_…
  std::string client_id;      // usr_… of the viewer
  std::string owner_id;       // usr_… of the file's owner
  std::string file_id;        // fil_…
  std::string permission_id;  // prm_… the session was started under
  std::string sandbox_id;     // sbx_…
  std::string node_id;        // the vaultd node that holds the sandbox and the peer
  SessionState state = SessionState::kStarting;
  int64_t started_at = 0;
  int64_t expires_at = 0;
  std::optional<int64_t> terminated_at;
  std::optional<TerminationReason> termination_reason;
  std::string ip_address;  // of the request that started it
  std::string user_agent;
};

// Whole seconds from `started_at` to `until`, rounded down, never negative.
int64_t DurationSeconds(int64_t started_at, int64_t until);
// The session's duration so far (`now` for a live session, terminated_at once it ended).
int64_t DurationSeconds(const Session& session, int64_t now);
// expires_at = min(now + max_duration_seconds, permission_expires_at) (spec §6); saturates
// instead of overflowing.
int64_t SessionExpiry(int64_t now, int64_t max_duration_seconds,
                      std::optional<int64_t> permission_expires_at);

}  // namespace va::vault
