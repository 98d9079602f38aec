// Tests for base/result.h: ErrorKind names, errno → ErrorKind translation in SysError, Error
// context prefixes, VA_TRY / VA_TRY_STATUS propagation and the VA_CHECK abort.
#include "base/result.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cerrno>
#include <cstring>
#include <memory>
#include <string>

namespace va {
namespace {

using ::testing::HasSubstr;

TEST(ErrorKindNameTest, EveryKindHasADistinctStableName) {
  EXPECT_EQ(ErrorKindName(ErrorKind::kSystem), "system");
  EXPECT_EQ(ErrorKindName(ErrorKind::kNotFound), "not_found");
  EXPECT_EQ(ErrorKindName(ErrorKind::kUntrusted), "untrusted");
  EXPECT_EQ(ErrorKindName(ErrorKind::kCorrupt), "corrupt");
  EXPECT_EQ(ErrorKindName(ErrorKind::kInvalid), "invalid");
  EXPECT_EQ(ErrorKindName(ErrorKind::kTimeout), "timeout");
  EXPECT_EQ(ErrorKindName(ErrorKind::kPermission), "permission");
  EXPECT_EQ(ErrorKindName(ErrorKind::kUnsupported), "unsupported");
}

TEST(SysErrorTest, MapsErrnoToKind) {
  struct Case {
    int err;
    ErrorKind kind;
  };
  const Case cases[] = {
      {EPERM, ErrorKind::kPermission},   {EACCES, ErrorKind::kPermission},
      {ENOENT, ErrorKind::kNotFound},    {ESRCH, ErrorKind::kNotFound},
      {ENOSYS, ErrorKind::kUnsupported}, {EOPNOTSUPP, ErrorKind::kUnsupported},
      {EIO, ErrorKind::kSystem},         {EBADF, ErrorKind::kSystem},
      {EEXIST, ErrorKind::kSystem},      {EINVAL, ErrorKind::kSystem},
  };
  for (const Case& c : cases) {
    Error e = SysError("op", c.err);
    EXPECT_EQ(e.kind, c.kind) << "errno " << c.err << " (" << std::strerror(c.err) << ")";
    EXPECT_EQ(e.sys_errno, c.err);
  }
}

TEST(SysErrorTest, MessageNamesWhatWasBeingDoneAndWhy) {
  Error e = SysError("open /run/x", EACCES);
  EXPECT_EQ(e.message, std::string("open /run/x: ") + std::strerror(EACCES));
}

TEST(SysFailTest, CapturesCurrentErrnoByDefault) {
  errno = ENOENT;
  Result<int> r = SysFail("stat /nope");
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().kind, ErrorKind::kNotFound);
  EXPECT_EQ(r.error().sys_errno, ENOENT);
  EXPECT_THAT(r.error().message, HasSubstr("stat /nope: "));
}

TEST(FailTest, BuildsErrorWithKindMessageAndErrno) {
  Result<std::string> r = Fail(ErrorKind::kCorrupt, "bad header", 0);
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().kind, ErrorKind::kCorrupt);
  EXPECT_EQ(r.error().sys_errno, 0);
  EXPECT_EQ(r.error().message, "bad header");
}

TEST(ErrorContextTest, PrefixesMessageAndKeepsKindAndErrno) {
  Error e = SysError("open state.json", ENOENT);
  const std::string original = e.message;
  Error wrapped = std::move(e).Context("load state");
  EXPECT_EQ(wrapped.message, "load state: " + original);
  EXPECT_EQ(wrapped.kind, ErrorKind::kNotFound);
  EXPECT_EQ(wrapped.sys_errno, ENOENT);

  Error twice = std::move(wrapped).Context("start");
  EXPECT_EQ(twice.message, "start: load state: " + original);
}

// Helpers for the VA_TRY tests: `steps` counts how far a function got.
Result<int> Produce(bool ok) {
  if (!ok) return Fail(ErrorKind::kTimeout, "produce timed out", ETIMEDOUT);
  return 21;
}

Result<int> DoubleOf(bool ok, int& steps) {
  VA_TRY(int v, Produce(ok));
  ++steps;
  VA_TRY(auto w, Produce(true));  // a second VA_TRY in the same scope must compile
  ++steps;
  return v + w;
}

Status CheckPositive(int v) {
  if (v <= 0) return Fail(ErrorKind::kInvalid, "not positive");
  return {};
}

Result<std::string> Describe(int v, int& steps) {
  VA_TRY_STATUS(CheckPositive(v));
  ++steps;
  return std::to_string(v);
}

TEST(VaTryTest, SuccessBindsValueAndContinues) {
  int steps = 0;
  Result<int> r = DoubleOf(true, steps);
  ASSERT_TRUE(r.has_value()) << r.error().message;
  EXPECT_EQ(*r, 42);
  EXPECT_EQ(steps, 2);
}

TEST(VaTryTest, FailurePropagatesTheSameErrorAndStops) {
  int steps = 0;
  Result<int> r = DoubleOf(false, steps);
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().kind, ErrorKind::kTimeout);
  EXPECT_EQ(r.error().sys_errno, ETIMEDOUT);
  EXPECT_EQ(r.error().message, "produce timed out");
  EXPECT_EQ(steps, 0);
}

TEST(VaTryTest, MoveOnlyValuesAreMovedOut) {
  auto make = []() -> Result<std::unique_ptr<int>> { return std::make_unique<int>(7); };
  auto use = [&]() -> Result<int> {
    VA_TRY(std::unique_ptr<int> p, make());
    return *p;
  };
  Result<int> r = use();
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(*r, 7);
}

TEST(VaTryStatusTest, PropagatesFailureAndPassesSuccess) {
  int steps = 0;
  Result<std::string> ok = Describe(5, steps);
  ASSERT_TRUE(ok.has_value());
  EXPECT_EQ(*ok, "5");
  EXPECT_EQ(steps, 1);

  Result<std::string> bad = Describe(-1, steps);
  ASSERT_FALSE(bad.has_value());
  EXPECT_EQ(bad.error().kind, ErrorKind::kInvalid);
  EXPECT_EQ(bad.error().message, "not positive");
  EXPECT_EQ(steps, 1);
}

TEST(VaCheckDeathTest, AbortsWithExpressionAndMessage) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  const int answer = 41;
  EXPECT_DEATH(
      VA_CHECK(answer == 42, "the answer is wrong"),
      "invariant failed at .*result_test.cc:[0-9]+: answer == 42 \\(the answer is wrong\\)");
}

TEST(VaCheckTest, PassingCheckDoesNothing) {
  int evaluated = 0;
  VA_CHECK(++evaluated == 1, "evaluated once");
  EXPECT_EQ(evaluated, 1);
}

}  // namespace
}  // namespace va
