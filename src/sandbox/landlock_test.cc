// Landlock constants match the kernel's ABI and the probe answers.
#include "sandbox/landlock.h"

#include <gtest/gtest.h>

namespace va::sandbox {
namespace {

TEST(Landlock, ConstantsMatchTheKernelAbi) {
  EXPECT_EQ(kFsExecute, 1u);
  EXPECT_EQ(kFsMakeSym, 1u << 12);
  EXPECT_EQ(kFsRefer, 1u << 13);
  EXPECT_EQ(kFsTruncate, 1u << 14);
  EXPECT_EQ(kFsIoctlDev, 1u << 15);
  EXPECT_EQ(kNetBindTcp, 1u);
  EXPECT_EQ(kNetConnectTcp, 2u);
  EXPECT_EQ(kScopeAbstractUnixSocket, 1u);
  EXPECT_EQ(kScopeSignal, 2u);
  EXPECT_EQ(FsRightsForAbi(0), 0u);
  EXPECT_EQ(FsRightsForAbi(1), (1u << 13) - 1);
  EXPECT_EQ(FsRightsForAbi(2), (1u << 14) - 1);
  EXPECT_EQ(FsRightsForAbi(3), (1u << 15) - 1);
  EXPECT_EQ(FsRightsForAbi(4), (1u << 15) - 1);
  EXPECT_EQ(FsRightsForAbi(5), (1u << 16) - 1);
  EXPECT_EQ(FsRightsForAbi(7), (1u << 16) - 1);
}

TEST(Landlock, RulesetForTheKernelAbi) {
  auto abi = ProbeLandlockAbi();
  ASSERT_TRUE(abi.has_value()) << abi.error().message;
  if (*abi < 1) GTEST_SKIP() << "Landlock is not enabled in this kernel";
  auto rs = LandlockRuleset::Create(std::min(*abi, kNewestKnownAbi));
  ASSERT_TRUE(rs.has_value()) << rs.error().message;
  EXPECT_EQ(rs->HandledFs(), FsRightsForAbi(std::min(*abi, kNewestKnownAbi)));
  EXPECT_EQ(rs->HandledNet() != 0, *abi >= 4);
  EXPECT_EQ(rs->Scoped() != 0, *abi >= 6);
  EXPECT_TRUE(rs->AllowPath("/usr", kReadRights).has_value());
  // A directory-only right on a file is dropped rather than refused.
  EXPECT_TRUE(rs->AllowPath("/usr/bin/true", kReadRights | kFsExecute).has_value());
  auto missing = rs->AllowPath("/no/such/file", kReadRights);
  ASSERT_FALSE(missing.has_value());
  EXPECT_EQ(missing.error().message.rfind("landlock: ", 0), 0u) << missing.error().message;
}

TEST(Landlock, RefusesWithoutAbi) {
  auto rs = LandlockRuleset::Create(0);
  ASSERT_FALSE(rs.has_value());
  EXPECT_EQ(rs.error().kind, ErrorKind::kUnsupported);
  EXPECT_EQ(rs.error().message.rfind("landlock: ", 0), 0u);
}

}  // namespace
}  // namespace va::sandbox
