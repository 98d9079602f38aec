// SessionService over in-memory fakes: seed 000's AC1–AC4 to the letter (exact JSON), every check
// of spec §6 and §7 in order, the order of the termination steps, concurrent terminations, the
// timers, the hooks (revoke, file delete, user disable), the viewer dying, failed releases and
// the reaper, failed starts releasing what they made, capacity and the per-client limit,
// recovery and shutdown.
#include "vault/app/sessions/session_service.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "base/clock.h"
#include "base/ids.h"
#include "vault/app/sessions/capacity.h"
#include "vault/app/sessions/testing/session_fakes.h"
#include "vault/app/testing/app_fixture.h"

namespace va::vault {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::SizeIs;
using vault::testing::CallLog;
using vault::testing::FakeEventSink;
using vault::testing::FakeNotifier;
using vault::testing::FakePeerService;
using vault::testing::FakeSessionRepository;
using vault::testing::FakeViewerSandboxes;
using vault::testing::ManualScheduler;

int64_t T(std::string_view rfc3339) { return UnixSeconds(*ParseRfc3339(rfc3339)); }

class SessionTest : public vault::testing::AppTest {
 protected:
  SessionTest() {
    clock_.Set(T("2026-02-14T10:30:00Z"));
    owner_ = MakeUser("owner@example.com", {"owner"});
    other_owner_ = MakeUser("owner2@example.com", {"owner"});
    client_ = MakeUser("client@example.com", {"client"});
    other_client_ = MakeUser("other@example.com", {"client"});
    admin_ = MakeUser("admin@example.com", {"admin"});
    file_ = Upload(ActorOf(owner_), "report.pdf", "%PDF-1.4 one page", "application/pdf");
    permission_ = Grant(file_, "client@example.com", 3600);
    Build();
  }

  void Build(SessionConfig config = Config(), int capacity = 16) {
    service_.reset();
    capacity_ = std::make_unique<CountingCapacity>(capacity);
    service_ = std::make_unique<SessionService>(
        *app_, store_, blobs_,
        SessionPorts{repo_, sandboxes_, peers_, notifier_, events_, scheduler_, *capacity_}, clock_,
        std::move(config));
  }
  static SessionConfig Config() {
    SessionConfig config;
    config.node_id = "node-a";
    return config;
  }

  Permission Grant(const FileRecord& file, const std::string& email, int64_t max_duration,
                   std::optional<int64_t> expires_at = std::nullopt) {
    GrantRequest request = GrantFor(file, email);
    request.max_duration_seconds = max_duration;
    request.expires_at = expires_at;
    auto granted = app_->Grant(ActorOf(owner_), request);
    EXPECT_TRUE(granted) << (granted ? "" : granted.error().message);
    return granted ? granted->permission : Permission{};
  }

  Actor ClientActor(const User& user) const { return ActorOf(user, "192.168.1.50"); }

  StartedSession Start(const User& client, const FileRecord& file) {
    auto started = service_->StartSession(ClientActor(client), file.id);
    EXPECT_TRUE(started) << (started ? "" : started.error().message);
    return started.value_or(StartedSession{});
  }
  StartedSession Start() { return Start(client_, file_); }

  Session Stored(const std::string& id) {
    auto found = repo_.FindById(id);
    EXPECT_TRUE(found && found->has_value());
    return found && found->has_value() ? **found : Session{};
  }

  // Notifications of `type` sent to `user_id`, as JSON text.
  std::vector<std::string> Messages(const User& user, const std::string& type) const {
    std::vector<std::string> out;
    for (const auto& n : notifier_.Sent()) {
      if (n.type != type) continue;
      for (const auto& r : n.recipients) {
        if (r == user.id) out.push_back(n.json);
      }
    }
    return out;
  }

  std::string OwnerTerminated(const std::string& id, const std::string& at, int64_t duration,
                              const std::string& reason) const {
    return R"({"type":"SessionTerminated","session_id":")" + id +
           R"(","client_email":"client@example.com","file_name":"report.pdf","terminated_at":")" +
           at + R"(","duration_seconds":)" + std::to_string(duration) + R"(,"reason":")" + reason +
           R"("})";
  }
  static std::string ClientTerminated(const std::string& id, const std::string& reason,
                                      const std::string& at) {
    return R"({"type":"SessionTerminated","session_id":")" + id + R"(","reason":")" + reason +
           R"(","terminated_at":")" + at + R"("})";
  }

  CallLog log_;
  FakeSessionRepository repo_{&log_};
  FakeViewerSandboxes sandboxes_{&log_};
  FakePeerService peers_{&log_};
  FakeNotifier notifier_{&log_};
  FakeEventSink events_{&log_};
  ManualScheduler scheduler_{clock_, &log_};
  std::unique_ptr<CountingCapacity> capacity_;
  std::unique_ptr<SessionService> service_;
  User owner_, other_owner_, client_, other_client_, admin_;
  FileRecord file_;
  Permission permission_;
};

// --- StartSession (§6) ---------------------------------------------------------------------------

TEST_F(SessionTest, StartSessionAnswersThe201AndTellsTheOwner) {
  auto started = service_->StartSession(ClientActor(client_), file_.id);
  ASSERT_TRUE(started) << started.error().message;
  const Session& s = started->session;
  EXPECT_TRUE(IsValidId(s.id, "ses_"));
  EXPECT_TRUE(IsValidId(s.sandbox_id, "sbx_"));
  EXPECT_EQ(StartedSessionJson(*started),
            R"({"session_id":")" + s.id + R"(","sandbox_id":")" + s.sandbox_id +
                R"(","webrtc_sdp_offer":)" + R"("v=0\r\no=- 0 0 IN IP4 127.0.0.1\r\ns=)" + s.id +
                R"(\r\nt=0 0\r\na=candidate:1 1 UDP 2130706431 127.0.0.1 40000 typ host\r\n)"
                R"(a=end-of-candidates\r\n","expires_at":"2026-02-14T11:30:00Z",)"
                R"("file_name":"report.pdf","permissions":{"read":true,"write":false,)"
                R"("execute":false}})");

  EXPECT_THAT(Messages(owner_, "SessionStarted"),
              ElementsAre(R"({"type":"SessionStarted","session_id":")" + s.id +
                          R"(","client_email":"client@example.com","file_name":"report.pdf",)"
                          R"("started_at":"2026-02-14T10:30:00Z","ip_address":"192.168.1.50"})"));
  auto sent = notifier_.Sent();
  ASSERT_THAT(sent, SizeIs(1));
  EXPECT_TRUE(sent[0].include_admins);
  EXPECT_THAT(Messages(client_, "SessionStarted"), IsEmpty());

  Session stored = Stored(s.id);
  EXPECT_EQ(stored.state, SessionState::kActive);
  EXPECT_EQ(stored.client_id, client_.id);
  EXPECT_EQ(stored.owner_id, owner_.id);
  EXPECT_EQ(stored.permission_id, permission_.id);
  EXPECT_EQ(stored.node_id, "node-a");
  EXPECT_EQ(stored.ip_address, "192.168.1.50");
  EXPECT_EQ(stored.user_agent, "test-agent/1.0");
  EXPECT_EQ(stored.started_at, T("2026-02-14T10:30:00Z"));
  EXPECT_EQ(stored.expires_at, T("2026-02-14T11:30:00Z"));

  auto live = sandboxes_.Live();
  ASSERT_EQ(live.count(s.sandbox_id), 1u);
  EXPECT_EQ(live[s.sandbox_id].file_path, blobs_.PathOf(owner_.id, file_.id));
  EXPECT_EQ(live[s.sandbox_id].session_id, s.id);
  EXPECT_EQ(live[s.sandbox_id].content_type, "application/pdf");
  EXPECT_EQ(capacity_->InUse(), 1);
  EXPECT_EQ(scheduler_.Pending(), 2u);  // expiry and warning

  auto audited = Audited("SessionStarted");
  ASSERT_THAT(audited, SizeIs(1));
  EXPECT_EQ(audited[0].actor_id, client_.id);
  EXPECT_EQ(audited[0].resource_type, "session");
  EXPECT_EQ(audited[0].resource_id, s.id);
  EXPECT_EQ(audited[0].owner_id, owner_.id);
  EXPECT_EQ(audited[0].ip_address, "192.168.1.50");
  EXPECT_THAT(audited[0].metadata_json, HasSubstr(R"("sandbox_id":")" + s.sandbox_id));
  ASSERT_THAT(events_.Events(), SizeIs(1));
  EXPECT_EQ(events_.Events()[0].kind, SessionEvent::Kind::kStarted);

  // §6's order of steps.
  EXPECT_THAT(log_.Entries(),
              ElementsAre("sandbox.Start", "peer.CreateOffer", "repo.Transition Starting->Active",
                          "event Started", "notify SessionStarted " + owner_.id + " +admins"));
}

TEST_F(SessionTest, ExpiryIsTheEarlierOfMaxDurationAndPermissionExpiry) {
  FileRecord second = Upload(ActorOf(owner_), "short.txt", "hi");
  Grant(second, "client@example.com", 3600, T("2026-02-14T10:40:00Z"));
  EXPECT_EQ(Start(client_, second).session.expires_at, T("2026-02-14T10:40:00Z"));
  EXPECT_EQ(Start().session.expires_at, T("2026-02-14T11:30:00Z"));
}

TEST_F(SessionTest, StartSessionChecksTheCallerAndTheFileFirst) {
  auto by_owner = service_->StartSession(ActorOf(owner_), file_.id);
  ASSERT_FALSE(by_owner);
  EXPECT_EQ(by_owner.error().code, Code::kForbidden);
  EXPECT_EQ(LastAudit().result, AuditResult::kDenied);

  auto bad = service_->StartSession(ClientActor(client_), "fil_nope");
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().code, Code::kInvalidInput);
  EXPECT_THAT(bad.error().message, HasSubstr("file_id"));

  auto missing = service_->StartSession(ClientActor(client_), RandomId("fil_"));
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code, Code::kFileNotFound);

  ASSERT_TRUE(app_->DeleteFile(ActorOf(owner_), file_.id));
  auto deleted = service_->StartSession(ClientActor(client_), file_.id);
  ASSERT_FALSE(deleted);
  EXPECT_EQ(deleted.error().code, Code::kFileNotFound);
  EXPECT_EQ(sandboxes_.Starts(), 0);
  EXPECT_THAT(repo_.All(), IsEmpty());
}

TEST_F(SessionTest, NoPermissionIsDeniedAndAuditedAsAnUnauthorizedSessionAttempt) {
  auto denied = service_->StartSession(ClientActor(other_client_), file_.id);
  ASSERT_FALSE(denied);
  EXPECT_EQ(denied.error().code, Code::kPermissionDenied);
  auto audited = Audited("UnauthorizedSessionAttempt");
  ASSERT_THAT(audited, SizeIs(1));
  EXPECT_EQ(audited[0].result, AuditResult::kDenied);
  EXPECT_EQ(audited[0].actor_id, other_client_.id);
  EXPECT_EQ(audited[0].resource_type, "file");
  EXPECT_EQ(audited[0].resource_id, file_.id);
  EXPECT_EQ(audited[0].owner_id, owner_.id);  // the owner sees the attempt
  EXPECT_THAT(audited[0].metadata_json, HasSubstr(R"("reason":"no_permission")"));
  EXPECT_EQ(sandboxes_.Starts(), 0);
}

TEST_F(SessionTest, ExpiredThenRevokedPermissionsAreRefused) {
  FileRecord second = Upload(ActorOf(owner_), "soon.txt", "x");
  Grant(second, "client@example.com", 600, T("2026-02-14T10:31:00Z"));
  clock_.Advance(120);
  auto expired = service_->StartSession(ClientActor(client_), second.id);
  ASSERT_FALSE(expired);
  EXPECT_EQ(expired.error().code, Code::kPermissionExpired);

  ASSERT_TRUE(app_->Revoke(ActorOf(owner_), permission_.id));
  auto revoked = service_->StartSession(ClientActor(client_), file_.id);
  ASSERT_FALSE(revoked);
  EXPECT_EQ(revoked.error().code, Code::kPermissionRevoked);
  auto audited = Audited("UnauthorizedSessionAttempt");
  ASSERT_THAT(audited, SizeIs(2));
  EXPECT_THAT(audited[0].metadata_json, HasSubstr("permission_expired"));
  EXPECT_THAT(audited[1].metadata_json, HasSubstr("permission_revoked"));
  EXPECT_EQ(sandboxes_.Starts(), 0);
}

TEST_F(SessionTest, ASecondSessionOnTheSameFileIsRefusedAndTheFirstStays) {
  StartedSession first = Start();
  auto second = service_->StartSession(ClientActor(client_), file_.id);
  ASSERT_FALSE(second);
  EXPECT_EQ(second.error().code, Code::kSessionAlreadyActive);
  EXPECT_EQ(Stored(first.session.id).state, SessionState::kActive);
  EXPECT_EQ(sandboxes_.Live().size(), 1u);
  EXPECT_EQ(capacity_->InUse(), 1);
}

TEST_F(SessionTest, EightSessionsPerClientThenRateLimitedUntilTheOldestExpires) {
  std::vector<FileRecord> files;
  for (int i = 0; i < 9; ++i) {
    files.push_back(Upload(ActorOf(owner_), "f" + std::to_string(i) + ".txt", "text"));
    Grant(files.back(), "client@example.com", 1800 + i);
  }
  for (int i = 0; i < 8; ++i) Start(client_, files[static_cast<size_t>(i)]);
  auto ninth = service_->StartSession(ClientActor(client_), files[8].id);
  ASSERT_FALSE(ninth);
  EXPECT_EQ(ninth.error().code, Code::kRateLimited);
  EXPECT_EQ(ninth.error().retry_after_seconds, 1800);
  EXPECT_EQ(sandboxes_.Live().size(), 8u);
  // Another client is not limited by this one's sessions.
  Start(other_client_, [&] {
    Grant(files[8], "other@example.com", 600);
    return files[8];
  }());
}

TEST_F(SessionTest, NodeCapacityIsCheckedLast) {
  Build(Config(), 1);
  Start();
  FileRecord second = Upload(ActorOf(owner_), "b.txt", "b");
  Grant(second, "client@example.com", 600);
  auto full = service_->StartSession(ClientActor(client_), second.id);
  ASSERT_FALSE(full);
  EXPECT_EQ(full.error().code, Code::kCapacityExceeded);
  EXPECT_EQ(sandboxes_.Starts(), 1);
  // A permission problem is still reported as such on a full node.
  auto denied = service_->StartSession(ClientActor(other_client_), second.id);
  ASSERT_FALSE(denied);
  EXPECT_EQ(denied.error().code, Code::kPermissionDenied);
}

TEST_F(SessionTest, ARefusedSandboxIsSandboxUnavailableAuditedAndLeavesNothing) {
  sandboxes_.FailStart(Error{ErrorKind::kUnsupported, 0, "landlock: kernel ABI 3 is below 6"});
  auto refused = service_->StartSession(ClientActor(client_), file_.id);
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().code, Code::kSandboxUnavailable);
  EXPECT_THAT(refused.error().message, ::testing::Not(HasSubstr("landlock")));
  auto audited = Audited("SandboxFailed");
  ASSERT_THAT(audited, SizeIs(1));
  EXPECT_EQ(audited[0].result, AuditResult::kFailed);
  EXPECT_THAT(audited[0].metadata_json, HasSubstr("landlock"));
  ASSERT_THAT(repo_.All(), SizeIs(1));
  EXPECT_EQ(repo_.All()[0].state, SessionState::kTerminated);
  EXPECT_EQ(repo_.All()[0].termination_reason, std::nullopt);
  EXPECT_TRUE(sandboxes_.Live().empty());
  EXPECT_TRUE(peers_.Peers().empty());
  EXPECT_EQ(capacity_->InUse(), 0);
  EXPECT_EQ(scheduler_.Pending(), 0u);
  EXPECT_TRUE(notifier_.Sent().empty());
  // The client may try again.
  sandboxes_.FailStart(std::nullopt);
  Start();
}

TEST_F(SessionTest, AFailedOfferReleasesTheSandbox) {
  peers_.FailOffer(true);
  auto failed = service_->StartSession(ClientActor(client_), file_.id);
  ASSERT_FALSE(failed);
  EXPECT_EQ(failed.error().code, Code::kInternal);
  EXPECT_EQ(failed.error().message, "internal error");
  EXPECT_TRUE(sandboxes_.Live().empty());
  EXPECT_EQ(sandboxes_.Destroys(), 1);
  EXPECT_EQ(repo_.All()[0].state, SessionState::kTerminated);
  EXPECT_EQ(capacity_->InUse(), 0);
  EXPECT_TRUE(notifier_.Sent().empty());
}

TEST_F(SessionTest, AFailedActivationReleasesTheSandboxThePeerAndTheTimers) {
  repo_.FailTransitionsTo(SessionState::kActive);
  auto failed = service_->StartSession(ClientActor(client_), file_.id);
  ASSERT_FALSE(failed);
  EXPECT_EQ(failed.error().code, Code::kInternal);
  EXPECT_TRUE(sandboxes_.Live().empty());
  EXPECT_TRUE(peers_.Peers().empty());
  ASSERT_THAT(peers_.Closes(), SizeIs(1));
  EXPECT_EQ(peers_.Closes()[0].reason, std::nullopt);  // no client to tell yet
  EXPECT_EQ(scheduler_.Pending(), 0u);
  EXPECT_EQ(capacity_->InUse(), 0);
  EXPECT_EQ(repo_.All()[0].state, SessionState::kTerminated);
}

TEST_F(SessionTest, ARevokeWhileStartingEndsTheStartWithPermissionRevoked) {
  sandboxes_.SetOnStart([&](const ViewerSpec&) {
    sandboxes_.SetOnStart(nullptr);
    ASSERT_TRUE(app_->Revoke(ActorOf(owner_), permission_.id));
  });
  auto started = service_->StartSession(ClientActor(client_), file_.id);
  ASSERT_FALSE(started);
  EXPECT_EQ(started.error().code, Code::kPermissionRevoked);
  EXPECT_TRUE(sandboxes_.Live().empty());
  EXPECT_TRUE(peers_.Peers().empty());
  EXPECT_EQ(capacity_->InUse(), 0);
  EXPECT_EQ(scheduler_.Pending(), 0u);
  ASSERT_THAT(repo_.All(), SizeIs(1));
  EXPECT_EQ(repo_.All()[0].state, SessionState::kTerminated);
  EXPECT_EQ(repo_.All()[0].termination_reason, TerminationReason::kPermissionRevoked);
  // Nobody was told it started, so nobody is told it ended.
  EXPECT_TRUE(notifier_.Sent().empty());
  auto audited = Audited("SessionTerminated");
  ASSERT_THAT(audited, SizeIs(1));
  EXPECT_THAT(audited[0].metadata_json, HasSubstr(R"("ended_while_starting":true)"));
}

TEST_F(SessionTest, AShutdownWhileStartingWinsTheCompareAndSet) {
  sandboxes_.SetOnStart([&](const ViewerSpec&) {
    sandboxes_.SetOnStart(nullptr);
    EXPECT_THAT(service_->Shutdown(), SizeIs(1));
  });
  auto started = service_->StartSession(ClientActor(client_), file_.id);
  ASSERT_FALSE(started);
  EXPECT_EQ(started.error().code, Code::kCapacityExceeded);
  EXPECT_TRUE(sandboxes_.Live().empty());
  EXPECT_TRUE(peers_.Peers().empty());
  EXPECT_EQ(capacity_->InUse(), 0);
  EXPECT_EQ(repo_.All()[0].state, SessionState::kTerminated);
  EXPECT_EQ(repo_.All()[0].termination_reason, TerminationReason::kServerShutdown);
}

// --- RequestSessionTermination (§7, seed 000) ---------------------------------------------------

TEST_F(SessionTest, AC1AndAC4ClientTerminatesAndEverythingIsReleased) {
  StartedSession started = Start();
  const std::string id = started.session.id;
  ASSERT_EQ(sandboxes_.Live().count(started.session.sandbox_id), 1u);
  clock_.Advance(900);

  auto ended = service_->TerminateByClient(ClientActor(client_), id);
  ASSERT_TRUE(ended) << ended.error().message;
  // HTTP 200 body.
  EXPECT_EQ(TerminatedSessionJson(*ended), R"({"success":true,"session_id":")" + id +
                                               R"(","terminated_at":"2026-02-14T10:45:00Z",)"
                                               R"("duration_seconds":900})");
  // State Terminated, with when and why.
  Session s = Stored(id);
  EXPECT_EQ(s.state, SessionState::kTerminated);
  EXPECT_EQ(s.terminated_at, T("2026-02-14T10:45:00Z"));
  EXPECT_EQ(s.termination_reason, TerminationReason::kClientRequest);
  // Sandbox destroyed (processes, cgroup, Landlock domain, scratch dir: the port's contract).
  EXPECT_TRUE(sandboxes_.Live().empty());
  EXPECT_EQ(capacity_->InUse(), 0);
  // WebRTC closed, the page told why.
  EXPECT_TRUE(peers_.Peers().empty());
  ASSERT_THAT(peers_.Closes(), SizeIs(1));
  EXPECT_EQ(peers_.Closes()[0].session_id, id);
  EXPECT_EQ(peers_.Closes()[0].reason, TerminationReason::kClientRequest);
  // Timers gone.
  EXPECT_EQ(scheduler_.Pending(), 0u);
  // SessionTerminated event.
  auto events = events_.Events();
  ASSERT_THAT(events, SizeIs(2));
  EXPECT_EQ(events[1].kind, SessionEvent::Kind::kTerminated);
  EXPECT_EQ(events[1].duration_seconds, 900);
  EXPECT_EQ(events[1].session.termination_reason, TerminationReason::kClientRequest);
  EXPECT_FALSE(events[1].release_failed);
  // AC3: the owner's message, exactly.
  EXPECT_THAT(Messages(owner_, "SessionTerminated"),
              ElementsAre(OwnerTerminated(id, "2026-02-14T10:45:00Z", 900, "ClientRequest")));
  // The client asked: no SessionTerminated message for it.
  EXPECT_THAT(Messages(client_, "SessionTerminated"), IsEmpty());
  // Audit.
  auto audited = Audited("SessionTerminated");
  ASSERT_THAT(audited, SizeIs(1));
  EXPECT_EQ(audited[0].result, AuditResult::kSuccess);
  EXPECT_EQ(audited[0].actor_id, client_.id);
  EXPECT_EQ(audited[0].resource_type, "session");
  EXPECT_EQ(audited[0].resource_id, id);
  EXPECT_EQ(audited[0].owner_id, owner_.id);
  EXPECT_THAT(audited[0].metadata_json,
              HasSubstr(R"({"reason":"ClientRequest","duration_seconds":900,)"));
}

TEST_F(SessionTest, AC3OwnerMessageIsTheSeedsJsonWithTheSeedsValues) {
  const std::string id = Start().session.id;
  clock_.Set(T("2026-02-14T10:45:00Z"));
  ASSERT_TRUE(service_->TerminateByClient(ClientActor(client_), id));
  auto sent = notifier_.Sent();
  ASSERT_THAT(sent, SizeIs(2));  // SessionStarted, SessionTerminated
  EXPECT_EQ(sent[1].type, "SessionTerminated");
  EXPECT_EQ(sent[1].recipients, std::vector<std::string>{owner_.id});
  EXPECT_TRUE(sent[1].include_admins);
  // The seed's message with "ses_123" replaced by the real id, key order kept.
  EXPECT_EQ(sent[1].json,
            "{\"type\":\"SessionTerminated\",\"session_id\":\"" + id +
                "\",\"client_email\":\"client@example.com\",\"file_name\":\"report.pdf\","
                "\"terminated_at\":\"2026-02-14T10:45:00Z\",\"duration_seconds\":900,"
                "\"reason\":\"ClientRequest\"}");
}

TEST_F(SessionTest, TerminationStepsRunInTheOrderOfSpec7) {
  const std::string id = Start().session.id;
  log_.Clear();
  notifier_.SetProbe([&](const Notification& n) {
    log_.Add("audited=" + std::to_string(Audited("SessionTerminated").size()) + " " + n.type);
  });
  ASSERT_TRUE(service_->TerminateByOwner(ActorOf(owner_), id));
  EXPECT_THAT(log_.Entries(),
              ElementsAre("repo.Transition Active->Terminating",  // state Terminating
                          "peer.Close OwnerRequest",              // data channel, then close
                          "sandbox.Destroy",                      // sandbox destroyed
                          "repo.Transition Terminating->Terminated", "scheduler.Cancel",
                          "scheduler.Cancel",  // expiry and warning timers
                          "event Terminated",  // SessionTerminated published
                          "audited=0 SessionTerminated",
                          "notify SessionTerminated " + owner_.id + " +admins",  // owner
                          "audited=0 SessionTerminated",
                          "notify SessionTerminated " + client_.id  // client (not its request)
                          ));
  EXPECT_THAT(Audited("SessionTerminated"), SizeIs(1));  // audit last
}

TEST_F(SessionTest, AC2AnotherClientIsUnauthorizedAuditedAndChangesNothing) {
  StartedSession started = Start();
  const size_t audit_before = AuditCount();
  auto denied = service_->TerminateByClient(ClientActor(other_client_), started.session.id);
  ASSERT_FALSE(denied);
  EXPECT_EQ(denied.error().code, Code::kUnauthorized);
  ASSERT_EQ(AuditCount(), audit_before + 1);
  AuditEntry entry = LastAudit();
  EXPECT_EQ(entry.result, AuditResult::kDenied);
  EXPECT_EQ(entry.actor_id, other_client_.id);
  EXPECT_EQ(entry.resource_type, "session");
  EXPECT_EQ(entry.resource_id, started.session.id);
  EXPECT_EQ(entry.owner_id, owner_.id);
  EXPECT_EQ(Stored(started.session.id).state, SessionState::kActive);
  EXPECT_EQ(sandboxes_.Live().size(), 1u);
  EXPECT_TRUE(peers_.Closes().empty());
}

TEST_F(SessionTest, TerminationChecksRunInOrder) {
  const std::string id = Start().session.id;
  // Role first (the client route).
  auto forbidden = service_->TerminateByClient(ActorOf(owner_), id);
  ASSERT_FALSE(forbidden);
  EXPECT_EQ(forbidden.error().code, Code::kForbidden);
  // Id shape.
  for (const char* bad : {"", "ses_", "ses_123", "fil_ABCDEFGHIJKLMNOPQRSTUVWXYZ", "ses_../x"}) {
    auto invalid = service_->TerminateByClient(ClientActor(client_), bad);
    ASSERT_FALSE(invalid) << bad;
    EXPECT_EQ(invalid.error().code, Code::kInvalidInput) << bad;
  }
  // Exists.
  auto missing = service_->TerminateByClient(ClientActor(client_), RandomId("ses_"));
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code, Code::kSessionNotFound);
  // Ownership before the state: another client learns nothing about the state.
  ASSERT_TRUE(service_->TerminateByClient(ClientActor(client_), id));
  auto theirs = service_->TerminateByClient(ClientActor(other_client_), id);
  ASSERT_FALSE(theirs);
  EXPECT_EQ(theirs.error().code, Code::kUnauthorized);
  // Already terminated.
  auto again = service_->TerminateByClient(ClientActor(client_), id);
  ASSERT_FALSE(again);
  EXPECT_EQ(again.error().code, Code::kSessionAlreadyTerminated);
  EXPECT_THAT(Audited("SessionTerminated"), SizeIs(1));
  EXPECT_EQ(sandboxes_.Destroys(), 1);
}

TEST_F(SessionTest, EightConcurrentDeletesGiveOneSuccessAndSevenConflicts) {
  for (int round = 0; round < 10; ++round) {
    const std::string id = Start().session.id;
    const size_t owner_before = Messages(owner_, "SessionTerminated").size();
    const size_t audit_before = Audited("SessionTerminated").size();
    std::atomic<int> ready{0};
    std::atomic<int> ok{0};
    std::atomic<int> conflict{0};
    std::atomic<int> other{0};
    std::vector<std::thread> threads;
    threads.reserve(8);
    for (int i = 0; i < 8; ++i) {
      threads.emplace_back([&] {
        ready.fetch_add(1);
        while (ready.load() < 8) {
        }
        auto r = service_->TerminateByClient(ClientActor(client_), id);
        if (r) {
          ok.fetch_add(1);
        } else if (r.error().code == Code::kSessionAlreadyTerminated) {
          conflict.fetch_add(1);
        } else {
          other.fetch_add(1);
        }
      });
    }
    for (auto& t : threads) t.join();
    EXPECT_EQ(ok.load(), 1) << "round " << round;
    EXPECT_EQ(conflict.load(), 7) << "round " << round;
    EXPECT_EQ(other.load(), 0);
    EXPECT_EQ(Messages(owner_, "SessionTerminated").size(), owner_before + 1);
    EXPECT_EQ(Audited("SessionTerminated").size(), audit_before + 1);
    EXPECT_EQ(Stored(id).state, SessionState::kTerminated);
  }
  int terminating = 0;
  for (const auto& e : log_.Entries()) terminating += e == "repo.Transition Active->Terminating";
  EXPECT_EQ(terminating, 10);
  EXPECT_TRUE(sandboxes_.Live().empty());
  EXPECT_EQ(capacity_->InUse(), 0);
}

TEST_F(SessionTest, ClientOwnerAdminExpiryAndRevokeRacingHaveOneWinner) {
  for (int round = 0; round < 10; ++round) {
    StartedSession started = Start();
    const std::string id = started.session.id;
    std::atomic<int> ready{0};
    std::atomic<int> ok{0};
    std::vector<std::thread> threads;
    threads.reserve(5);
    auto go = [&](auto fn) {
      threads.emplace_back([&, fn] {
        ready.fetch_add(1);
        while (ready.load() < 5) {
        }
        if (fn()) ok.fetch_add(1);
      });
    };
    go([&] { return service_->TerminateByClient(ClientActor(client_), id).has_value(); });
    go([&] { return service_->TerminateByOwner(ActorOf(owner_), id).has_value(); });
    go([&] { return service_->TerminateByAdmin(ActorOf(admin_), id, "audit").has_value(); });
    go([&] { return service_->Terminate(nullptr, id, TerminationReason::kExpired).has_value(); });
    go([&] {
      return service_->Terminate(nullptr, id, TerminationReason::kPermissionRevoked).has_value();
    });
    for (auto& t : threads) t.join();
    EXPECT_EQ(ok.load(), 1) << "round " << round;
  }
  EXPECT_EQ(Audited("SessionTerminated").size(), 10u);
  EXPECT_EQ(Messages(owner_, "SessionTerminated").size(), 10u);
}

TEST_F(SessionTest, OwnerTerminatesASessionOnTheirFileAndTheClientIsTold) {
  const std::string id = Start().session.id;
  clock_.Advance(61);
  auto foreign = service_->TerminateByOwner(ActorOf(other_owner_), id);
  ASSERT_FALSE(foreign);
  EXPECT_EQ(foreign.error().code, Code::kUnauthorized);
  EXPECT_EQ(LastAudit().result, AuditResult::kDenied);
  auto by_client = service_->TerminateByOwner(ClientActor(client_), id);
  ASSERT_FALSE(by_client);
  EXPECT_EQ(by_client.error().code, Code::kForbidden);

  auto ended = service_->TerminateByOwner(ActorOf(owner_), id, "meeting over");
  ASSERT_TRUE(ended) << ended.error().message;
  EXPECT_EQ(ended->duration_seconds, 61);
  EXPECT_EQ(Stored(id).termination_reason, TerminationReason::kOwnerRequest);
  EXPECT_EQ(peers_.Closes()[0].reason, TerminationReason::kOwnerRequest);
  EXPECT_THAT(Messages(client_, "SessionTerminated"),
              ElementsAre(ClientTerminated(id, "OwnerRequest", "2026-02-14T10:31:01Z")));
  EXPECT_THAT(Messages(owner_, "SessionTerminated"),
              ElementsAre(OwnerTerminated(id, "2026-02-14T10:31:01Z", 61, "OwnerRequest")));
  auto audited = Audited("SessionTerminated");
  ASSERT_THAT(audited, SizeIs(1));
  EXPECT_EQ(audited[0].actor_id, owner_.id);
  EXPECT_THAT(audited[0].metadata_json, HasSubstr(R"("note":"meeting over")"));
}

TEST_F(SessionTest, AdminTerminatesAnySessionWithAdminAction) {
  const std::string id = Start().session.id;
  auto not_admin = service_->TerminateByAdmin(ActorOf(owner_), id, "x");
  ASSERT_FALSE(not_admin);
  EXPECT_EQ(not_admin.error().code, Code::kForbidden);
  auto bad_note = service_->TerminateByAdmin(ActorOf(admin_), id, std::string("a\x01", 2));
  ASSERT_FALSE(bad_note);
  EXPECT_EQ(bad_note.error().code, Code::kInvalidInput);
  ASSERT_TRUE(service_->TerminateByAdmin(ActorOf(admin_), id, "policy"));
  EXPECT_EQ(Stored(id).termination_reason, TerminationReason::kAdminAction);
  EXPECT_THAT(Messages(client_, "SessionTerminated"),
              ElementsAre(ClientTerminated(id, "AdminAction", "2026-02-14T10:30:00Z")));
  EXPECT_THAT(Messages(owner_, "SessionTerminated"), SizeIs(1));
}

// --- timers
// ------------------------------------------------------------------------------------------

TEST_F(SessionTest, FiveMinuteWarningThenExpiry) {
  const std::string id = Start().session.id;
  ASSERT_EQ(scheduler_.PendingTimes().size(), 2u);
  EXPECT_EQ(UnixSeconds(scheduler_.PendingTimes()[0]), T("2026-02-14T11:25:00Z"));
  EXPECT_EQ(UnixSeconds(scheduler_.PendingTimes()[1]), T("2026-02-14T11:30:00Z"));

  clock_.Set(T("2026-02-14T11:24:59Z"));
  EXPECT_EQ(scheduler_.FireDue(), 0u);
  clock_.Set(T("2026-02-14T11:25:00Z"));
  EXPECT_EQ(scheduler_.FireDue(), 1u);
  EXPECT_THAT(Messages(client_, "SessionExpiring"),
              ElementsAre(R"({"type":"SessionExpiring","session_id":")" + id +
                          R"(","expires_at":"2026-02-14T11:30:00Z","seconds_remaining":300})"));
  EXPECT_THAT(Messages(owner_, "SessionExpiring"), IsEmpty());
  EXPECT_EQ(Stored(id).state, SessionState::kActive);

  clock_.Set(T("2026-02-14T11:30:00Z"));
  EXPECT_EQ(scheduler_.FireDue(), 1u);
  Session s = Stored(id);
  EXPECT_EQ(s.state, SessionState::kTerminated);
  EXPECT_EQ(s.termination_reason, TerminationReason::kExpired);
  EXPECT_TRUE(sandboxes_.Live().empty());
  EXPECT_THAT(Messages(client_, "SessionTerminated"),
              ElementsAre(ClientTerminated(id, "Expired", "2026-02-14T11:30:00Z")));
  EXPECT_THAT(Messages(owner_, "SessionTerminated"),
              ElementsAre(OwnerTerminated(id, "2026-02-14T11:30:00Z", 3600, "Expired")));
  auto audited = Audited("SessionTerminated");
  ASSERT_THAT(audited, SizeIs(1));
  EXPECT_EQ(audited[0].actor_id, "");
  EXPECT_THAT(audited[0].metadata_json, HasSubstr(R"("initiator":"system")"));
  EXPECT_EQ(scheduler_.Pending(), 0u);
}

TEST_F(SessionTest, ShortSessionsGetNoWarningAndEndByThemselves) {
  FileRecord brief = Upload(ActorOf(owner_), "brief.txt", "x");
  Grant(brief, "client@example.com", 3);
  const std::string id = Start(client_, brief).session.id;
  EXPECT_EQ(scheduler_.Pending(), 1u);
  clock_.Advance(3);
  EXPECT_EQ(scheduler_.FireDue(), 1u);
  EXPECT_EQ(Stored(id).termination_reason, TerminationReason::kExpired);
  EXPECT_THAT(Messages(client_, "SessionExpiring"), IsEmpty());
}

TEST_F(SessionTest, ATerminatedSessionsTimersNeverFire) {
  const std::string id = Start().session.id;
  ASSERT_TRUE(service_->TerminateByClient(ClientActor(client_), id));
  clock_.Advance(7200);
  EXPECT_EQ(scheduler_.FireDue(), 0u);
  EXPECT_THAT(Messages(client_, "SessionExpiring"), IsEmpty());
  EXPECT_THAT(Audited("SessionTerminated"), SizeIs(1));
}

// --- hooks and the viewer dying
// --------------------------------------------------------------------

TEST_F(SessionTest, RevokeEndsTheSessionsOfThatPermissionOnly) {
  FileRecord second = Upload(ActorOf(owner_), "second.txt", "2");
  Grant(second, "client@example.com", 600);
  const std::string revoked_id = Start().session.id;
  const std::string kept_id = Start(client_, second).session.id;
  ASSERT_TRUE(app_->Revoke(ActorOf(owner_), permission_.id));
  EXPECT_EQ(Stored(revoked_id).termination_reason, TerminationReason::kPermissionRevoked);
  EXPECT_EQ(Stored(kept_id).state, SessionState::kActive);
  EXPECT_THAT(
      Messages(client_, "SessionTerminated"),
      ElementsAre(ClientTerminated(revoked_id, "PermissionRevoked", "2026-02-14T10:30:00Z")));
  EXPECT_EQ(sandboxes_.Live().size(), 1u);
}

TEST_F(SessionTest, FileDeleteEndsEverySessionOnTheFile) {
  User third = MakeUser("third@example.com", {"client"});
  Grant(file_, "third@example.com", 600);
  const std::string a = Start().session.id;
  const std::string b = Start(third, file_).session.id;
  ASSERT_TRUE(app_->DeleteFile(ActorOf(owner_), file_.id));
  EXPECT_EQ(Stored(a).termination_reason, TerminationReason::kFileDeleted);
  EXPECT_EQ(Stored(b).termination_reason, TerminationReason::kFileDeleted);
  EXPECT_TRUE(sandboxes_.Live().empty());
  EXPECT_THAT(Messages(third, "SessionTerminated"), SizeIs(1));
  EXPECT_THAT(Messages(owner_, "SessionTerminated"), SizeIs(2));
}

TEST_F(SessionTest, DisablingTheClientEndsItsSessionsDisablingTheOwnerDoesNot) {
  User owner_and_client = MakeUser("both@example.com", {"owner", "client"});
  FileRecord theirs = Upload(ActorOf(owner_and_client), "theirs.txt", "t");
  GrantRequest request = GrantFor(theirs, "client@example.com");
  ASSERT_TRUE(app_->Grant(ActorOf(owner_and_client), request));
  const std::string on_theirs = Start(client_, theirs).session.id;
  ASSERT_TRUE(app_->DisableUser(ActorOf(admin_), owner_and_client.id, "left"));
  EXPECT_EQ(Stored(on_theirs).state, SessionState::kActive);

  const std::string mine = Start().session.id;
  ASSERT_TRUE(app_->DisableUser(ActorOf(admin_), client_.id, "left"));
  EXPECT_EQ(Stored(mine).termination_reason, TerminationReason::kUserDisabled);
  EXPECT_EQ(Stored(on_theirs).termination_reason, TerminationReason::kUserDisabled);
  EXPECT_TRUE(sandboxes_.Live().empty());
}

TEST_F(SessionTest, AViewerThatDiesEndsItsSessionWithSandboxExited) {
  StartedSession started = Start();
  clock_.Advance(10);
  ASSERT_TRUE(sandboxes_.SimulateExit(started.session.sandbox_id));
  Session s = Stored(started.session.id);
  EXPECT_EQ(s.state, SessionState::kTerminated);
  EXPECT_EQ(s.termination_reason, TerminationReason::kSandboxExited);
  EXPECT_EQ(sandboxes_.Destroys(), 1);  // the rest (cgroup, scratch) is still cleaned up
  EXPECT_EQ(capacity_->InUse(), 0);
  EXPECT_THAT(
      Messages(client_, "SessionTerminated"),
      ElementsAre(ClientTerminated(started.session.id, "SandboxExited", "2026-02-14T10:30:10Z")));
  EXPECT_THAT(Messages(owner_, "SessionTerminated"), SizeIs(1));
}

// --- failed releases and the reaper
// ------------------------------------------------------------------

TEST_F(SessionTest, AFailedDestroyStillEndsTheSessionAuditsAndIsRetried) {
  StartedSession started = Start();
  const std::string id = started.session.id;
  sandboxes_.FailDestroy(2);
  auto ended = service_->TerminateByClient(ClientActor(client_), id);
  ASSERT_TRUE(ended) << ended.error().message;
  EXPECT_EQ(Stored(id).state, SessionState::kTerminated);
  EXPECT_THAT(Messages(owner_, "SessionTerminated"), SizeIs(1));
  auto failed = Audited("SandboxFailed");
  ASSERT_THAT(failed, SizeIs(1));
  EXPECT_EQ(failed[0].result, AuditResult::kFailed);
  EXPECT_EQ(failed[0].resource_id, started.session.sandbox_id);
  EXPECT_THAT(failed[0].metadata_json, HasSubstr("survived"));
  auto terminated = Audited("SessionTerminated");
  ASSERT_THAT(terminated, SizeIs(1));
  EXPECT_THAT(terminated[0].metadata_json, HasSubstr(R"("release_failed":true)"));
  EXPECT_TRUE(events_.Events().back().release_failed);
  // The sandbox still holds its slot until it is really gone.
  EXPECT_EQ(service_->PendingReleases(), 1u);
  EXPECT_EQ(capacity_->InUse(), 1);
  EXPECT_EQ(sandboxes_.Live().size(), 1u);

  clock_.Advance(5);  // first retry: fails again
  EXPECT_EQ(scheduler_.FireDue(), 1u);
  EXPECT_EQ(service_->PendingReleases(), 1u);
  ASSERT_EQ(scheduler_.PendingTimes().size(), 1u);
  EXPECT_EQ(UnixSeconds(scheduler_.PendingTimes()[0]), UnixSeconds(clock_.Now()) + 10);
  clock_.Advance(10);  // second retry: released
  EXPECT_EQ(scheduler_.FireDue(), 1u);
  EXPECT_EQ(service_->PendingReleases(), 0u);
  EXPECT_TRUE(sandboxes_.Live().empty());
  EXPECT_EQ(capacity_->InUse(), 0);
  EXPECT_EQ(scheduler_.Pending(), 0u);
  EXPECT_THAT(Audited("SessionTerminated"), SizeIs(1));
}

TEST_F(SessionTest, AFailedPeerCloseIsAuditedAndTheSessionStillEnds) {
  const std::string id = Start().session.id;
  peers_.FailClose(true);
  ASSERT_TRUE(service_->TerminateByClient(ClientActor(client_), id));
  EXPECT_EQ(Stored(id).state, SessionState::kTerminated);
  EXPECT_TRUE(sandboxes_.Live().empty());
  EXPECT_THAT(Audited("SessionReleaseFailed"), SizeIs(1));
}

TEST_F(SessionTest, AFailedFinalWriteIsRetriedByTheReaper) {
  const std::string id = Start().session.id;
  repo_.FailTransitionsTo(SessionState::kTerminated);
  auto ended = service_->TerminateByClient(ClientActor(client_), id);
  ASSERT_TRUE(ended);
  EXPECT_EQ(Stored(id).state, SessionState::kTerminating);  // not Active: new starts still wait
  EXPECT_TRUE(sandboxes_.Live().empty());
  EXPECT_THAT(Messages(owner_, "SessionTerminated"), SizeIs(1));
  EXPECT_EQ(service_->PendingReleases(), 1u);
  repo_.FailTransitionsTo(std::nullopt);
  EXPECT_EQ(service_->ReapNow(), 0u);
  Session s = Stored(id);
  EXPECT_EQ(s.state, SessionState::kTerminated);
  EXPECT_EQ(s.terminated_at, ended->terminated_at);
  EXPECT_EQ(s.termination_reason, TerminationReason::kClientRequest);
}

TEST_F(SessionTest, ABackendFailureIsInternalWithAGenericMessage) {
  const std::string id = Start().session.id;
  repo_.SetFailing(true);
  auto failed = service_->TerminateByClient(ClientActor(client_), id);
  ASSERT_FALSE(failed);
  EXPECT_EQ(failed.error().code, Code::kInternal);
  EXPECT_EQ(failed.error().message, "internal error");
  repo_.SetFailing(false);
  EXPECT_EQ(Stored(id).state, SessionState::kActive);
  EXPECT_EQ(sandboxes_.Live().size(), 1u);
}

// --- answer, ICE, queries
// --------------------------------------------------------------------------

TEST_F(SessionTest, AnswerAndIceGoToTheActiveSessionsPeer) {
  const std::string id = Start().session.id;
  ASSERT_TRUE(service_->SubmitAnswer(ClientActor(client_), id, "v=0\r\nanswer"));
  EXPECT_EQ(peers_.Answers()[id], "v=0\r\nanswer");
  IceCandidate candidate{"candidate:2 1 UDP 1 192.0.2.7 5000 typ host", "0", 0};
  ASSERT_TRUE(service_->AddIceCandidate(ClientActor(client_), id, candidate));
  EXPECT_THAT(peers_.Candidates(), SizeIs(1));

  auto rejected = service_->SubmitAnswer(ClientActor(client_), id, "hello");
  ASSERT_FALSE(rejected);
  EXPECT_EQ(rejected.error().code, Code::kInvalidInput);
  auto empty = service_->SubmitAnswer(ClientActor(client_), id, "");
  ASSERT_FALSE(empty);
  EXPECT_EQ(empty.error().code, Code::kInvalidInput);
  auto huge = service_->SubmitAnswer(ClientActor(client_), id, "v=0" + std::string(70000, 'a'));
  ASSERT_FALSE(huge);
  EXPECT_EQ(huge.error().code, Code::kInvalidInput);
  auto bad_ice = service_->AddIceCandidate(ClientActor(client_), id, IceCandidate{"bad", {}, {}});
  ASSERT_FALSE(bad_ice);
  EXPECT_EQ(bad_ice.error().code, Code::kInvalidInput);
  auto bad_index = service_->AddIceCandidate(ClientActor(client_), id, IceCandidate{"c", {}, -1});
  ASSERT_FALSE(bad_index);
  EXPECT_EQ(bad_index.error().code, Code::kInvalidInput);
  auto theirs = service_->SubmitAnswer(ClientActor(other_client_), id, "v=0");
  ASSERT_FALSE(theirs);
  EXPECT_EQ(theirs.error().code, Code::kUnauthorized);
  EXPECT_EQ(LastAudit().result, AuditResult::kDenied);
  auto missing = service_->SubmitAnswer(ClientActor(client_), RandomId("ses_"), "v=0");
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code, Code::kSessionNotFound);

  ASSERT_TRUE(service_->TerminateByClient(ClientActor(client_), id));
  auto late = service_->SubmitAnswer(ClientActor(client_), id, "v=0");
  ASSERT_FALSE(late);
  EXPECT_EQ(late.error().code, Code::kSessionNotActive);
  auto late_ice = service_->AddIceCandidate(ClientActor(client_), id, candidate);
  ASSERT_FALSE(late_ice);
  EXPECT_EQ(late_ice.error().code, Code::kSessionNotActive);
}

TEST_F(SessionTest, ActiveSessionListsForClientOwnerAndAdmin) {
  const Session s = Start().session;
  FileRecord foreign = Upload(ActorOf(other_owner_), "foreign.txt", "f");
  GrantRequest request = GrantFor(foreign, "other@example.com");
  ASSERT_TRUE(app_->Grant(ActorOf(other_owner_), request));
  Start(other_client_, foreign);
  clock_.Advance(125);

  auto mine = service_->ClientActiveSessions(ClientActor(client_));
  ASSERT_TRUE(mine);
  ASSERT_THAT(*mine, SizeIs(1));
  EXPECT_EQ(SessionViewJson((*mine)[0]),
            R"({"session_id":")" + s.id + R"(","state":"Active","client_id":")" + client_.id +
                R"(","client_email":"client@example.com","file_id":")" + file_.id +
                R"(","file_name":"report.pdf","started_at":"2026-02-14T10:30:00Z",)"
                R"("expires_at":"2026-02-14T11:30:00Z","duration_seconds":125,)"
                R"("ip_address":"192.168.1.50"})");
  auto owners = service_->OwnerActiveSessions(ActorOf(owner_));
  ASSERT_TRUE(owners);
  ASSERT_THAT(*owners, SizeIs(1));
  EXPECT_EQ((*owners)[0].session.id, s.id);
  auto all = service_->AdminActiveSessions(ActorOf(admin_));
  ASSERT_TRUE(all);
  EXPECT_THAT(*all, SizeIs(2));
  auto forbidden = service_->AdminActiveSessions(ActorOf(owner_));
  ASSERT_FALSE(forbidden);
  EXPECT_EQ(forbidden.error().code, Code::kForbidden);

  ASSERT_TRUE(service_->TerminateByClient(ClientActor(client_), s.id));
  EXPECT_THAT(*service_->ClientActiveSessions(ClientActor(client_)), IsEmpty());
  EXPECT_THAT(*service_->OwnerActiveSessions(ActorOf(owner_)), IsEmpty());
}

// --- recovery and shutdown
// ---------------------------------------------------------------------------

TEST_F(SessionTest, RecoverEndsWhatAPreviousRunOfThisNodeLeft) {
  auto left = [&](SessionState state, const std::string& node) {
    Session s;
    s.id = RandomId("ses_");
    s.client_id = client_.id;
    s.owner_id = owner_.id;
    s.file_id = file_.id;
    s.permission_id = permission_.id;
    s.sandbox_id = RandomId("sbx_");
    s.node_id = node;
    s.state = state;
    s.started_at = T("2026-02-14T10:00:00Z");
    s.expires_at = T("2026-02-14T11:00:00Z");
    repo_.Put(s);
    return s;
  };
  Session active = left(SessionState::kActive, "node-a");
  Session starting = left(SessionState::kStarting, "node-a");
  Session terminating = left(SessionState::kTerminating, "node-a");
  Session elsewhere = left(SessionState::kActive, "node-b");
  sandboxes_.SetOrphans({"sbx_orphan"});

  RecoveryReport report = service_->Recover();
  EXPECT_THAT(report.swept_sandboxes, ElementsAre("sbx_orphan"));
  EXPECT_THAT(report.ended_sessions, ElementsAre(active.id, starting.id, terminating.id));
  for (const auto& s : {active, starting, terminating}) {
    EXPECT_EQ(Stored(s.id).state, SessionState::kTerminated);
    EXPECT_EQ(Stored(s.id).termination_reason, TerminationReason::kServerRecovery);
  }
  EXPECT_EQ(Stored(elsewhere.id).state, SessionState::kActive);
  EXPECT_EQ(sandboxes_.Destroys(), 3);
  EXPECT_THAT(Audited("SessionTerminated"), SizeIs(3));
  // Owners hear of the sessions they were told had started (not of the one still starting).
  EXPECT_THAT(
      Messages(owner_, "SessionTerminated"),
      ElementsAre(OwnerTerminated(active.id, "2026-02-14T10:30:00Z", 1800, "ServerRecovery"),
                  OwnerTerminated(terminating.id, "2026-02-14T10:30:00Z", 1800, "ServerRecovery")));
  EXPECT_EQ(log_.Entries()[0], "sandbox.SweepOrphans");
}

TEST_F(SessionTest, ShutdownEndsEverySessionAndRefusesNewOnes) {
  FileRecord second = Upload(ActorOf(owner_), "second.txt", "2");
  Grant(second, "client@example.com", 600);
  const std::string a = Start().session.id;
  const std::string b = Start(client_, second).session.id;
  std::vector<std::string> ended = service_->Shutdown();
  EXPECT_THAT(ended, ElementsAre(a, b));
  EXPECT_EQ(Stored(a).termination_reason, TerminationReason::kServerShutdown);
  EXPECT_EQ(Stored(b).termination_reason, TerminationReason::kServerShutdown);
  EXPECT_TRUE(sandboxes_.Live().empty());
  EXPECT_THAT(Messages(owner_, "SessionTerminated"), SizeIs(2));
  EXPECT_THAT(Messages(client_, "SessionTerminated"),
              ElementsAre(ClientTerminated(a, "ServerShutdown", "2026-02-14T10:30:00Z"),
                          ClientTerminated(b, "ServerShutdown", "2026-02-14T10:30:00Z")));
  auto refused = service_->StartSession(ClientActor(client_), file_.id);
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().code, Code::kCapacityExceeded);
}

TEST_F(SessionTest, DestroyingTheServiceUnhooksItAndCancelsItsTimers) {
  StartedSession started = Start();
  ASSERT_EQ(scheduler_.Pending(), 2u);
  service_.reset();
  EXPECT_EQ(scheduler_.Pending(), 0u);
  // Neither a revoke nor a dying viewer reaches a destroyed service.
  ASSERT_TRUE(app_->Revoke(ActorOf(owner_), permission_.id));
  EXPECT_TRUE(sandboxes_.SimulateExit(started.session.sandbox_id));
  EXPECT_EQ(Stored(started.session.id).state, SessionState::kActive);
  EXPECT_THAT(Audited("SessionTerminated"), IsEmpty());
}

}  // namespace
}  // namespace va::vault
