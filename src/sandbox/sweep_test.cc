// The sweep removes what a dead supervisor left, keeps a live one's, and reports what it cannot
// read without touching it.
#include "sandbox/sweep.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/sys.h"
#include "sandbox/scratch.h"
#include "support/test_env.h"

namespace va::sandbox {
namespace {

bool Exists(const std::string& path) { return ::access(path.c_str(), F_OK) == 0; }

void MakeLeftover(const std::string& root, const OwnerRecord& record) {
  std::string dir = root + "/" + record.id;
  ASSERT_EQ(::mkdir(dir.c_str(), 0700), 0);
  ASSERT_EQ(::mkdir((dir + "/root").c_str(), 0700), 0);
  auto fd = Open(dir + "/owner", O_WRONLY | O_CREAT, 0600);
  ASSERT_TRUE(fd.has_value());
  ASSERT_TRUE(WriteAll(fd->Get(), FormatOwnerRecord(record)).has_value());
}

TEST(Sweep, DestroysWhatADeadSupervisorLeftAndNothingElse) {
  va::testing::TempDir tmp;
  auto self = SelfOwner();
  ASSERT_TRUE(self.has_value());

  OwnerRecord dead = *self;
  dead.id = "sbx_deadsupervisor";
  dead.supervisor_start += 1;  // this pid, but not this process: the owner is gone
  MakeLeftover(tmp.Path(), dead);

  OwnerRecord alive = *self;
  alive.id = "sbx_livesupervisor";
  MakeLeftover(tmp.Path(), alive);

  std::string corrupt = tmp.File("sbx_corrupt");
  ASSERT_EQ(::mkdir(corrupt.c_str(), 0700), 0);
  ASSERT_EQ(::mkdir(tmp.File("not_a_sandbox").c_str(), 0700), 0);

  auto swept = Sweep(tmp.Path());
  ASSERT_TRUE(swept.has_value()) << swept.error().message;
  EXPECT_EQ(swept->destroyed, std::vector<std::string>{"sbx_deadsupervisor"});
  ASSERT_EQ(swept->failed.size(), 1u);
  EXPECT_EQ(swept->failed[0].rfind("sbx_corrupt: ", 0), 0u) << swept->failed[0];
  EXPECT_FALSE(Exists(tmp.File("sbx_deadsupervisor")));
  EXPECT_TRUE(Exists(tmp.File("sbx_livesupervisor")));
  EXPECT_TRUE(Exists(corrupt));
  EXPECT_TRUE(Exists(tmp.File("not_a_sandbox")));
}

TEST(Sweep, MissingRootIsEmpty) {
  auto swept = Sweep("/nonexistent/va-sandboxes");
  ASSERT_TRUE(swept.has_value());
  EXPECT_TRUE(swept->destroyed.empty());
}

}  // namespace
}  // namespace va::sandbox
