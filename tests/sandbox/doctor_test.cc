// `vaultctl doctor` (RunDoctor) on this host: every layer in force, every escape attempt denied,
// one line each; the JSON form says the same. Needs root (CI has it).
#include "sandbox/doctor.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <string>

#include "base/sys.h"
#include "support/child.h"
#include "support/test_env.h"

namespace va::sandbox {
namespace {

using va::testing::BinPath;

// Runs RunDoctor with stdout sent to a file; returns {exit code, output}.
std::pair<int, std::string> RunCaptured(const DoctorOptions& options) {
  va::testing::TempDir tmp;
  std::string path = tmp.File("out");
  std::fflush(stdout);
  int saved = ::dup(1);
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  ::dup2(fd, 1);
  ::close(fd);
  int rc = RunDoctor(options);
  std::fflush(stdout);
  ::dup2(saved, 1);
  ::close(saved);
  auto text = ReadSmallFile(path);
  return {rc, text ? *text : ""};
}

std::string BinDir() {
  std::string probe = BinPath("vault-sandbox-probe");
  return probe.substr(0, probe.find_last_of('/'));
}

TEST(Doctor, EveryLayerInForceAndEveryAttemptDenied) {
  VA_REQUIRE_ROOT();
  auto [rc, out] = RunCaptured({false, BinDir()});
  EXPECT_EQ(rc, 0) << out;
  EXPECT_EQ(out.find("ALLOWED"), std::string::npos) << out;
  EXPECT_EQ(out.find("missing"), std::string::npos) << out;
  for (const char* line :
       {"layer   landlock:", "layer   user namespace:", "layer   seccomp:", "layer   cgroup kill:",
        "attempt read-secret:", "attempt tcp-connect:", "attempt signal-outside:",
        "attempt ptrace-outside:", "attempt exec-not-provided:", "attempt write-usr:",
        "attempt fork-bomb:", "attempt allocate-past-limit:", "check   read-file:",
        "layer   destroy:"}) {
    EXPECT_NE(out.find(line), std::string::npos) << line << "\n" << out;
  }
  EXPECT_NE(out.find("\ndoctor: ok: "), std::string::npos) << out;
  std::printf("%s", out.c_str());
}

TEST(Doctor, JsonSaysTheSame) {
  VA_REQUIRE_ROOT();
  auto [rc, out] = RunCaptured({true, BinDir()});
  EXPECT_EQ(rc, 0) << out;
  EXPECT_EQ(out.rfind("{\"ok\":true,\"results\":[", 0), 0u) << out;
  EXPECT_NE(out.find("{\"kind\":\"attempt\",\"name\":\"read-secret\",\"status\":\"denied\","
                     "\"good\":true"),
            std::string::npos)
      << out;
  EXPECT_EQ(std::count(out.begin(), out.end(), '\n'), 1) << out;
}

TEST(Doctor, FailsWithoutTheProbe) {
  auto [rc, out] = RunCaptured({false, "/nonexistent"});
  EXPECT_EQ(rc, 1);
  EXPECT_NE(out.find("vault-sandbox-probe not found"), std::string::npos) << out;
  EXPECT_NE(out.find("doctor: FAILED"), std::string::npos) << out;
}

}  // namespace
}  // namespace va::sandbox
