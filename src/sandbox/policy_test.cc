// PolicyBuilder keeps its first error; ViewerPolicy binds what a dynamic program needs.
#include "sandbox/policy.h"

#include <gtest/gtest.h>
#include <sys/resource.h>

#include <algorithm>

namespace va::sandbox {
namespace {

TEST(PolicyBuilder, KeepsTheFirstError) {
  PolicyBuilder b;
  b.ReadOnly("/no/such/path").Tmpfs("relative", 1).LandlockMinimumAbi(0).Executable("/bin/true");
  auto p = b.Build();
  ASSERT_FALSE(p.has_value());
  EXPECT_EQ(p.error().kind, ErrorKind::kNotFound);
  EXPECT_NE(p.error().message.find("policy: ReadOnly /no/such/path"), std::string::npos)
      << p.error().message;
}

TEST(PolicyBuilder, RejectsRelativePathsAndBadLimits) {
  EXPECT_EQ(PolicyBuilder().ReadOnly("usr").Build().error().kind, ErrorKind::kInvalid);
  EXPECT_EQ(PolicyBuilder().Executable("/bin/true").PidsLimit(1).Build().error().kind,
            ErrorKind::kInvalid);
  EXPECT_EQ(PolicyBuilder().Executable("/bin/true").MemoryLimit(1024).Build().error().kind,
            ErrorKind::kInvalid);
  EXPECT_EQ(PolicyBuilder().Executable("/bin/true").HostIdentity(0, 0).Build().error().kind,
            ErrorKind::kInvalid);
  EXPECT_EQ(PolicyBuilder().Executable("/bin/true").Device("/etc/passwd").Build().error().kind,
            ErrorKind::kInvalid);
}

TEST(PolicyBuilder, NeedsSomethingToRun) {
  auto p = PolicyBuilder().ReadOnly("/usr").Build();
  ASSERT_FALSE(p.has_value());
  EXPECT_NE(p.error().message.find("no Executable"), std::string::npos);
}

TEST(PolicyBuilder, ReproducesSymlinksAndSkipsCoveredPaths) {
  auto p = PolicyBuilder()
               .ReadOnly("/usr")
               .ReadOnly("/usr/bin")
               .ReadOnlyIfExists("/bin")
               .ReadOnlyIfExists("/does-not-exist")
               .Executable("/bin/true")
               .Build();
  ASSERT_TRUE(p.has_value()) << p.error().message;
  ASSERT_GE(p->mounts.size(), 2u);
  EXPECT_EQ(p->mounts[0].path, "/usr");
  EXPECT_TRUE(p->mounts[0].directory);
  // /usr/bin is under /usr: not bound twice.
  EXPECT_EQ(std::count_if(p->mounts.begin(), p->mounts.end(),
                          [](const MountEntry& m) { return m.path == "/usr/bin"; }),
            0);
  struct stat st {};
  if (::lstat("/bin", &st) == 0 && S_ISLNK(st.st_mode)) {
    EXPECT_EQ(p->mounts[1].kind, MountKind::kSymlink);
    EXPECT_EQ(p->mounts[1].path, "/bin");
  }
  // The real program and its ELF interpreter may be executed.
  EXPECT_NE(std::find(p->executables.begin(), p->executables.end(), "/usr/bin/true"),
            p->executables.end());
  EXPECT_EQ(p->executables.size(), 2u);
}

TEST(ElfInterpreter, FindsLdSoAndNothingInScripts) {
  auto interp = ElfInterpreter("/usr/bin/true");
  ASSERT_TRUE(interp.has_value()) << interp.error().message;
  EXPECT_NE(interp->find("ld-linux"), std::string::npos) << *interp;
  auto script = ElfInterpreter("/usr/bin/ldd");  // a shell script on Debian
  ASSERT_TRUE(script.has_value());
  EXPECT_EQ(*script, "");
}

TEST(ViewerPolicy, IsTheProductionPolicy) {
  auto p = ViewerPolicy("/usr/bin/true");
  ASSERT_TRUE(p.has_value()) << p.error().message;
  EXPECT_EQ(p->landlock_min_abi, 6);
  EXPECT_TRUE(p->require_cgroup_limits);
  auto has = [&](MountKind kind, const std::string& path) {
    return std::any_of(p->mounts.begin(), p->mounts.end(),
                       [&](const MountEntry& m) { return m.kind == kind && m.path == path; });
  };
  EXPECT_TRUE(has(MountKind::kBind, "/usr"));
  EXPECT_TRUE(has(MountKind::kTmpfs, "/tmp"));
  EXPECT_TRUE(has(MountKind::kProc, "/proc"));
  EXPECT_TRUE(has(MountKind::kDevice, "/dev/null"));
  EXPECT_FALSE(has(MountKind::kBind, "/etc"));
  EXPECT_FALSE(has(MountKind::kBind, "/home"));
  auto core = std::find_if(p->rlimits.begin(), p->rlimits.end(),
                           [](const RlimitEntry& r) { return r.resource == RLIMIT_CORE; });
  ASSERT_NE(core, p->rlimits.end());
  EXPECT_EQ(core->value, 0u);
}

}  // namespace
}  // namespace va::sandbox
