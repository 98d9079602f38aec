// The session entity's pure rules (names on the wire, the state machine, durations, expiry) and
// the node capacity counter.
#include <gtest/gtest.h>

#include <limits>
#include <string>
#include <thread>
#include <vector>

#include "vault/app/sessions/capacity.h"
#include "vault/domain/session.h"

namespace va::vault {
namespace {

TEST(SessionDomain, ReasonNamesAreTheWireNamesOfSpec7AndRoundTrip) {
  const std::vector<std::pair<TerminationReason, std::string>> expected = {
      {TerminationReason::kClientRequest, "ClientRequest"},
      {TerminationReason::kOwnerRequest, "OwnerRequest"},
      {TerminationReason::kAdminAction, "AdminAction"},
      {TerminationReason::kExpired, "Expired"},
      {TerminationReason::kPermissionRevoked, "PermissionRevoked"},
      {TerminationReason::kFileDeleted, "FileDeleted"},
      {TerminationReason::kUserDisabled, "UserDisabled"},
      {TerminationReason::kSandboxExited, "SandboxExited"},
      {TerminationReason::kServerShutdown, "ServerShutdown"},
      {TerminationReason::kServerRecovery, "ServerRecovery"},
  };
  for (const auto& [reason, name] : expected) {
    EXPECT_EQ(TerminationReasonName(reason), name);
    EXPECT_EQ(ParseTerminationReason(name), reason);
  }
  EXPECT_EQ(ParseTerminationReason("clientrequest"), std::nullopt);
  EXPECT_EQ(ParseTerminationReason(""), std::nullopt);
}

TEST(SessionDomain, StateNamesRoundTripAndLiveMeansNotTerminated) {
  for (auto state : {SessionState::kStarting, SessionState::kActive, SessionState::kTerminating,
                     SessionState::kTerminated}) {
    EXPECT_EQ(ParseSessionState(SessionStateName(state)), state);
  }
  EXPECT_EQ(SessionStateName(SessionState::kTerminating), "Terminating");
  EXPECT_EQ(ParseSessionState("active"), std::nullopt);
  EXPECT_TRUE(IsLive(SessionState::kStarting));
  EXPECT_TRUE(IsLive(SessionState::kActive));
  EXPECT_TRUE(IsLive(SessionState::kTerminating));
  EXPECT_FALSE(IsLive(SessionState::kTerminated));
}

TEST(SessionDomain, StatesOnlyMoveForward) {
  using S = SessionState;
  EXPECT_TRUE(CanTransition(S::kStarting, S::kActive));
  EXPECT_TRUE(CanTransition(S::kStarting, S::kTerminating));
  EXPECT_TRUE(CanTransition(S::kStarting, S::kTerminated));
  EXPECT_TRUE(CanTransition(S::kActive, S::kTerminating));
  EXPECT_TRUE(CanTransition(S::kTerminating, S::kTerminated));
  EXPECT_FALSE(CanTransition(S::kActive, S::kTerminated));  // always through Terminating
  EXPECT_FALSE(CanTransition(S::kActive, S::kStarting));
  EXPECT_FALSE(CanTransition(S::kTerminating, S::kActive));
  for (auto to : {S::kStarting, S::kActive, S::kTerminating, S::kTerminated}) {
    EXPECT_FALSE(CanTransition(S::kTerminated, to));
  }
}

TEST(SessionDomain, DurationIsWholeSecondsNeverNegative) {
  EXPECT_EQ(DurationSeconds(1000, 1900), 900);
  EXPECT_EQ(DurationSeconds(1000, 1000), 0);
  EXPECT_EQ(DurationSeconds(1000, 999), 0);  // a clock stepped back
  Session s;
  s.started_at = 100;
  EXPECT_EQ(DurationSeconds(s, 160), 60);
  s.terminated_at = 130;
  EXPECT_EQ(DurationSeconds(s, 160), 30);  // an ended session's duration stops
}

TEST(SessionDomain, ExpiryIsTheEarlierOfDurationAndPermissionExpiry) {
  EXPECT_EQ(SessionExpiry(1000, 600, std::nullopt), 1600);
  EXPECT_EQ(SessionExpiry(1000, 600, 1200), 1200);
  EXPECT_EQ(SessionExpiry(1000, 600, 5000), 1600);
  const int64_t max = std::numeric_limits<int64_t>::max();
  EXPECT_EQ(SessionExpiry(max - 10, 600, std::nullopt), max);  // saturates
}

TEST(NodeCapacity, MemoryGivesWholeSlots) {
  const int64_t mib = int64_t{1} << 20;
  EXPECT_EQ(MaxSessionsForMemory(1024 * mib, 60 * mib, 256 * mib), 12);
  EXPECT_EQ(MaxSessionsForMemory(100 * mib, 60 * mib, 256 * mib), 0);
  EXPECT_EQ(MaxSessionsForMemory(100 * mib, 0, 0), 0);
}

TEST(NodeCapacity, CountsSlotsIdempotentlyAndUnderRaces) {
  CountingCapacity capacity(2);
  EXPECT_TRUE(capacity.TryAcquire("ses_a"));
  EXPECT_TRUE(capacity.TryAcquire("ses_a"));  // the same session takes one slot
  EXPECT_TRUE(capacity.TryAcquire("ses_b"));
  EXPECT_FALSE(capacity.TryAcquire("ses_c"));
  capacity.Release("ses_a");
  capacity.Release("ses_a");
  capacity.Release("ses_unknown");
  EXPECT_EQ(capacity.InUse(), 1);
  EXPECT_TRUE(capacity.TryAcquire("ses_c"));

  CountingCapacity raced(5);
  std::vector<std::thread> threads;
  threads.reserve(8);
  std::atomic<int> won{0};
  for (int i = 0; i < 8; ++i) {
    threads.emplace_back([&, i] {
      if (raced.TryAcquire("ses_" + std::to_string(i))) won.fetch_add(1);
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(won.load(), 5);
  EXPECT_EQ(raced.InUse(), 5);
}

}  // namespace
}  // namespace va::vault
