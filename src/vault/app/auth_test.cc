// VaultApp authentication over the fakes: login (same answer for unknown email and wrong
// password, the dummy verify, disabled users, per-account and per-IP throttling with Retry-After),
// refresh rotation and reuse detection revoking the family, logout, and Authenticate (tampered,
// expired, disabled and deleted users, roles from the database).
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <string>
#include <thread>
#include <vector>

#include "vault/app/testing/app_fixture.h"

namespace va::vault {
namespace {

using testing::AppTest;
using ::testing::HasSubstr;
using testing::kPassword;
using ::testing::Not;

class AuthTest : public AppTest {
 protected:
  RequestMeta Meta(const std::string& ip = "192.0.2.10") { return RequestMeta{ip, "ua/1"}; }
};

TEST_F(AuthTest, LoginIssuesTokensAndAudits) {
  User user = MakeUser("Alice@Example.com", {"owner", "client"});
  EXPECT_EQ(user.email, "alice@example.com");
  auto login = app_->Login("ALICE@example.COM", kPassword, Meta());
  ASSERT_TRUE(login.has_value()) << login.error().message;
  EXPECT_FALSE(login->access_token.empty());
  EXPECT_EQ(login->expires_in, 900);
  EXPECT_EQ(login->refresh_token.size(), 64u);
  EXPECT_EQ(login->user.id, user.id);
  EXPECT_EQ(login->user.roles, user.roles);

  // The refresh token is stored only as its digest.
  auto tokens = store_.RefreshTokens();
  ASSERT_EQ(tokens.size(), 1u);
  EXPECT_EQ(tokens[0].token_hash, digest_.Sha256Hex(login->refresh_token));
  EXPECT_EQ(tokens[0].user_id, user.id);
  EXPECT_EQ(tokens[0].expires_at, clock_.Seconds() + int64_t{30} * 24 * 3600);

  auto entry = LastAudit();
  EXPECT_EQ(entry.action, "LoginSucceeded");
  EXPECT_EQ(entry.result, AuditResult::kSuccess);
  EXPECT_EQ(entry.actor_id, user.id);
  EXPECT_EQ(entry.actor_email, "alice@example.com");
  EXPECT_EQ(entry.ip_address, "192.0.2.10");
  EXPECT_EQ(entry.user_agent, "ua/1");

  auto actor = app_->Authenticate(login->access_token, Meta());
  ASSERT_TRUE(actor.has_value()) << actor.error().message;
  EXPECT_EQ(actor->user.id, user.id);
}

TEST_F(AuthTest, UnknownEmailAndWrongPasswordLookTheSame) {
  User user = MakeUser("bob@example.com", {"client"});
  auto wrong = app_->Login("bob@example.com", "not the password", Meta());
  int verifies_before = hasher_.VerifyCalls();
  auto unknown = app_->Login("nobody@example.com", "not the password", Meta("192.0.2.11"));
  ASSERT_FALSE(wrong.has_value());
  ASSERT_FALSE(unknown.has_value());
  EXPECT_EQ(wrong.error().code, Code::kUnauthenticated);
  EXPECT_EQ(unknown.error().code, Code::kUnauthenticated);
  EXPECT_EQ(wrong.error().message, unknown.error().message);
  // The unknown email still cost a password verification.
  EXPECT_EQ(hasher_.VerifyCalls(), verifies_before + 1);

  auto failed = Audited("LoginFailed");
  ASSERT_EQ(failed.size(), 2u);
  EXPECT_EQ(failed[0].actor_id, user.id);
  EXPECT_EQ(failed[0].result, AuditResult::kFailed);
  EXPECT_THAT(failed[0].metadata_json, HasSubstr("bad_credentials"));
  EXPECT_EQ(failed[1].actor_id, "");
  EXPECT_EQ(failed[1].actor_email, "nobody@example.com");
}

TEST_F(AuthTest, EmptyAndOversizeInputs) {
  MakeUser("carol@example.com", {"client"});
  auto empty = app_->Login("", "", Meta());
  ASSERT_FALSE(empty.has_value());
  EXPECT_EQ(empty.error().code, Code::kUnauthenticated);
  auto long_email = app_->Login(std::string(250, 'a') + "@x.io", kPassword, Meta());
  ASSERT_FALSE(long_email.has_value());
  EXPECT_EQ(long_email.error().code, Code::kInvalidInput);
  auto long_password = app_->Login("carol@example.com", std::string(1025, 'p'), Meta());
  ASSERT_FALSE(long_password.has_value());
  EXPECT_EQ(long_password.error().code, Code::kInvalidInput);
}

TEST_F(AuthTest, DisabledUserCannotLogIn) {
  User admin = MakeUser("admin@example.com", {"admin"});
  User user = MakeUser("dave@example.com", {"client"});
  ASSERT_TRUE(app_->DisableUser(ActorOf(admin), user.id, "left"));
  auto login = app_->Login("dave@example.com", kPassword, Meta());
  ASSERT_FALSE(login.has_value());
  EXPECT_EQ(login.error().code, Code::kUnauthenticated);
  EXPECT_THAT(LastAudit().metadata_json, HasSubstr("\"disabled\""));
  ASSERT_TRUE(app_->EnableUser(ActorOf(admin), user.id));
  EXPECT_TRUE(app_->Login("dave@example.com", kPassword, Meta()));
}

TEST_F(AuthTest, AccountRateLimitWithRetryAfter) {
  MakeUser("erin@example.com", {"owner"});
  for (int i = 0; i < 5; ++i) {
    auto r =
        app_->Login("erin@example.com", "wrong password", Meta("192.0.2." + std::to_string(i)));
    ASSERT_FALSE(r.has_value());
    EXPECT_EQ(r.error().code, Code::kUnauthenticated) << i;
    clock_.Advance(10);
  }
  // Even the right password is refused now, from any IP.
  auto limited = app_->Login("erin@example.com", kPassword, Meta("198.51.100.1"));
  ASSERT_FALSE(limited.has_value());
  EXPECT_EQ(limited.error().code, Code::kRateLimited);
  EXPECT_EQ(limited.error().retry_after_seconds, 300 - 50);
  EXPECT_THAT(LastAudit().metadata_json, HasSubstr("rate_limited"));
  EXPECT_EQ(LastAudit().action, "LoginFailed");

  // A different account is not affected.
  MakeUser("frank@example.com", {"owner"});
  EXPECT_TRUE(app_->Login("frank@example.com", kPassword, Meta("198.51.100.1")));

  // Once the first failure leaves the window, one more attempt is allowed.
  clock_.Advance(250);
  auto after = app_->Login("erin@example.com", kPassword, Meta("198.51.100.1"));
  ASSERT_TRUE(after.has_value()) << after.error().message;
}

TEST_F(AuthTest, SuccessfulLoginResetsTheAccountCounter) {
  MakeUser("gina@example.com", {"owner"});
  for (int i = 0; i < 4; ++i) (void)app_->Login("gina@example.com", "wrong password", Meta());
  ASSERT_TRUE(app_->Login("gina@example.com", kPassword, Meta()));
  for (int i = 0; i < 4; ++i) (void)app_->Login("gina@example.com", "wrong password", Meta("h"));
  EXPECT_TRUE(app_->Login("gina@example.com", kPassword, Meta("h")));
}

TEST_F(AuthTest, IpRateLimit) {
  AppConfig config;
  config.login_attempts_per_ip = 3;
  config.login_attempts_per_account = 100;
  Rebuild(config);
  MakeUser("hank@example.com", {"client"});
  for (int i = 0; i < 3; ++i) {
    (void)app_->Login("user" + std::to_string(i) + "@example.com", "wrong password",
                      Meta("203.0.113.9"));
  }
  auto limited = app_->Login("hank@example.com", kPassword, Meta("203.0.113.9"));
  ASSERT_FALSE(limited.has_value());
  EXPECT_EQ(limited.error().code, Code::kRateLimited);
  EXPECT_EQ(limited.error().retry_after_seconds, 300);
  EXPECT_TRUE(app_->Login("hank@example.com", kPassword, Meta("203.0.113.10")));
  clock_.Advance(300);
  EXPECT_TRUE(app_->Login("hank@example.com", kPassword, Meta("203.0.113.9")));
}

TEST_F(AuthTest, RefreshRotatesAndReuseRevokesTheFamily) {
  User user = MakeUser("ivy@example.com", {"client"});
  auto login = app_->Login("ivy@example.com", kPassword, Meta());
  ASSERT_TRUE(login.has_value());
  auto other_login = app_->Login("ivy@example.com", kPassword, Meta());  // another family
  ASSERT_TRUE(other_login.has_value());

  clock_.Advance(60);
  auto first = app_->Refresh(login->refresh_token, Meta());
  ASSERT_TRUE(first.has_value()) << first.error().message;
  EXPECT_NE(first->refresh_token, login->refresh_token);
  EXPECT_NE(first->access_token, login->access_token);
  EXPECT_EQ(first->user.id, user.id);
  auto second = app_->Refresh(first->refresh_token, Meta());
  ASSERT_TRUE(second.has_value()) << second.error().message;

  // The first token again: a replay. It fails and takes its whole family down.
  auto replay = app_->Refresh(login->refresh_token, Meta());
  ASSERT_FALSE(replay.has_value());
  EXPECT_EQ(replay.error().code, Code::kUnauthenticated);
  auto reused = Audited("RefreshTokenReused");
  ASSERT_EQ(reused.size(), 1u);
  EXPECT_EQ(reused[0].result, AuditResult::kDenied);
  EXPECT_EQ(reused[0].actor_id, user.id);

  auto latest = app_->Refresh(second->refresh_token, Meta());
  ASSERT_FALSE(latest.has_value());
  EXPECT_EQ(latest.error().code, Code::kUnauthenticated);
  // The other login's family is untouched.
  EXPECT_TRUE(app_->Refresh(other_login->refresh_token, Meta()));
}

TEST_F(AuthTest, ConcurrentRefreshesOfOneTokenHaveOneWinner) {
  MakeUser("race@example.com", {"client"});
  auto login = app_->Login("race@example.com", kPassword, Meta());
  ASSERT_TRUE(login.has_value());
  std::atomic<int> winners{0};
  std::vector<std::thread> threads;
  threads.reserve(8);
  for (int i = 0; i < 8; ++i) {
    threads.emplace_back([&] {
      if (app_->Refresh(login->refresh_token, Meta())) ++winners;
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_LE(winners.load(), 1);
  // Every loser was a replay, so the family is gone, the winner's new token included.
  for (const auto& t : store_.RefreshTokens()) EXPECT_TRUE(t.family_revoked);
  EXPECT_FALSE(Audited("RefreshTokenReused").empty());
}

TEST_F(AuthTest, RefreshRefusesUnknownExpiredAndDisabled) {
  User admin = MakeUser("admin@example.com", {"admin"});
  User user = MakeUser("jack@example.com", {"client"});
  for (const std::string& bad : {std::string(), std::string("nonsense"), std::string(5000, 'x')}) {
    auto r = app_->Refresh(bad, Meta());
    ASSERT_FALSE(r.has_value());
    EXPECT_EQ(r.error().code, Code::kUnauthenticated);
  }
  auto login = app_->Login("jack@example.com", kPassword, Meta());
  ASSERT_TRUE(login.has_value());
  clock_.Advance(int64_t{30} * 24 * 3600);
  auto expired = app_->Refresh(login->refresh_token, Meta());
  ASSERT_FALSE(expired.has_value());
  EXPECT_EQ(expired.error().code, Code::kUnauthenticated);

  auto again = app_->Login("jack@example.com", kPassword, Meta());
  ASSERT_TRUE(again.has_value());
  ASSERT_TRUE(app_->DisableUser(ActorOf(admin), user.id, ""));
  ASSERT_TRUE(app_->EnableUser(ActorOf(admin), user.id));
  // Disabling revoked every refresh token of the user, for good.
  auto revoked = app_->Refresh(again->refresh_token, Meta());
  ASSERT_FALSE(revoked.has_value());
  EXPECT_EQ(revoked.error().code, Code::kUnauthenticated);
}

TEST_F(AuthTest, LogoutRevokesTheFamily) {
  MakeUser("kate@example.com", {"client"});
  auto login = app_->Login("kate@example.com", kPassword, Meta());
  ASSERT_TRUE(login.has_value());
  auto next = app_->Refresh(login->refresh_token, Meta());
  ASSERT_TRUE(next.has_value());
  ASSERT_TRUE(app_->Logout(next->refresh_token, Meta()));
  EXPECT_EQ(LastAudit().action, "LoggedOut");
  EXPECT_FALSE(app_->Refresh(next->refresh_token, Meta()));
  auto unknown = app_->Logout("not-a-token", Meta());
  ASSERT_FALSE(unknown.has_value());
  EXPECT_EQ(unknown.error().code, Code::kUnauthenticated);
  auto empty = app_->Logout("", Meta());
  ASSERT_FALSE(empty.has_value());
  EXPECT_EQ(empty.error().code, Code::kUnauthenticated);
}

TEST_F(AuthTest, AuthenticateRefusesBadTokensWithDeniedAudit) {
  User user = MakeUser("liam@example.com", {"owner"});
  auto login = app_->Login("liam@example.com", kPassword, Meta());
  ASSERT_TRUE(login.has_value());

  auto missing = app_->Authenticate("", Meta());
  ASSERT_FALSE(missing.has_value());
  EXPECT_EQ(missing.error().code, Code::kUnauthenticated);

  std::string tampered = login->access_token;
  tampered[tampered.size() - 1] = tampered.back() == '0' ? '1' : '0';
  size_t before = AuditCount();
  auto bad = app_->Authenticate(tampered, Meta());
  ASSERT_FALSE(bad.has_value());
  EXPECT_EQ(bad.error().code, Code::kUnauthenticated);
  ASSERT_EQ(AuditCount(), before + 1);
  EXPECT_EQ(LastAudit().action, "AccessDenied");
  EXPECT_EQ(LastAudit().result, AuditResult::kDenied);
  EXPECT_THAT(LastAudit().metadata_json, HasSubstr("invalid_token"));

  clock_.Advance(900);
  auto expired = app_->Authenticate(login->access_token, Meta());
  ASSERT_FALSE(expired.has_value());
  EXPECT_EQ(expired.error().code, Code::kUnauthenticated);
  EXPECT_THAT(LastAudit().metadata_json, HasSubstr("expired_token"));

  // A well-signed token for a user that does not exist.
  AccessClaims ghost{"usr_0000000000000000000000000z", 7, clock_.Seconds(), clock_.Seconds() + 60,
                     "jti_x"};
  auto unknown = app_->Authenticate(signer_.Sign(ghost), Meta());
  ASSERT_FALSE(unknown.has_value());
  EXPECT_EQ(unknown.error().code, Code::kUnauthenticated);
  (void)user;
}

TEST_F(AuthTest, DisabledUsersTokenStopsAtOnce) {
  User admin = MakeUser("admin@example.com", {"admin"});
  User user = MakeUser("mia@example.com", {"owner"});
  auto login = app_->Login("mia@example.com", kPassword, Meta());
  ASSERT_TRUE(login.has_value());
  ASSERT_TRUE(app_->Authenticate(login->access_token, Meta()));
  ASSERT_TRUE(app_->DisableUser(ActorOf(admin), user.id, "suspended"));
  auto after = app_->Authenticate(login->access_token, Meta());
  ASSERT_FALSE(after.has_value());
  EXPECT_EQ(after.error().code, Code::kUnauthenticated);
  EXPECT_EQ(LastAudit().actor_id, user.id);
  EXPECT_THAT(LastAudit().metadata_json, HasSubstr("user_disabled"));
}

TEST_F(AuthTest, RolesComeFromTheDatabase) {
  User user = MakeUser("noah@example.com", {"client"});
  // A token claiming more roles than the user has (as if roles changed since it was issued).
  AccessClaims claims{user.id, AddRole(AddRole(0, Role::kAdmin), Role::kClient), clock_.Seconds(),
                      clock_.Seconds() + 60, "jti_y"};
  auto actor = app_->Authenticate(signer_.Sign(claims), Meta());
  ASSERT_TRUE(actor.has_value());
  EXPECT_EQ(actor->user.roles, AddRole(0, Role::kClient));
  EXPECT_EQ(actor->meta.ip_address, "192.0.2.10");
}

TEST_F(AuthTest, BackendFailureIsInternalWithoutDetails) {
  MakeUser("olga@example.com", {"client"});
  store_.SetFailing(true);
  auto login = app_->Login("olga@example.com", kPassword, Meta());
  ASSERT_FALSE(login.has_value());
  EXPECT_EQ(login.error().code, Code::kInternal);
  EXPECT_EQ(login.error().message, "internal error");
  auto refresh = app_->Refresh("whatever", Meta());
  ASSERT_FALSE(refresh.has_value());
  EXPECT_EQ(refresh.error().code, Code::kInternal);
  EXPECT_THAT(refresh.error().message, Not(HasSubstr("fake")));
}

}  // namespace
}  // namespace va::vault
