// SessionService: the lifecycle of viewing sessions (spec §6–§8, §10–§12, seed 000 AC1–AC4) over
// the ports of session_ports.h and VaultApp's store, blob store and audit writer.
//
// StartSession runs the checks of spec §6 in order, then creates the session (a Starting row,
// so that a crash never leaves a sandbox without a record), the sandbox, the peer and its offer,
// arms the expiry and five-minute warning timers, moves the session to Active, publishes
// SessionStarted, tells the owner and audits. A failure at any step releases everything made so
// far; the session row ends Terminated without a reason.
//
// Every termination — client, owner, admin, expiry, revoke, file delete, user disable, viewer
// exit, shutdown, recovery — runs one path, in the order of spec §7: compare-and-set to
// Terminating (the only winner goes on; everyone else gets SessionAlreadyTerminated), close the
// peer (data-channel message first), destroy the sandbox, compare-and-set to Terminated with
// terminated_at and the reason, cancel the timers, publish SessionTerminated, tell the owner (and
// admins), tell the client unless it asked itself, audit SessionTerminated. A release that fails
// does not stop the path: the failure is audited (SandboxFailed), and a reaper retries it with
// backoff on the Scheduler. A session ended while still Starting (a revoke racing its start)
// sends no owner/client message — nobody was told it started — and its StartSession answers
// with the matching error.
//
// Thread-safe: terminations may race from HTTP threads, timer callbacks and sandbox-exit
// handlers; no lock is held while a port is called. Handlers never throw; a backend failure is
// Internal with a generic message, logged once here.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <vector>

#include "base/clock.h"
#include "vault/app/ports.h"
#include "vault/app/sessions/session_ports.h"
#include "vault/app/vault_app.h"
#include "vault/domain/errors.h"
#include "vault/domain/session.h"

namespace va::vault {

struct SessionConfig {
  std::string node_id = "local";    // this vaultd (--node-id)
  int max_sessions_per_client = 8;  // spec §12
  int64_t warning_seconds = 300;    // SessionExpiring this long before expires_at
  int viewer_width = 1280;          // first frame size; the peer may resize later
  int viewer_height = 720;
  std::chrono::seconds reap_first_retry{5};  // the reaper's backoff: doubles up to reap_max_retry
  std::chrono::seconds reap_max_retry{300};
  size_t max_sdp_bytes = size_t{64} * 1024;
  size_t max_candidate_bytes = 4096;
};

// The ports besides VaultApp's.
struct SessionPorts {
  SessionRepository& sessions;
  ViewerSandboxes& sandboxes;
  PeerService& peers;
  Notifier& notifier;
  SessionEventSink& events;
  Scheduler& scheduler;
  NodeCapacity& capacity;
};

// The 201 of StartSession (spec §6).
struct StartedSession {
  Session session;
  std::string webrtc_sdp_offer;
  std::string file_name;
  bool read = true;
  bool write = false;
  bool execute = false;
};

// The 200 of a termination (spec §7).
struct TerminatedSession {
  std::string session_id;
  int64_t terminated_at = 0;
  int64_t duration_seconds = 0;
};

// A live session as the active-session lists show it.
struct SessionView {
  Session session;
  std::string client_email;
  std::string file_name;
  int64_t duration_seconds = 0;  // so far
};

struct RecoveryReport {
  std::vector<std::string> ended_sessions;   // ended with ServerRecovery
  std::vector<std::string> swept_sandboxes;  // leftovers the sandbox port destroyed
};

// {"session_id":…,"sandbox_id":…,"webrtc_sdp_offer":…,"expires_at":…,"file_name":…,
//  "permissions":{"read":…,"write":…,"execute":…}}
std::string StartedSessionJson(const StartedSession& started);
// {"success":true,"session_id":…,"terminated_at":…,"duration_seconds":…}
std::string TerminatedSessionJson(const TerminatedSession& terminated);
// {"session_id","state","client_id","client_email","file_id","file_name","started_at",
//  "expires_at","duration_seconds","ip_address"}
std::string SessionViewJson(const SessionView& view);
// "2026-02-14T10:45:00Z" from Unix seconds.
std::string Rfc3339(int64_t unix_seconds);

class SessionService final : public SessionHooks {
 public:
  // Registers itself as `app`'s SessionHooks and as the sandboxes' exit handler; the destructor
  // undoes both and cancels its timers. The Scheduler, the ports and `app` must outlive it.
  SessionService(VaultApp& app, Store& store, BlobStore& blobs, SessionPorts ports,
                 const Clock& clock, SessionConfig config = {});
  ~SessionService() override;
  SessionService(const SessionService&) = delete;
  SessionService& operator=(const SessionService&) = delete;

  // POST /api/client/sessions (§6). Checks in order: client role (Forbidden); file_id shape
  // (InvalidInput); file exists, not deleted (FileNotFound); a permission of (client, file)
  // (PermissionDenied), not expired (PermissionExpired), not revoked (PermissionRevoked) — each
  // refusal audited UnauthorizedSessionAttempt (Denied); no live session of the client on the
  // file (SessionAlreadyActive, the existing one stays); fewer than max_sessions_per_client live
  // sessions (RateLimited, retry_after = seconds until the oldest one expires); node capacity
  // (CapacityExceeded, also while shutting down). Then SandboxUnavailable when the sandbox
  // cannot be made (audited SandboxFailed), Internal when the peer or the database fails, and
  // the §6 error of whatever ended the session while it was starting (PermissionRevoked,
  // FileNotFound, Unauthenticated for a disabled client, SessionNotActive otherwise).
  AppResult<StartedSession> StartSession(const Actor& actor, std::string_view file_id);

  // The one termination path. `actor` is required for ClientRequest (client role; the caller's
  // own session), OwnerRequest (owner role; a session on the caller's file) and AdminAction
  // (admin role), and ignored (may be null) for the system reasons. Checks in order: role
  // (Forbidden, audited), id shape (InvalidInput), SessionNotFound, not the caller's
  // (Unauthorized, audited Denied), already Terminating/Terminated (SessionAlreadyTerminated).
  // `note` is the owner's or admin's free-text reason (InvalidInput when over 1024 bytes or not
  // clean UTF-8); it goes to the audit metadata only.
  AppResult<TerminatedSession> Terminate(const Actor* actor, std::string_view session_id,
                                         TerminationReason reason, std::string_view note = {});
  AppResult<TerminatedSession> TerminateByClient(const Actor& actor, std::string_view session_id) {
    return Terminate(&actor, session_id, TerminationReason::kClientRequest);
  }
  AppResult<TerminatedSession> TerminateByOwner(const Actor& actor, std::string_view session_id,
                                                std::string_view note = {}) {
    return Terminate(&actor, session_id, TerminationReason::kOwnerRequest, note);
  }
  AppResult<TerminatedSession> TerminateByAdmin(const Actor& actor, std::string_view session_id,
                                                std::string_view note = {}) {
    return Terminate(&actor, session_id, TerminationReason::kAdminAction, note);
  }

  // POST …/webrtc/answer and …/webrtc/ice (client, own session). InvalidInput for a bad id, an
  // empty/oversize/non-UTF-8 SDP or candidate, or one the peer rejects; SessionNotFound;
  // Unauthorized (audited); SessionNotActive unless Active.
  AppStatus SubmitAnswer(const Actor& actor, std::string_view session_id, std::string_view sdp);
  AppStatus AddIceCandidate(const Actor& actor, std::string_view session_id,
                            const IceCandidate& candidate);

  // GET /api/client/sessions/active: the caller's live sessions, newest first (the route shows
  // the first, or null).
  AppResult<std::vector<SessionView>> ClientActiveSessions(const Actor& actor);
  // GET /api/owner/sessions/active: live sessions on the caller's files, oldest first.
  AppResult<std::vector<SessionView>> OwnerActiveSessions(const Actor& actor);
  // GET /api/admin/sessions/active: every live session, oldest first.
  AppResult<std::vector<SessionView>> AdminActiveSessions(const Actor& actor);

  // At start-up, before serving: destroys what a dead previous process of this node left
  // (SweepOrphans) and ends every session the database still holds live for this node with
  // ServerRecovery (sandbox destroyed through the port, owners notified, audited).
  RecoveryReport Recover();
  // On SIGTERM, after the listener stopped accepting: refuses new starts (CapacityExceeded),
  // ends every live session of this node with ServerShutdown, and retries pending releases
  // once. Returns the sessions it ended.
  std::vector<std::string> Shutdown();

  // Retries every pending release now (the reaper also runs on the Scheduler). Returns how many
  // are still pending.
  size_t ReapNow();
  size_t PendingReleases() const;

  // SessionHooks: revoke → PermissionRevoked for the sessions started under the permission; file
  // delete → FileDeleted for the sessions on the file; user disable → UserDisabled for the
  // sessions in which the user is the client (not those on a disabled owner's files: disabling
  // an owner does not withdraw the permissions they granted, and StartSession would accept the
  // same sessions again).
  void OnPermissionRevoked(const std::string& permission_id) override;
  void OnFileDeleted(const std::string& file_id) override;
  void OnUserDisabled(const std::string& user_id) override;

 private:
  struct Timers {
    TimerId expiry = 0;
    TimerId warning = 0;
  };
  // A release that failed and waits for the reaper.
  struct PendingRelease {
    std::string session_id;
    std::string sandbox_id;
    bool sandbox = false;  // the sandbox still needs Destroy
    // The row still needs Terminating → Terminated with these.
    bool record = false;
    int64_t terminated_at = 0;
    std::optional<TerminationReason> reason;
    int attempts = 0;
    TimerId timer = 0;
  };
  // Guards callbacks (timers, exit handler) against the service's destruction.
  struct Gate {
    std::shared_mutex mutex;
    bool open = true;
  };
  struct Outcome;

  int64_t Now() const;
  AppError Backend(std::string_view op, const Error& error) const;
  void Audit(const Actor* actor, std::string_view action, const Session* session,
             std::string_view resource_type, std::string_view resource_id, AuditResult result,
             std::string metadata_json, std::string_view owner_id = {});
  AppStatus RequireRoleFor(const Actor& actor, Role role, std::string_view resource_id);
  void RecordDenied(const Actor& actor, std::string_view operation, std::string_view resource_id,
                    std::string_view owner_id, std::string_view reason);
  // Loads the caller's own session for answer/ice: InvalidInput, SessionNotFound, Unauthorized.
  AppResult<Session> LoadOwnSession(const Actor& actor, std::string_view session_id,
                                    std::string_view operation);

  // The termination path once the checks passed: the compare-and-set, then §7's steps.
  AppResult<TerminatedSession> EndSession(const Actor* actor, Session session,
                                          TerminationReason reason, std::string_view note,
                                          bool recovering);
  // Releases what a failed start made and ends its row (when nobody else is ending it).
  void AbortStart(const Session& session, bool sandbox_started);
  // Destroys the sandbox; on failure audits SandboxFailed and queues it for the reaper. true
  // when released.
  bool ReleaseSandbox(const Session& session, std::string_view stage);
  void QueueRelease(PendingRelease pending);
  void ScheduleReap(const std::string& sandbox_id, std::chrono::seconds delay);
  // One reaper attempt for `sandbox_id`; true when it is no longer pending.
  bool ReapOne(const std::string& sandbox_id);
  void ArmTimers(const Session& session);
  void CancelTimers(const std::string& session_id);
  void WarnExpiring(const std::string& session_id);
  void OnViewerExited(const std::string& session_id, const std::string& sandbox_id);
  // Runs `fn` unless the service is being destroyed.
  template <typename F>
  void Guarded(const std::shared_ptr<Gate>& gate, F&& fn);
  void EndAll(const SessionFilter& filter, TerminationReason reason);
  AppResult<std::vector<SessionView>> Views(std::vector<Session> sessions);

  VaultApp& app_;
  Store& store_;
  BlobStore& blobs_;
  SessionPorts ports_;
  const Clock& clock_;
  SessionConfig config_;
  std::shared_ptr<Gate> gate_ = std::make_shared<Gate>();

  mutable std::mutex mutex_;
  std::map<std::string, Timers, std::less<>> timers_;           // by session id
  std::map<std::string, PendingRelease, std::less<>> pending_;  // by sandbox id
  bool shutting_down_ = false;
};

}  // namespace va::vault
