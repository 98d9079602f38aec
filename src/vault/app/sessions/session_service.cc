// SessionService: StartSession, the one termination path, timers, the reaper, recovery and
// shutdown; see session_service.h.
#include "vault/app/sessions/session_service.h"

#include <algorithm>
#include <boost/json.hpp>
#include <utility>

#include "base/ids.h"
#include "base/log.h"
#include "vault/app/internal.h"

namespace va::vault {
namespace {

WallTime WallAt(int64_t unix_seconds) { return WallTime(std::chrono::seconds(unix_seconds)); }

std::string Quote(std::string_view text) {
  return boost::json::serialize(boost::json::string(text));
}

// A JSON object written in insertion order (the wire shapes of spec §6–§7 are compared as text
// by clients and tests).
class JsonObject {
 public:
  JsonObject& Str(std::string_view key, std::string_view value) { return Raw(key, Quote(value)); }
  JsonObject& Int(std::string_view key, int64_t value) { return Raw(key, std::to_string(value)); }
  JsonObject& Bool(std::string_view key, bool value) { return Raw(key, value ? "true" : "false"); }
  JsonObject& Time(std::string_view key, int64_t unix_seconds) {
    return Str(key, Rfc3339(unix_seconds));
  }
  JsonObject& Raw(std::string_view key, std::string_view encoded) {
    body_ += body_.empty() ? "{" : ",";
    body_ += Quote(key);
    body_ += ':';
    body_ += encoded;
    return *this;
  }
  std::string Done() const { return body_.empty() ? "{}" : body_ + "}"; }

 private:
  std::string body_;
};

bool IsUserRequest(TerminationReason reason) {
  return reason == TerminationReason::kClientRequest ||
         reason == TerminationReason::kOwnerRequest || reason == TerminationReason::kAdminAction;
}

std::string_view Initiator(TerminationReason reason) {
  switch (reason) {
    case TerminationReason::kClientRequest:
      return "client";
    case TerminationReason::kOwnerRequest:
      return "owner";
    case TerminationReason::kAdminAction:
      return "admin";
    default:
      return "system";
  }
}

// The answer of a StartSession whose session something else ended while it was starting.
AppError StartEndedBy(std::optional<TerminationReason> reason) {
  switch (reason.value_or(TerminationReason::kServerShutdown)) {
    case TerminationReason::kPermissionRevoked:
      return AppError{Code::kPermissionRevoked, "the permission was revoked", 0};
    case TerminationReason::kExpired:
      return AppError{Code::kPermissionExpired, "the permission expired", 0};
    case TerminationReason::kFileDeleted:
      return AppError{Code::kFileNotFound, "no such file", 0};
    case TerminationReason::kUserDisabled:
      return AppError{Code::kUnauthenticated, "the account is disabled", 0};
    case TerminationReason::kServerShutdown:
      return AppError{Code::kCapacityExceeded, "the server is shutting down", 0};
    default:
      return AppError{Code::kSessionNotActive, "the session ended while it was starting", 0};
  }
}

}  // namespace

std::string Rfc3339(int64_t unix_seconds) { return FormatRfc3339(WallAt(unix_seconds)); }

std::string StartedSessionJson(const StartedSession& started) {
  const std::string permissions = JsonObject()
                                      .Bool("read", started.read)
                                      .Bool("write", started.write)
                                      .Bool("execute", started.execute)
                                      .Done();
  return JsonObject()
      .Str("session_id", started.session.id)
      .Str("sandbox_id", started.session.sandbox_id)
      .Str("webrtc_sdp_offer", started.webrtc_sdp_offer)
      .Time("expires_at", started.session.expires_at)
      .Str("file_name", started.file_name)
      .Raw("permissions", permissions)
      .Done();
}

std::string TerminatedSessionJson(const TerminatedSession& terminated) {
  return JsonObject()
      .Bool("success", true)
      .Str("session_id", terminated.session_id)
      .Time("terminated_at", terminated.terminated_at)
      .Int("duration_seconds", terminated.duration_seconds)
      .Done();
}

std::string SessionViewJson(const SessionView& view) {
  const Session& s = view.session;
  return JsonObject()
      .Str("session_id", s.id)
      .Str("state", SessionStateName(s.state))
      .Str("client_id", s.client_id)
      .Str("client_email", view.client_email)
      .Str("file_id", s.file_id)
      .Str("file_name", view.file_name)
      .Time("started_at", s.started_at)
      .Time("expires_at", s.expires_at)
      .Int("duration_seconds", view.duration_seconds)
      .Str("ip_address", s.ip_address)
      .Done();
}

// --- construction ----------------------------------------------------------------------------

SessionService::SessionService(VaultApp& app, Store& store, BlobStore& blobs, SessionPorts ports,
                               const Clock& clock, SessionConfig config)
    : app_(app),
      store_(store),
      blobs_(blobs),
      ports_(ports),
      clock_(clock),
      config_(std::move(config)) {
  app_.SetSessionHooks(this);
  ports_.sandboxes.SetExitHandler(
      [this, gate = gate_](const std::string& session_id, const std::string& sandbox_id) {
        Guarded(gate, [&] { OnViewerExited(session_id, sandbox_id); });
      });
}

SessionService::~SessionService() {
  app_.SetSessionHooks(nullptr);
  ports_.sandboxes.SetExitHandler(nullptr);
  {
    // Waits for callbacks that are running; later ones see the gate closed.
    std::unique_lock lock(gate_->mutex);
    gate_->open = false;
  }
  std::vector<TimerId> ids;
  {
    std::lock_guard lock(mutex_);
    for (const auto& [id, timers] : timers_) {
      ids.push_back(timers.expiry);
      ids.push_back(timers.warning);
    }
    for (const auto& [id, pending] : pending_) ids.push_back(pending.timer);
  }
  for (TimerId id : ids) {
    if (id != 0) ports_.scheduler.Cancel(id);
  }
}

template <typename F>
void SessionService::Guarded(const std::shared_ptr<Gate>& gate, F&& fn) {
  std::shared_lock lock(gate->mutex);
  if (!gate->open) return;
  std::forward<F>(fn)();
}

int64_t SessionService::Now() const { return UnixSeconds(clock_.Now()); }

AppError SessionService::Backend(std::string_view op, const Error& error) const {
  LogError("vault_session_backend_failed", {{"op", op}, {"error", error.message}});
  return AppError{Code::kInternal, "internal error", 0};
}

// --- audit -----------------------------------------------------------------------------------

void SessionService::Audit(const Actor* actor, std::string_view action, const Session* session,
                           std::string_view resource_type, std::string_view resource_id,
                           AuditResult result, std::string metadata_json,
                           std::string_view owner_id) {
  AuditEntry entry;
  if (actor != nullptr) {
    entry.actor_id = actor->user.id;
    entry.actor_email = actor->user.email;
    entry.ip_address = actor->meta.ip_address;
    entry.user_agent = actor->meta.user_agent;
  }
  entry.action = std::string(action);
  entry.resource_type = std::string(resource_type);
  entry.resource_id = std::string(resource_id);
  entry.result = result;
  entry.metadata_json = std::move(metadata_json);
  entry.owner_id = session != nullptr ? session->owner_id : std::string(owner_id);
  app_.Record(std::move(entry));
}

void SessionService::RecordDenied(const Actor& actor, std::string_view operation,
                                  std::string_view resource_id, std::string_view owner_id,
                                  std::string_view reason) {
  Audit(&actor, "AccessDenied", nullptr, "session", resource_id, AuditResult::kDenied,
        Meta().Str("operation", operation).Str("reason", reason).Json(), owner_id);
}

AppStatus SessionService::RequireRoleFor(const Actor& actor, Role role,
                                         std::string_view resource_id) {
  if (HasRole(actor.user.roles, role)) return {};
  std::string reason = "requires the " + std::string(RoleName(role)) + " role";
  RecordDenied(actor, "RequireRole", resource_id, "", reason);
  return AppFail(Code::kForbidden, reason);
}

// --- StartSession (§6) -----------------------------------------------------------------------

AppResult<StartedSession> SessionService::StartSession(const Actor& actor,
                                                       std::string_view file_id) {
  const MonoTime began = clock_.Mono();
  if (auto ok = RequireRoleFor(actor, Role::kClient, ""); !ok) return tl::unexpected(ok.error());
  if (auto ok = CheckId("file_id", file_id, "fil_"); !ok) return tl::unexpected(ok.error());

  auto found_file = store_.Files().FindById(file_id);
  if (!found_file) return tl::unexpected(Backend("find_file", found_file.error()));
  if (!found_file->has_value() || (*found_file)->deleted_at.has_value()) {
    return AppFail(Code::kFileNotFound, "no such file");
  }
  const FileRecord file = std::move(**found_file);

  // The permission: a viewable one if any (a client may hold several grants of one file), else
  // the newest, to say why it does not allow viewing.
  int64_t now = Now();
  auto refuse = [&](Code code, std::string_view why, const std::string& permission_id,
                    std::string message) -> tl::unexpected<AppError> {
    AuditEntry entry;
    entry.actor_id = actor.user.id;
    entry.actor_email = actor.user.email;
    entry.action = "UnauthorizedSessionAttempt";
    entry.resource_type = "file";
    entry.resource_id = file.id;
    entry.result = AuditResult::kDenied;
    entry.ip_address = actor.meta.ip_address;
    entry.user_agent = actor.meta.user_agent;
    entry.owner_id = file.owner_id;
    entry.metadata_json = Meta()
                              .Str("reason", why)
                              .Str("code", CodeName(code))
                              .Str("permission_id", permission_id)
                              .Json();
    app_.Record(std::move(entry));
    return tl::unexpected(AppError{code, std::move(message), 0});
  };
  std::optional<Permission> permission;
  {
    auto viewable = store_.Permissions().ListViewable(actor.user.id, now);
    if (!viewable) return tl::unexpected(Backend("list_viewable", viewable.error()));
    for (auto& v : *viewable) {
      if (v.file.id != file.id || !v.permission.read) continue;
      if (!permission || v.permission.created_at > permission->created_at) {
        permission = v.permission;
      }
    }
  }
  if (!permission) {
    auto latest = store_.Permissions().FindLatest(actor.user.id, file.id);
    if (!latest) return tl::unexpected(Backend("find_permission", latest.error()));
    if (!latest->has_value()) {
      return refuse(Code::kPermissionDenied, "no_permission", "",
                    "no permission to view this file");
    }
    const Permission& p = **latest;
    if (p.expires_at && *p.expires_at <= now) {
      return refuse(Code::kPermissionExpired, "permission_expired", p.id, "the permission expired");
    }
    if (p.revoked_at) {
      return refuse(Code::kPermissionRevoked, "permission_revoked", p.id,
                    "the permission was revoked");
    }
    return refuse(Code::kPermissionDenied, "no_permission", p.id,
                  "no permission to view this file");
  }

  auto existing = ports_.sessions.FindLiveForClientFile(actor.user.id, file.id);
  if (!existing) return tl::unexpected(Backend("find_live_session", existing.error()));
  if (existing->has_value()) {
    return AppFail(Code::kSessionAlreadyActive,
                   "a session on this file is already active: " + (*existing)->id);
  }
  auto limit_error = [&]() -> AppError {
    // Retry when the oldest live session expires.
    int64_t retry = 1;
    if (auto live = ports_.sessions.ListLive(SessionFilter{.client_id = actor.user.id}); live) {
      int64_t earliest = 0;
      for (const auto& s : *live) {
        if (earliest == 0 || s.expires_at < earliest) earliest = s.expires_at;
      }
      retry = std::max<int64_t>(1, earliest - now);
    }
    return AppError{
        Code::kRateLimited,
        "at most " + std::to_string(config_.max_sessions_per_client) + " sessions at once",
        static_cast<int>(std::min<int64_t>(retry, 1 << 30))};
  };
  auto count = ports_.sessions.CountLiveForClient(actor.user.id);
  if (!count) return tl::unexpected(Backend("count_live_sessions", count.error()));
  if (*count >= config_.max_sessions_per_client) return tl::unexpected(limit_error());

  {
    std::lock_guard lock(mutex_);
    if (shutting_down_) return AppFail(Code::kCapacityExceeded, "the server is shutting down");
  }

  Session session;
  session.id = RandomId("ses_");
  session.client_id = actor.user.id;
  session.owner_id = file.owner_id;
  session.file_id = file.id;
  session.permission_id = permission->id;
  session.sandbox_id = RandomId("sbx_");
  session.node_id = config_.node_id;
  session.state = SessionState::kStarting;
  session.started_at = now;
  session.expires_at = SessionExpiry(
      now, std::min(permission->max_duration_seconds, app_.Config().max_session_seconds),
      permission->expires_at);
  session.ip_address = actor.meta.ip_address;
  session.user_agent = actor.meta.user_agent;

  if (!ports_.capacity.TryAcquire(session.id)) {
    LogWarn("vault_session_capacity_exceeded", {{"client_id", actor.user.id}});
    return AppFail(Code::kCapacityExceeded, "no room for another session on this server");
  }
  // The row first: from here on a crash leaves a record for Recover() to end.
  auto inserted = ports_.sessions.Insert(session, config_.max_sessions_per_client);
  if (!inserted || *inserted != SessionInsert::kInserted) {
    ports_.capacity.Release(session.id);
    if (!inserted) return tl::unexpected(Backend("insert_session", inserted.error()));
    if (*inserted == SessionInsert::kDuplicate) {
      return AppFail(Code::kSessionAlreadyActive, "a session on this file is already active");
    }
    return tl::unexpected(limit_error());
  }

  ViewerSpec spec;
  spec.session_id = session.id;
  spec.sandbox_id = session.sandbox_id;
  spec.file_path = blobs_.PathOf(file.owner_id, file.id);
  spec.content_type = file.content_type;
  spec.width = config_.viewer_width;
  spec.height = config_.viewer_height;
  auto viewer = ports_.sandboxes.Start(spec);
  if (!viewer) {
    LogError("vault_sandbox_start_failed",
             {{"session_id", session.id}, {"error", viewer.error().message}});
    Audit(&actor, "SandboxFailed", &session, "sandbox", session.sandbox_id, AuditResult::kFailed,
          Meta()
              .Str("stage", "start")
              .Str("session_id", session.id)
              .Str("file_id", file.id)
              .Str("error", viewer.error().message)
              .Json());
    AbortStart(session, false);
    return AppFail(Code::kSandboxUnavailable, "the viewer sandbox could not be started");
  }

  auto offer = ports_.peers.CreateOffer(session.id, session.sandbox_id);
  if (!offer) {
    LogError("vault_peer_offer_failed",
             {{"session_id", session.id}, {"error", offer.error().message}});
    Audit(&actor, "SessionStartFailed", &session, "session", session.id, AuditResult::kFailed,
          Meta().Str("stage", "webrtc_offer").Str("error", offer.error().message).Json());
    AbortStart(session, true);
    return AppFail(Code::kInternal, "internal error");
  }

  // What the session rests on may have gone while it was starting. A revoke, file delete or
  // user disable either committed before this re-read (seen here) or lists the sessions after
  // its commit (and so finds this Starting row and ends it: the compare-and-set below fails).
  {
    std::optional<AppError> gone;
    auto p = store_.Permissions().FindById(permission->id);
    auto f = store_.Files().FindById(file.id);
    auto u = store_.Users().FindById(actor.user.id);
    now = Now();
    if (!p || !f || !u) {
      gone = Backend("recheck_session", !p ? p.error() : (!f ? f.error() : u.error()));
    } else if (!p->has_value() || (*p)->revoked_at) {
      gone = AppError{Code::kPermissionRevoked, "the permission was revoked", 0};
    } else if ((*p)->expires_at && *(*p)->expires_at <= now) {
      gone = AppError{Code::kPermissionExpired, "the permission expired", 0};
    } else if (!f->has_value() || (*f)->deleted_at) {
      gone = AppError{Code::kFileNotFound, "no such file", 0};
    } else if (!u->has_value() || (*u)->status != UserStatus::kActive) {
      gone = AppError{Code::kUnauthenticated, "the account is disabled", 0};
    }
    if (gone) {
      AbortStart(session, true);
      return tl::unexpected(*gone);
    }
  }

  ArmTimers(session);
  auto activated = ports_.sessions.Transition(session.id, SessionState::kStarting,
                                              SessionState::kActive, std::nullopt, std::nullopt);
  if (!activated || !*activated) {
    AppError error = !activated ? Backend("activate_session", activated.error()) : AppError{};
    if (activated) {
      // Ended while starting (a revoke, a shutdown, the expiry): answer with why.
      auto again = ports_.sessions.FindById(session.id);
      error =
          StartEndedBy(again && again->has_value() ? (*again)->termination_reason : std::nullopt);
    }
    AbortStart(session, true);
    return tl::unexpected(std::move(error));
  }
  session.state = SessionState::kActive;

  ports_.events.Publish(
      SessionEvent{SessionEvent::Kind::kStarted, session, clock_.Mono() - began, 0, false});
  ports_.notifier.Publish(Notification{"SessionStarted",
                                       JsonObject()
                                           .Str("type", "SessionStarted")
                                           .Str("session_id", session.id)
                                           .Str("client_email", actor.user.email)
                                           .Str("file_name", file.name)
                                           .Time("started_at", session.started_at)
                                           .Str("ip_address", session.ip_address)
                                           .Done(),
                                       {session.owner_id},
                                       true});
  Audit(&actor, "SessionStarted", &session, "session", session.id, AuditResult::kSuccess,
        Meta()
            .Str("file_id", file.id)
            .Str("file_name", file.name)
            .Str("permission_id", session.permission_id)
            .Str("sandbox_id", session.sandbox_id)
            .Str("expires_at", Rfc3339(session.expires_at))
            .Json());
  LogInfo("vault_session_started", {{"session_id", session.id},
                                    {"sandbox_id", session.sandbox_id},
                                    {"latency", clock_.Mono() - began}});

  StartedSession started;
  started.session = session;
  started.webrtc_sdp_offer = std::move(*offer);
  started.file_name = file.name;
  started.read = permission->read;
  started.write = permission->write;
  started.execute = permission->execute;
  return started;
}

void SessionService::AbortStart(const Session& session, bool sandbox_started) {
  CancelTimers(session.id);
  if (auto closed = ports_.peers.Close(session.id, std::nullopt); !closed) {
    LogWarn("vault_peer_close_failed",
            {{"session_id", session.id}, {"error", closed.error().message}});
  }
  bool released = true;
  if (sandbox_started) released = ReleaseSandbox(session, "abort_start");
  if (released) ports_.capacity.Release(session.id);
  // Ends the row unless a termination won it (that one finishes it).
  auto ended = ports_.sessions.Transition(session.id, SessionState::kStarting,
                                          SessionState::kTerminated, Now(), std::nullopt);
  if (!ended) {
    // Left Starting: Recover() ends it at the next start of this node.
    LogError("vault_session_abort_failed",
             {{"session_id", session.id}, {"error", ended.error().message}});
  }
}

// --- termination (§7) --------------------------------------------------------------------------

AppResult<TerminatedSession> SessionService::Terminate(const Actor* actor,
                                                       std::string_view session_id,
                                                       TerminationReason reason,
                                                       std::string_view note) {
  const bool by_user = IsUserRequest(reason);
  VA_CHECK(!by_user || actor != nullptr, "a user's termination needs the actor");
  if (by_user) {
    const Role role = reason == TerminationReason::kClientRequest  ? Role::kClient
                      : reason == TerminationReason::kOwnerRequest ? Role::kOwner
                                                                   : Role::kAdmin;
    if (auto ok = RequireRoleFor(*actor, role, session_id); !ok) {
      return tl::unexpected(ok.error());
    }
  }
  if (auto ok = CheckId("session_id", session_id, "ses_"); !ok) return tl::unexpected(ok.error());
  if (!note.empty()) {
    if (auto ok = CheckReason(note); !ok) return tl::unexpected(ok.error());
  }
  auto found = ports_.sessions.FindById(session_id);
  if (!found) return tl::unexpected(Backend("find_session", found.error()));
  if (!found->has_value()) return AppFail(Code::kSessionNotFound, "no such session");
  Session session = std::move(**found);

  if (reason == TerminationReason::kClientRequest && session.client_id != actor->user.id) {
    RecordDenied(*actor, "TerminateSession", session.id, session.owner_id, "not_own_session");
    return AppFail(Code::kUnauthorized, "the session belongs to another client");
  }
  if (reason == TerminationReason::kOwnerRequest && session.owner_id != actor->user.id) {
    RecordDenied(*actor, "TerminateSession", session.id, session.owner_id, "not_owner");
    return AppFail(Code::kUnauthorized, "the session is on another owner's file");
  }
  return EndSession(by_user ? actor : nullptr, std::move(session), reason, note, false);
}

AppResult<TerminatedSession> SessionService::EndSession(const Actor* actor, Session session,
                                                        TerminationReason reason,
                                                        std::string_view note, bool recovering) {
  const MonoTime began = clock_.Mono();
  auto already = [] {
    return AppFail(Code::kSessionAlreadyTerminated, "the session has already been terminated");
  };
  // 1. Terminating, by compare-and-set: exactly one caller goes on. A lost race is re-read
  // once per state the session could have moved through (Starting → Active → …).
  bool was_active = false;
  for (int attempt = 0;; ++attempt) {
    if (session.state == SessionState::kTerminated) return already();
    if (session.state == SessionState::kTerminating) {
      // Only recovery finishes a termination another (dead) process began.
      if (!recovering) return already();
      was_active = true;
      break;
    }
    auto won = ports_.sessions.Transition(session.id, session.state, SessionState::kTerminating,
                                          std::nullopt, std::nullopt);
    if (!won) return tl::unexpected(Backend("terminating_session", won.error()));
    if (*won) {
      was_active = session.state == SessionState::kActive;
      break;
    }
    if (attempt >= 3) return already();
    auto again = ports_.sessions.FindById(session.id);
    if (!again) return tl::unexpected(Backend("find_session", again.error()));
    if (!again->has_value()) return AppFail(Code::kSessionNotFound, "no such session");
    session = std::move(**again);
  }
  session.state = SessionState::kTerminating;
  if (session.node_id != config_.node_id) {
    LogWarn("vault_session_remote_termination",
            {{"session_id", session.id}, {"node_id", session.node_id}});
  }

  // 2. The viewer page is told, then the peer is closed.
  bool release_failed = false;
  if (auto closed = ports_.peers.Close(
          session.id, was_active ? std::optional<TerminationReason>(reason) : std::nullopt);
      !closed) {
    release_failed = true;
    LogError("vault_peer_close_failed",
             {{"session_id", session.id}, {"error", closed.error().message}});
    Audit(actor, "SessionReleaseFailed", &session, "session", session.id, AuditResult::kFailed,
          Meta().Str("stage", "close_peer").Str("error", closed.error().message).Json());
  }
  // 3. The sandbox: every process killed and reaped, cgroup and scratch dir removed.
  if (!ReleaseSandbox(session, "terminate")) release_failed = true;

  // 4. Terminated, with when and why.
  const int64_t terminated_at = Now();
  auto done = ports_.sessions.Transition(session.id, SessionState::kTerminating,
                                         SessionState::kTerminated, terminated_at, reason);
  if (!done || !*done) {
    LogError(
        "vault_session_record_failed",
        {{"session_id", session.id},
         {"error", done ? std::string("the session left Terminating") : done.error().message}});
    if (!done) {
      PendingRelease pending;
      pending.session_id = session.id;
      pending.sandbox_id = session.sandbox_id;
      pending.record = true;
      pending.terminated_at = terminated_at;
      pending.reason = reason;
      QueueRelease(std::move(pending));
    }
  }
  session.state = SessionState::kTerminated;
  session.terminated_at = terminated_at;
  session.termination_reason = reason;
  const int64_t duration = DurationSeconds(session.started_at, terminated_at);

  // 5. No more expiry or warning.
  CancelTimers(session.id);

  // 6. The event.
  ports_.events.Publish(SessionEvent{SessionEvent::Kind::kTerminated, session,
                                     clock_.Mono() - began, duration, release_failed});

  // 7, 8. The owner (and admins), then the client unless it asked. A session ended while it was
  // still starting was never announced, and its StartSession answers the client.
  if (was_active) {
    std::string client_email;
    std::string file_name;
    if (auto user = store_.Users().FindById(session.client_id); user && user->has_value()) {
      client_email = (*user)->email;
    } else if (!user) {
      (void)Backend("find_client", user.error());
    }
    if (auto file = store_.Files().FindById(session.file_id); file && file->has_value()) {
      file_name = (*file)->name;
    } else if (!file) {
      (void)Backend("find_file", file.error());
    }
    ports_.notifier.Publish(Notification{"SessionTerminated",
                                         JsonObject()
                                             .Str("type", "SessionTerminated")
                                             .Str("session_id", session.id)
                                             .Str("client_email", client_email)
                                             .Str("file_name", file_name)
                                             .Time("terminated_at", terminated_at)
                                             .Int("duration_seconds", duration)
                                             .Str("reason", TerminationReasonName(reason))
                                             .Done(),
                                         {session.owner_id},
                                         true});
    if (reason != TerminationReason::kClientRequest) {
      ports_.notifier.Publish(Notification{"SessionTerminated",
                                           JsonObject()
                                               .Str("type", "SessionTerminated")
                                               .Str("session_id", session.id)
                                               .Str("reason", TerminationReasonName(reason))
                                               .Time("terminated_at", terminated_at)
                                               .Done(),
                                           {session.client_id},
                                           false});
    }
  }

  // 9. The audit entry.
  Meta meta;
  meta.Str("reason", TerminationReasonName(reason))
      .Int("duration_seconds", duration)
      .Str("initiator", Initiator(reason))
      .Str("file_id", session.file_id)
      .Str("client_id", session.client_id)
      .Str("sandbox_id", session.sandbox_id);
  if (!note.empty()) meta.Str("note", note);
  if (!was_active) meta.Bool("ended_while_starting", true);
  if (release_failed) meta.Bool("release_failed", true);
  Audit(actor, "SessionTerminated", &session, "session", session.id, AuditResult::kSuccess,
        meta.Json());
  LogInfo("vault_session_terminated", {{"session_id", session.id},
                                       {"reason", TerminationReasonName(reason)},
                                       {"duration_seconds", duration},
                                       {"latency", clock_.Mono() - began}});
  return TerminatedSession{session.id, terminated_at, duration};
}

// --- releases and the reaper ---------------------------------------------------------------------

bool SessionService::ReleaseSandbox(const Session& session, std::string_view stage) {
  auto destroyed = ports_.sandboxes.Destroy(session.sandbox_id);
  if (destroyed) {
    ports_.capacity.Release(session.id);
    return true;
  }
  LogError("vault_sandbox_release_failed", {{"session_id", session.id},
                                            {"sandbox_id", session.sandbox_id},
                                            {"error", destroyed.error().message}});
  Audit(nullptr, "SandboxFailed", &session, "sandbox", session.sandbox_id, AuditResult::kFailed,
        Meta()
            .Str("stage", stage)
            .Str("session_id", session.id)
            .Str("error", destroyed.error().message)
            .Bool("retrying", true)
            .Json());
  PendingRelease pending;
  pending.session_id = session.id;
  pending.sandbox_id = session.sandbox_id;
  pending.sandbox = true;
  QueueRelease(std::move(pending));
  return false;
}

void SessionService::QueueRelease(PendingRelease pending) {
  const std::string sandbox_id = pending.sandbox_id;
  {
    std::lock_guard lock(mutex_);
    auto [it, inserted] = pending_.try_emplace(sandbox_id, pending);
    if (!inserted) {
      it->second.sandbox = it->second.sandbox || pending.sandbox;
      if (pending.record) {
        it->second.record = true;
        it->second.terminated_at = pending.terminated_at;
        it->second.reason = pending.reason;
      }
      if (it->second.timer != 0) return;  // a retry is already scheduled
    }
  }
  ScheduleReap(sandbox_id, config_.reap_first_retry);
}

void SessionService::ScheduleReap(const std::string& sandbox_id, std::chrono::seconds delay) {
  const TimerId timer = ports_.scheduler.At(clock_.Now() + delay, [this, gate = gate_, sandbox_id] {
    Guarded(gate, [&] {
      {
        std::lock_guard lock(mutex_);
        if (auto it = pending_.find(sandbox_id); it != pending_.end()) it->second.timer = 0;
      }
      if (ReapOne(sandbox_id)) return;
      int attempts = 1;
      {
        std::lock_guard lock(mutex_);
        if (auto it = pending_.find(sandbox_id); it != pending_.end()) {
          attempts = it->second.attempts;
        }
      }
      auto next = config_.reap_first_retry * (int64_t{1} << std::min(attempts, 16));
      ScheduleReap(sandbox_id, std::min(next, config_.reap_max_retry));
    });
  });
  std::lock_guard lock(mutex_);
  if (auto it = pending_.find(sandbox_id); it != pending_.end() && it->second.timer == 0) {
    it->second.timer = timer;
  }
}

bool SessionService::ReapOne(const std::string& sandbox_id) {
  PendingRelease pending;
  {
    std::lock_guard lock(mutex_);
    auto it = pending_.find(sandbox_id);
    if (it == pending_.end()) return true;
    pending = it->second;
  }
  if (pending.sandbox) {
    if (auto destroyed = ports_.sandboxes.Destroy(sandbox_id); destroyed) {
      ports_.capacity.Release(pending.session_id);
      pending.sandbox = false;
      LogInfo("vault_sandbox_reaped",
              {{"sandbox_id", sandbox_id}, {"attempts", pending.attempts + 1}});
    } else {
      LogWarn("vault_sandbox_reap_failed",
              {{"sandbox_id", sandbox_id}, {"error", destroyed.error().message}});
    }
  }
  if (pending.record) {
    auto done = ports_.sessions.Transition(pending.session_id, SessionState::kTerminating,
                                           SessionState::kTerminated, pending.terminated_at,
                                           pending.reason);
    if (done) {
      pending.record = false;  // recorded, or no longer Terminating: nothing left to write
    } else {
      LogWarn("vault_session_record_retry_failed",
              {{"session_id", pending.session_id}, {"error", done.error().message}});
    }
  }
  std::lock_guard lock(mutex_);
  auto it = pending_.find(sandbox_id);
  if (it == pending_.end()) return true;
  it->second.sandbox = it->second.sandbox && pending.sandbox;
  it->second.record = it->second.record && pending.record;
  it->second.attempts += 1;
  if (!it->second.sandbox && !it->second.record) {
    pending_.erase(it);
    return true;
  }
  return false;
}

size_t SessionService::ReapNow() {
  std::vector<std::string> ids;
  {
    std::lock_guard lock(mutex_);
    for (const auto& [id, pending] : pending_) ids.push_back(id);
  }
  for (const auto& id : ids) (void)ReapOne(id);
  return PendingReleases();
}

size_t SessionService::PendingReleases() const {
  std::lock_guard lock(mutex_);
  return pending_.size();
}

// --- timers ------------------------------------------------------------------------------------

void SessionService::ArmTimers(const Session& session) {
  Timers timers;
  const std::string id = session.id;
  timers.expiry = ports_.scheduler.At(WallAt(session.expires_at), [this, gate = gate_, id] {
    Guarded(gate, [&] {
      auto ended = Terminate(nullptr, id, TerminationReason::kExpired);
      if (!ended && ended.error().code != Code::kSessionAlreadyTerminated) {
        LogWarn("vault_session_expiry_failed",
                {{"session_id", id}, {"error", ended.error().message}});
      }
    });
  });
  const int64_t warn_at = session.expires_at - config_.warning_seconds;
  if (config_.warning_seconds > 0 && warn_at > session.started_at) {
    timers.warning = ports_.scheduler.At(
        WallAt(warn_at), [this, gate = gate_, id] { Guarded(gate, [&] { WarnExpiring(id); }); });
  }
  std::lock_guard lock(mutex_);
  timers_[id] = timers;
}

void SessionService::CancelTimers(const std::string& session_id) {
  Timers timers;
  {
    std::lock_guard lock(mutex_);
    auto it = timers_.find(session_id);
    if (it == timers_.end()) return;
    timers = it->second;
    timers_.erase(it);
  }
  if (timers.expiry != 0) ports_.scheduler.Cancel(timers.expiry);
  if (timers.warning != 0) ports_.scheduler.Cancel(timers.warning);
}

void SessionService::WarnExpiring(const std::string& session_id) {
  auto found = ports_.sessions.FindById(session_id);
  if (!found) {
    (void)Backend("find_session", found.error());
    return;
  }
  if (!found->has_value() || (*found)->state != SessionState::kActive) return;
  const Session& session = **found;
  const int64_t remaining = std::max<int64_t>(0, session.expires_at - Now());
  ports_.notifier.Publish(Notification{"SessionExpiring",
                                       JsonObject()
                                           .Str("type", "SessionExpiring")
                                           .Str("session_id", session.id)
                                           .Time("expires_at", session.expires_at)
                                           .Int("seconds_remaining", remaining)
                                           .Done(),
                                       {session.client_id},
                                       false});
}

void SessionService::OnViewerExited(const std::string& session_id, const std::string& sandbox_id) {
  auto ended = Terminate(nullptr, session_id, TerminationReason::kSandboxExited);
  if (ended) {
    LogWarn("vault_viewer_exited", {{"session_id", session_id}, {"sandbox_id", sandbox_id}});
  }
}

// --- answer, ICE, queries ------------------------------------------------------------------------

AppResult<Session> SessionService::LoadOwnSession(const Actor& actor, std::string_view session_id,
                                                  std::string_view operation) {
  if (auto ok = RequireRoleFor(actor, Role::kClient, session_id); !ok) {
    return tl::unexpected(ok.error());
  }
  if (auto ok = CheckId("session_id", session_id, "ses_"); !ok) return tl::unexpected(ok.error());
  auto found = ports_.sessions.FindById(session_id);
  if (!found) return tl::unexpected(Backend("find_session", found.error()));
  if (!found->has_value()) return AppFail(Code::kSessionNotFound, "no such session");
  if ((*found)->client_id != actor.user.id) {
    RecordDenied(actor, operation, session_id, (*found)->owner_id, "not_own_session");
    return AppFail(Code::kUnauthorized, "the session belongs to another client");
  }
  return std::move(**found);
}

namespace {

AppStatus CheckText(std::string_view field, std::string_view text, size_t max, bool allow_empty) {
  if (!allow_empty && text.empty()) {
    return AppFail(Code::kInvalidInput, std::string(field) + ": must not be empty");
  }
  if (text.size() > max) {
    return AppFail(Code::kInvalidInput,
                   std::string(field) + ": longer than " + std::to_string(max) + " bytes");
  }
  if (!IsValidUtf8(text) || text.find('\0') != std::string_view::npos) {
    return AppFail(Code::kInvalidInput, std::string(field) + ": not valid UTF-8 text");
  }
  return {};
}

}  // namespace

AppStatus SessionService::SubmitAnswer(const Actor& actor, std::string_view session_id,
                                       std::string_view sdp) {
  auto session = LoadOwnSession(actor, session_id, "SubmitAnswer");
  if (!session) return tl::unexpected(session.error());
  if (auto ok = CheckText("sdp", sdp, config_.max_sdp_bytes, false); !ok) return ok;
  if (session->state != SessionState::kActive) {
    return AppFail(Code::kSessionNotActive, "the session is not active");
  }
  if (auto set = ports_.peers.SetAnswer(session->id, sdp); !set) {
    if (set.error().kind == ErrorKind::kInvalid) {
      return AppFail(Code::kInvalidInput, "sdp: not a valid answer to the offer");
    }
    if (set.error().kind == ErrorKind::kNotFound) {
      return AppFail(Code::kSessionNotActive, "the session is not active");
    }
    return tl::unexpected(Backend("set_answer", set.error()));
  }
  return {};
}

AppStatus SessionService::AddIceCandidate(const Actor& actor, std::string_view session_id,
                                          const IceCandidate& candidate) {
  auto session = LoadOwnSession(actor, session_id, "AddIceCandidate");
  if (!session) return tl::unexpected(session.error());
  if (auto ok = CheckText("candidate", candidate.candidate, config_.max_candidate_bytes, true);
      !ok) {
    return ok;
  }
  if (candidate.sdp_mid) {
    if (auto ok = CheckText("sdpMid", *candidate.sdp_mid, 256, true); !ok) return ok;
  }
  if (candidate.sdp_mline_index &&
      (*candidate.sdp_mline_index < 0 || *candidate.sdp_mline_index > 255)) {
    return AppFail(Code::kInvalidInput, "sdpMLineIndex: must be 0…255");
  }
  if (session->state != SessionState::kActive) {
    return AppFail(Code::kSessionNotActive, "the session is not active");
  }
  if (auto added = ports_.peers.AddIceCandidate(session->id, candidate); !added) {
    if (added.error().kind == ErrorKind::kInvalid) {
      return AppFail(Code::kInvalidInput, "candidate: not a valid ICE candidate");
    }
    if (added.error().kind == ErrorKind::kNotFound) {
      return AppFail(Code::kSessionNotActive, "the session is not active");
    }
    return tl::unexpected(Backend("add_ice_candidate", added.error()));
  }
  return {};
}

AppResult<std::vector<SessionView>> SessionService::Views(std::vector<Session> sessions) {
  std::map<std::string, std::string, std::less<>> emails;
  std::map<std::string, std::string, std::less<>> names;
  const int64_t now = Now();
  std::vector<SessionView> out;
  out.reserve(sessions.size());
  for (auto& s : sessions) {
    SessionView view;
    if (auto it = emails.find(s.client_id); it != emails.end()) {
      view.client_email = it->second;
    } else {
      auto user = store_.Users().FindById(s.client_id);
      if (!user) return tl::unexpected(Backend("find_client", user.error()));
      if (user->has_value()) view.client_email = (*user)->email;
      emails.emplace(s.client_id, view.client_email);
    }
    if (auto it = names.find(s.file_id); it != names.end()) {
      view.file_name = it->second;
    } else {
      auto file = store_.Files().FindById(s.file_id);
      if (!file) return tl::unexpected(Backend("find_file", file.error()));
      if (file->has_value()) view.file_name = (*file)->name;
      names.emplace(s.file_id, view.file_name);
    }
    view.duration_seconds = DurationSeconds(s, now);
    view.session = std::move(s);
    out.push_back(std::move(view));
  }
  return out;
}

AppResult<std::vector<SessionView>> SessionService::ClientActiveSessions(const Actor& actor) {
  if (auto ok = RequireRoleFor(actor, Role::kClient, ""); !ok) return tl::unexpected(ok.error());
  auto live = ports_.sessions.ListLive(SessionFilter{.client_id = actor.user.id});
  if (!live) return tl::unexpected(Backend("list_live_sessions", live.error()));
  std::reverse(live->begin(), live->end());
  return Views(std::move(*live));
}

AppResult<std::vector<SessionView>> SessionService::OwnerActiveSessions(const Actor& actor) {
  if (auto ok = RequireRoleFor(actor, Role::kOwner, ""); !ok) return tl::unexpected(ok.error());
  auto live = ports_.sessions.ListLive(SessionFilter{.owner_id = actor.user.id});
  if (!live) return tl::unexpected(Backend("list_live_sessions", live.error()));
  return Views(std::move(*live));
}

AppResult<std::vector<SessionView>> SessionService::AdminActiveSessions(const Actor& actor) {
  if (auto ok = RequireRoleFor(actor, Role::kAdmin, ""); !ok) return tl::unexpected(ok.error());
  auto live = ports_.sessions.ListLive(SessionFilter{});
  if (!live) return tl::unexpected(Backend("list_live_sessions", live.error()));
  return Views(std::move(*live));
}

// --- hooks, recovery, shutdown -------------------------------------------------------------------

void SessionService::EndAll(const SessionFilter& filter, TerminationReason reason) {
  auto live = ports_.sessions.ListLive(filter);
  if (!live) {
    (void)Backend("list_live_sessions", live.error());
    return;
  }
  for (const auto& s : *live) {
    auto ended = Terminate(nullptr, s.id, reason);
    if (!ended && ended.error().code != Code::kSessionAlreadyTerminated) {
      LogError("vault_session_end_failed", {{"session_id", s.id},
                                            {"reason", TerminationReasonName(reason)},
                                            {"error", ended.error().message}});
    }
  }
}

void SessionService::OnPermissionRevoked(const std::string& permission_id) {
  EndAll(SessionFilter{.permission_id = permission_id}, TerminationReason::kPermissionRevoked);
}

void SessionService::OnFileDeleted(const std::string& file_id) {
  EndAll(SessionFilter{.file_id = file_id}, TerminationReason::kFileDeleted);
}

void SessionService::OnUserDisabled(const std::string& user_id) {
  EndAll(SessionFilter{.client_id = user_id}, TerminationReason::kUserDisabled);
}

RecoveryReport SessionService::Recover() {
  RecoveryReport report;
  if (auto swept = ports_.sandboxes.SweepOrphans(); swept) {
    report.swept_sandboxes = std::move(*swept);
  } else {
    LogError("vault_sandbox_sweep_failed", {{"error", swept.error().message}});
  }
  auto live = ports_.sessions.ListLive(SessionFilter{.node_id = config_.node_id});
  if (!live) {
    (void)Backend("list_live_sessions", live.error());
    return report;
  }
  for (auto& s : *live) {
    std::string id = s.id;
    auto ended = EndSession(nullptr, std::move(s), TerminationReason::kServerRecovery, {}, true);
    if (ended) {
      report.ended_sessions.push_back(std::move(id));
    } else {
      LogError("vault_session_recovery_failed",
               {{"session_id", id}, {"error", ended.error().message}});
    }
  }
  LogInfo("vault_sessions_recovered",
          {{"ended", report.ended_sessions.size()}, {"swept", report.swept_sandboxes.size()}});
  return report;
}

std::vector<std::string> SessionService::Shutdown() {
  {
    std::lock_guard lock(mutex_);
    shutting_down_ = true;
  }
  std::vector<std::string> ended;
  auto live = ports_.sessions.ListLive(SessionFilter{.node_id = config_.node_id});
  if (!live) {
    (void)Backend("list_live_sessions", live.error());
  } else {
    for (const auto& s : *live) {
      auto done = Terminate(nullptr, s.id, TerminationReason::kServerShutdown);
      if (done) {
        ended.push_back(s.id);
      } else if (done.error().code != Code::kSessionAlreadyTerminated) {
        LogError("vault_session_end_failed",
                 {{"session_id", s.id}, {"error", done.error().message}});
      }
    }
  }
  if (size_t left = ReapNow(); left != 0) {
    LogError("vault_sandbox_release_pending_at_shutdown", {{"pending", left}});
  }
  return ended;
}

}  // namespace va::vault
