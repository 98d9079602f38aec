// Tests for vpnc.h: connect/disconnect records round-trip and keep only vpnc-script variables,
// step names are validated, step status files are read strictly, the --script command survives
// /bin/sh with hostile paths, and the hook and the disconnect replay drive a fake system
// vpnc-script (a shell script that records the environment it was given and exits with a chosen
// code). RunVpncHook reads the process environment, so it runs in a forked child with exactly the
// environment openconnect would give it.
#include "akon/vpnc.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "proc/process.h"
#include "support/child.h"
#include "support/test_env.h"

namespace va::akon {
namespace {

using ::va::testing::RunCommand;
using ::va::testing::ScopedEnv;
using ::va::testing::TempDir;

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

bool Exists(const std::string& path) {
  struct stat st {};
  return ::lstat(path.c_str(), &st) == 0;
}

void WriteFile(const std::string& path, const std::string& text, mode_t mode = 0600) {
  {
    std::ofstream out(path, std::ios::trunc);
    out << text;
  }
  ASSERT_EQ(::chmod(path.c_str(), mode), 0);
}

// "K=V\0K=V\0..." (a /proc/PID/environ) as a map.
Environment ParseEnviron(const std::string& text) {
  Environment env;
  size_t start = 0;
  while (start < text.size()) {
    size_t end = text.find('\0', start);
    if (end == std::string::npos) end = text.size();
    std::string kv = text.substr(start, end - start);
    if (auto eq = kv.find('='); eq != std::string::npos) env[kv.substr(0, eq)] = kv.substr(eq + 1);
    start = end + 1;
  }
  return env;
}

// A stand-in for the system vpnc-script. Each run appends $reason to OUT/calls, saves its
// environment as OUT/env.<reason>, notes whether REC/<reason>.json and REC/<reason>.status
// existed when it started, then runs `ending` (e.g. "exit 3").
class FakeScript {
 public:
  FakeScript(const std::string& record_dir, const std::string& ending = "exit 0")
      : record_dir_(record_dir) {
    const std::string text =
        "#!/bin/sh\nout='" + out_.Path() + "'\nrec='" + record_dir +
        "'\n"
        "echo \"$reason\" >> \"$out/calls\"\n"
        "cat /proc/$$/environ > \"$out/env.$reason\"\n"
        "if [ -f \"$rec/$reason.json\" ]; then : > \"$out/record-before\"; fi\n"
        "if [ -e \"$rec/$reason.status\" ]; then : > \"$out/status-before\"; fi\n" +
        ending + "\n";
    WriteFile(path_, text, 0755);
  }
  const std::string& Path() const { return path_; }
  std::string Calls() const { return ReadFile(out_.File("calls")); }
  Environment EnvOf(const std::string& reason) const {
    return ParseEnviron(ReadFile(out_.File("env." + reason)));
  }
  bool SawRecord() const { return Exists(out_.File("record-before")); }
  bool SawStatus() const { return Exists(out_.File("status-before")); }

 private:
  TempDir out_;
  std::string record_dir_;
  std::string path_ = out_.File("vpnc script");
};

// Runs RunVpncHook in a forked child whose environment is exactly `env`; returns its exit status.
ExitStatus RunHookInChild(const Environment& env, const std::string& record_dir,
                          const std::string& script) {
  std::vector<std::string> kvs;
  for (const auto& [k, v] : env) kvs.push_back(k + "=" + v);
  pid_t pid = ::fork();
  if (pid == 0) {
    ::clearenv();
    for (auto& kv : kvs) ::putenv(kv.data());
    ::_exit(RunVpncHook(record_dir, script));
  }
  EXPECT_GT(pid, 0);
  auto child = Process::Adopt(pid);
  EXPECT_TRUE(child.has_value()) << child.error().message;
  if (!child) return ExitStatus{true, 0};
  auto exited = child->WaitExit(std::chrono::seconds(20));
  EXPECT_TRUE(exited.has_value() && *exited) << "the hook did not finish";
  if (!exited || !*exited) {
    (void)child->Signal(SIGKILL);
    (void)child->WaitExit(std::chrono::seconds(5));
  }
  auto status = child->Reap();
  EXPECT_TRUE(status.has_value());
  return status.value_or(ExitStatus{true, 0});
}

Environment ConnectEnvironment() {
  return {{"reason", "connect"},
          {"TUNDEV", "tun7"},
          {"VPNGATEWAY", "192.0.2.1"},
          {"INTERNAL_IP4_ADDRESS", "10.1.2.3"},
          {"INTERNAL_IP4_NETMASK", "255.255.255.0"},
          {"INTERNAL_IP4_DNS", "10.1.2.53 10.1.2.54"},
          {"CISCO_SPLIT_INC", "1"},
          {"CISCO_SPLIT_INC_0_ADDR", "10.98.0.0"},
          {"CISCO_BANNER", "Welcome!\nLine two with \"quotes\", 'apostrophes' and ünïcødé ✓\n"},
          {"CISCO_DEF_DOMAIN", "corp.example.com"}};
}

TEST(VpncRecordTest, RoundTripsValuesExactly) {
  TempDir dir;
  Environment env = ConnectEnvironment();
  env["INTERNAL_IP6_ADDRESS"] = "";                         // empty value
  env["CISCO_SPLIT_DNS"] = "a=b,c\\d;e $(x) `y`";           // shell and JSON metacharacters
  env["INTERNAL_IP4_NBNS"] = std::string("\x01\t\r\n", 4);  // control characters
  ASSERT_TRUE(WriteRecord(dir.Path(), env).has_value());
  struct stat st {};
  ASSERT_EQ(::stat(dir.File("connect.json").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0600u);
  auto read = ReadRecord(dir.Path(), "connect");
  ASSERT_TRUE(read.has_value()) << read.error().message;
  EXPECT_EQ(*read, env);
}

TEST(VpncRecordTest, KeepsOnlyVpnVariables) {
  TempDir dir;
  Environment env = {{"reason", "disconnect"},
                     {"TUNDEV", "tun0"},
                     {"PATH", "/tmp/evil"},
                     {"LD_PRELOAD", "/tmp/evil.so"},
                     {"HOME", "/root"},
                     {"INTERNAL_IP6_ADDRESS", "fd00::2"},
                     {"VPNPID", "123"},
                     {"IDLE_TIMEOUT", "1200"},
                     {"LOG_LEVEL", "1"},
                     {"VPNDOMAIN", "example.com"},
                     {"XTUNDEV", "x"},
                     {"cisco_banner", "lowercase"},
                     {"INTERNAL_IP4", "no underscore"}};
  ASSERT_TRUE(WriteRecord(dir.Path(), env).has_value());
  auto read = ReadRecord(dir.Path(), "disconnect");
  ASSERT_TRUE(read.has_value()) << read.error().message;
  Environment want = {
      {"reason", "disconnect"},    {"TUNDEV", "tun0"},       {"INTERNAL_IP6_ADDRESS", "fd00::2"},
      {"VPNPID", "123"},           {"IDLE_TIMEOUT", "1200"}, {"LOG_LEVEL", "1"},
      {"VPNDOMAIN", "example.com"}};
  EXPECT_EQ(*read, want);  // and "recorded_at", which the record adds, is not a variable
  EXPECT_NE(ReadFile(dir.File("disconnect.json")).find("recorded_at"), std::string::npos);
}

TEST(VpncRecordTest, VpnEnvironmentFromProcessTakesOnlyVpnVariables) {
  ScopedEnv reason("reason", "connect");
  ScopedEnv tundev("TUNDEV", "tun3");
  ScopedEnv address("INTERNAL_IP4_ADDRESS", "10.9.9.9");
  ScopedEnv banner("CISCO_BANNER", "hello\nworld");
  ScopedEnv gateway("VPNGATEWAY", "192.0.2.9");
  ScopedEnv other("AKON_TEST_NOT_VPN", "1");
  ScopedEnv lookalike("XTUNDEV", "x");
  Environment env = VpnEnvironmentFromProcess();
  EXPECT_EQ(env["reason"], "connect");
  EXPECT_EQ(env["TUNDEV"], "tun3");
  EXPECT_EQ(env["INTERNAL_IP4_ADDRESS"], "10.9.9.9");
  EXPECT_EQ(env["CISCO_BANNER"], "hello\nworld");
  EXPECT_EQ(env["VPNGATEWAY"], "192.0.2.9");
  env = VpnEnvironmentFromProcess();  // the lookups above inserted nothing real
  EXPECT_EQ(env.count("AKON_TEST_NOT_VPN"), 0u);
  EXPECT_EQ(env.count("XTUNDEV"), 0u);
  EXPECT_EQ(env.count("PATH"), 0u);
  EXPECT_EQ(env.count("HOME"), 0u);
}

TEST(VpncRecordTest, InvalidReasonIsRejected) {
  TempDir dir;
  for (const char* reason : {"", "bogus", "CONNECT", "connect ", "../state", "connect/../../x"}) {
    auto written = WriteRecord(dir.Path(), {{"reason", reason}, {"TUNDEV", "tun0"}});
    ASSERT_FALSE(written.has_value()) << reason;
    EXPECT_EQ(written.error().kind, ErrorKind::kInvalid);
    auto read = ReadRecord(dir.Path(), reason);
    ASSERT_FALSE(read.has_value()) << reason;
    EXPECT_EQ(read.error().kind, ErrorKind::kInvalid);
    auto status = ReadStepStatus(dir.Path(), reason);
    ASSERT_FALSE(status.has_value()) << reason;
    EXPECT_EQ(status.error().kind, ErrorKind::kInvalid);
  }
  auto no_reason = WriteRecord(dir.Path(), {{"TUNDEV", "tun0"}});
  ASSERT_FALSE(no_reason.has_value());
  EXPECT_EQ(no_reason.error().kind, ErrorKind::kInvalid);
  std::filesystem::directory_iterator it(dir.Path());
  EXPECT_EQ(it, std::filesystem::directory_iterator()) << "a rejected record left a file";
  // Every step openconnect knows is accepted.
  for (const char* reason :
       {"pre-init", "connect", "disconnect", "reconnect", "attempt-reconnect"}) {
    EXPECT_TRUE(WriteRecord(dir.Path(), {{"reason", reason}}).has_value()) << reason;
    EXPECT_TRUE(ReadRecord(dir.Path(), reason).has_value()) << reason;
  }
}

TEST(VpncRecordTest, ReadRecordReportsMissingCorruptAndUntrusted) {
  TempDir dir;
  auto missing = ReadRecord(dir.Path(), "connect");
  ASSERT_FALSE(missing.has_value());
  EXPECT_EQ(missing.error().kind, ErrorKind::kNotFound) << missing.error().message;

  for (const char* text : {"", "not json", "[\"reason\",\"connect\"]", "{\"TUNDEV\":5}",
                           "{\"TUNDEV\":null}", "{\"reason\":\"connect\""}) {
    WriteFile(dir.File("connect.json"), text, 0600);
    auto read = ReadRecord(dir.Path(), "connect");
    ASSERT_FALSE(read.has_value()) << text;
    EXPECT_EQ(read.error().kind, ErrorKind::kCorrupt) << text << ": " << read.error().message;
  }
  // Records are private: anything group- or world-accessible is refused, as is a symlink.
  WriteFile(dir.File("connect.json"), R"({"reason":"connect"})", 0640);
  auto loose = ReadRecord(dir.Path(), "connect");
  ASSERT_FALSE(loose.has_value());
  EXPECT_EQ(loose.error().kind, ErrorKind::kUntrusted) << loose.error().message;
  WriteFile(dir.File("elsewhere.json"), R"({"reason":"connect"})", 0600);
  ASSERT_EQ(::unlink(dir.File("connect.json").c_str()), 0);
  ASSERT_EQ(::symlink(dir.File("elsewhere.json").c_str(), dir.File("connect.json").c_str()), 0);
  auto link = ReadRecord(dir.Path(), "connect");
  ASSERT_FALSE(link.has_value());
  EXPECT_EQ(link.error().kind, ErrorKind::kUntrusted) << link.error().message;
}

TEST(VpncStatusTest, ReadsRecordedExitCodes) {
  TempDir dir;
  for (const auto& [text, code] : std::vector<std::pair<std::string, int>>{
           {"0\n", 0}, {"0", 0}, {"1\n", 1}, {"143\n", 143}, {"255\n", 255}}) {
    WriteFile(dir.File("connect.status"), text, 0600);
    auto status = ReadStepStatus(dir.Path(), "connect");
    ASSERT_TRUE(status.has_value()) << text << ": " << status.error().message;
    EXPECT_EQ(*status, code) << text;
  }
}

TEST(VpncStatusTest, BadContentsAreCorrupt) {
  TempDir dir;
  for (const char* text : {"", "\n", "abc", "-1\n", "256\n", "99999999999999999999\n", "1.5\n",
                           "0 but not quite\n", "0x1\n", "1\n2\n", " 1\n", "+1\n"}) {
    WriteFile(dir.File("connect.status"), text, 0600);
    auto status = ReadStepStatus(dir.Path(), "connect");
    ASSERT_FALSE(status.has_value()) << "accepted: " << text << " as " << *status;
    EXPECT_EQ(status.error().kind, ErrorKind::kCorrupt) << text << ": " << status.error().message;
  }
  WriteFile(dir.File("connect.status"), std::string(100, '0') + "\n", 0600);
  EXPECT_FALSE(ReadStepStatus(dir.Path(), "connect").has_value()) << "oversized file accepted";
}

TEST(VpncStatusTest, MissingAndUntrustedStatus) {
  TempDir dir;
  auto missing = ReadStepStatus(dir.Path(), "disconnect");
  ASSERT_FALSE(missing.has_value());
  EXPECT_EQ(missing.error().kind, ErrorKind::kNotFound);
  WriteFile(dir.File("disconnect.status"), "0\n", 0622);
  auto loose = ReadStepStatus(dir.Path(), "disconnect");
  ASSERT_FALSE(loose.has_value());
  EXPECT_EQ(loose.error().kind, ErrorKind::kUntrusted) << loose.error().message;
}

// openconnect runs --script through `/bin/sh -c`: the words must arrive exactly as given,
// whatever the paths contain, and nothing in them may be expanded or executed.
TEST(VpncHookCommandTest, SurvivesTheShellIntact) {
  TempDir dir;
  const std::string bin_dir = dir.File("bin dir with 'quotes' and spaces");
  ASSERT_EQ(::mkdir(bin_dir.c_str(), 0700), 0);
  const std::string self = bin_dir + "/it's akon";
  WriteFile(self, "#!/bin/sh\nfor a in \"$@\"; do printf '<%s>\\n' \"$a\"; done\n", 0755);
  const std::string pwned = dir.File("pwned");
  const std::string record_dir = dir.Path() + "/rec dir/it's \"here\" $(touch " + pwned +
                                 ") `touch " + pwned + "` $HOME \\ ;|&*?[a] ~ #\nnext line";
  const std::string script = "/opt/my vpn/vpnc-script's'' '\\''; touch " + pwned;
  const std::string command = HookCommand(self, record_dir, script);
  auto run = RunCommand({"/bin/sh", "-c", command});
  ASSERT_TRUE(run.has_value()) << run.error().message;
  ASSERT_EQ(run->status, (ExitStatus{false, 0})) << run->Describe() << "\ncommand: " << command;
  EXPECT_EQ(run->out,
            "<vpnc-hook>\n<--record-dir>\n<" + record_dir + ">\n<--script>\n<" + script + ">\n")
      << "command: " << command;
  EXPECT_FALSE(Exists(pwned)) << "the shell executed part of a path";
}

class VpncHookTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_EQ(::chmod(record_.Path().c_str(), 0700), 0); }
  std::string Rec() const { return record_.Path(); }
  TempDir record_;
};

TEST_F(VpncHookTest, RecordsRunsTheScriptAndRecordsItsStatus) {
  FakeScript script(Rec());
  Environment env = ConnectEnvironment();
  env["PATH"] = "/usr/bin:/bin";
  env["OPENCONNECT_ONLY"] = "not a vpn variable, but the script sees it";
  ExitStatus status = RunHookInChild(env, Rec(), script.Path());
  EXPECT_EQ(status, (ExitStatus{false, 0}));

  EXPECT_EQ(script.Calls(), "connect\n");
  EXPECT_TRUE(script.SawRecord()) << "connect.json was not written before the script ran";
  EXPECT_FALSE(script.SawStatus()) << "connect.status was written before the script ran";
  // The script sees exactly what openconnect gave the hook.
  EXPECT_EQ(script.EnvOf("connect"), env);

  auto record = ReadRecord(Rec(), "connect");
  ASSERT_TRUE(record.has_value()) << record.error().message;
  Environment vpn_only = env;
  vpn_only.erase("PATH");
  vpn_only.erase("OPENCONNECT_ONLY");
  EXPECT_EQ(*record, vpn_only);
  EXPECT_EQ(ReadFile(Rec() + "/connect.status"), "0\n");
  auto code = ReadStepStatus(Rec(), "connect");
  ASSERT_TRUE(code.has_value()) << code.error().message;
  EXPECT_EQ(*code, 0);
}

TEST_F(VpncHookTest, ReturnsAndRecordsTheScriptsExitCode) {
  FakeScript script(Rec(), "exit 3");
  Environment env = ConnectEnvironment();
  env["PATH"] = "/usr/bin:/bin";
  EXPECT_EQ(RunHookInChild(env, Rec(), script.Path()), (ExitStatus{false, 3}));
  auto code = ReadStepStatus(Rec(), "connect");
  ASSERT_TRUE(code.has_value()) << code.error().message;
  EXPECT_EQ(*code, 3);
}

TEST_F(VpncHookTest, AScriptKilledBySignalCountsAs128PlusTheSignal) {
  FakeScript script(Rec(), "kill -KILL $$");
  Environment env = {{"reason", "disconnect"}, {"TUNDEV", "tun7"}, {"PATH", "/usr/bin:/bin"}};
  EXPECT_EQ(RunHookInChild(env, Rec(), script.Path()), (ExitStatus{false, 128 + SIGKILL}));
  auto code = ReadStepStatus(Rec(), "disconnect");
  ASSERT_TRUE(code.has_value()) << code.error().message;
  EXPECT_EQ(*code, 128 + SIGKILL);
}

TEST_F(VpncHookTest, AMissingSystemScriptFailsTheStep) {
  Environment env = ConnectEnvironment();
  EXPECT_EQ(RunHookInChild(env, Rec(), Rec() + "/no such script"), (ExitStatus{false, 1}));
  EXPECT_TRUE(ReadRecord(Rec(), "connect").has_value());
  auto code = ReadStepStatus(Rec(), "connect");
  ASSERT_TRUE(code.has_value()) << code.error().message;
  EXPECT_EQ(*code, 1);
}

TEST_F(VpncHookTest, WithoutAReasonTheScriptStillRunsButNothingIsRecorded) {
  FakeScript script(Rec(), "exit 0");
  EXPECT_EQ(RunHookInChild({{"TUNDEV", "tun7"}}, Rec(), script.Path()), (ExitStatus{false, 0}));
  EXPECT_EQ(script.Calls(), "\n");
  std::filesystem::directory_iterator it(Rec());
  EXPECT_EQ(it, std::filesystem::directory_iterator()) << "something was recorded";
}

TEST_F(VpncHookTest, ReplayDisconnectRunsTheScriptWithTheConnectVariables) {
  FakeScript script(Rec());
  Environment connect = ConnectEnvironment();
  connect["LD_PRELOAD"] = "/tmp/evil.so";  // in a tampered record: must not reach the script
  ASSERT_TRUE(WriteRecord(Rec(), connect).has_value());
  ASSERT_TRUE(ReplayDisconnect(Rec(), script.Path()).has_value());

  EXPECT_EQ(script.Calls(), "disconnect\n");
  Environment seen = script.EnvOf("disconnect");
  EXPECT_EQ(seen["reason"], "disconnect");
  for (const auto& [k, v] : ConnectEnvironment()) {
    if (k != "reason") {
      EXPECT_EQ(seen[k], v) << k;
    }
  }
  EXPECT_EQ(seen.count("LD_PRELOAD"), 0u);
  EXPECT_FALSE(seen["PATH"].empty()) << "the system script needs a PATH";
  // Recorded as if openconnect had run the step.
  auto record = ReadRecord(Rec(), "disconnect");
  ASSERT_TRUE(record.has_value()) << record.error().message;
  EXPECT_EQ(record->at("TUNDEV"), "tun7");
  auto code = ReadStepStatus(Rec(), "disconnect");
  ASSERT_TRUE(code.has_value()) << code.error().message;
  EXPECT_EQ(*code, 0);

  // Once done, a second replay does nothing.
  ASSERT_TRUE(ReplayDisconnect(Rec(), script.Path()).has_value());
  EXPECT_EQ(script.Calls(), "disconnect\n");
}

TEST_F(VpncHookTest, ReplayDisconnectDoesNothingWithoutAConnectRecord) {
  FakeScript script(Rec());
  EXPECT_TRUE(ReplayDisconnect(Rec(), script.Path()).has_value());
  EXPECT_TRUE(ReplayDisconnect("", script.Path()).has_value());
  EXPECT_EQ(script.Calls(), "");
  std::filesystem::directory_iterator it(Rec());
  EXPECT_EQ(it, std::filesystem::directory_iterator()) << "something was recorded";
}

TEST_F(VpncHookTest, ReplayDisconnectDoesNothingWhenOpenconnectAlreadyDisconnected) {
  FakeScript script(Rec());
  ASSERT_TRUE(WriteRecord(Rec(), ConnectEnvironment()).has_value());
  // What the hook leaves after openconnect ran the disconnect step itself.
  ASSERT_EQ(RunHookInChild({{"reason", "disconnect"}, {"TUNDEV", "tun7"}}, Rec(), script.Path()),
            (ExitStatus{false, 0}));
  ASSERT_EQ(script.Calls(), "disconnect\n");
  EXPECT_TRUE(ReplayDisconnect(Rec(), script.Path()).has_value());
  EXPECT_EQ(script.Calls(), "disconnect\n");
}

TEST_F(VpncHookTest, ReplayDisconnectReportsAFailingScript) {
  FakeScript script(Rec(), "exit 4");
  ASSERT_TRUE(WriteRecord(Rec(), ConnectEnvironment()).has_value());
  auto replay = ReplayDisconnect(Rec(), script.Path());
  ASSERT_FALSE(replay.has_value());
  EXPECT_NE(replay.error().message.find("4"), std::string::npos) << replay.error().message;
  EXPECT_EQ(script.Calls(), "disconnect\n");
  auto code = ReadStepStatus(Rec(), "disconnect");
  ASSERT_TRUE(code.has_value()) << code.error().message;
  EXPECT_EQ(*code, 4);
}

TEST_F(VpncHookTest, ReplayDisconnectRefusesACorruptConnectRecord) {
  FakeScript script(Rec());
  WriteFile(Rec() + "/connect.json", "{\"TUNDEV\":", 0600);
  auto replay = ReplayDisconnect(Rec(), script.Path());
  ASSERT_FALSE(replay.has_value());
  EXPECT_EQ(replay.error().kind, ErrorKind::kCorrupt) << replay.error().message;
  EXPECT_EQ(script.Calls(), "");
}

}  // namespace
}  // namespace va::akon
