// Owner records round-trip and are read defensively; scratch directories clean up.
#include "sandbox/scratch.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include "support/test_env.h"

namespace va::sandbox {
namespace {

TEST(OwnerRecord, RoundTrips) {
  OwnerRecord r;
  r.id = "sbx_abc";
  r.supervisor_pid = 42;
  r.supervisor_start = 12345;
  r.boot_id = "b";
  r.init_pid = 43;
  r.init_start = 12346;
  r.cgroups = {"/sys/fs/cgroup/a/sbx_abc", "/sys/fs/cgroup/b/sbx_abc"};
  auto back = ParseOwnerRecord(FormatOwnerRecord(r) + "future_key=1\n");
  ASSERT_TRUE(back.has_value()) << back.error().message;
  EXPECT_EQ(back->id, r.id);
  EXPECT_EQ(back->supervisor_pid, 42);
  EXPECT_EQ(back->supervisor_start, 12345u);
  EXPECT_EQ(back->init_pid, 43);
  EXPECT_EQ(back->cgroups, r.cgroups);
}

TEST(OwnerRecord, CorruptionIsReported) {
  EXPECT_EQ(ParseOwnerRecord("").error().kind, ErrorKind::kCorrupt);
  EXPECT_EQ(ParseOwnerRecord("va-sandbox-owner 9\nid=x\n").error().kind, ErrorKind::kCorrupt);
  EXPECT_EQ(ParseOwnerRecord("va-sandbox-owner 1\nid=x\nsupervisor_pid=zz\n").error().kind,
            ErrorKind::kCorrupt);
  EXPECT_EQ(ParseOwnerRecord("va-sandbox-owner 1\nid=x\n").error().kind, ErrorKind::kCorrupt);
}

TEST(OwnerRecord, SelfIsAliveAndOthersAreNot) {
  auto self = SelfOwner();
  ASSERT_TRUE(self.has_value()) << self.error().message;
  EXPECT_TRUE(SupervisorAlive(*self));
  OwnerRecord other = *self;
  other.supervisor_start += 1;  // same pid, another process
  EXPECT_FALSE(SupervisorAlive(other));
  other = *self;
  other.boot_id = "another boot";
  EXPECT_FALSE(SupervisorAlive(other));
}

TEST(ScratchDir, CreatesAndRemovesEverything) {
  va::testing::TempDir tmp;
  OwnerRecord r;
  r.id = "sbx_test";
  std::string path;
  {
    auto dir = ScratchDir::Create(tmp.Path(), r);
    ASSERT_TRUE(dir.has_value()) << dir.error().message;
    path = dir->Path();
    struct stat st {};
    ASSERT_EQ(::stat((path + "/root").c_str(), &st), 0);
    ASSERT_EQ(::stat((path + "/owner").c_str(), &st), 0);
    ASSERT_EQ(::mkdir((path + "/root/x").c_str(), 0700), 0);
  }
  EXPECT_NE(::access(path.c_str(), F_OK), 0);
  // The same id twice is refused.
  auto a = ScratchDir::Create(tmp.Path(), r);
  ASSERT_TRUE(a.has_value());
  EXPECT_FALSE(ScratchDir::Create(tmp.Path(), r).has_value());
}

}  // namespace
}  // namespace va::sandbox
