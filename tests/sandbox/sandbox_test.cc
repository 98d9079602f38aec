// The sandbox against the real kernel, with the production policy (ViewerPolicy): the program
// reads its one file; escape attempts by vault-sandbox-probe are each denied; the pids and memory
// limits hold; Destroy with 200 processes leaves nothing; a SIGKILLed supervisor takes its sandbox
// down and the start-up sweep removes what it left; each layer that cannot be applied refuses
// with its name; an unprivileged supervisor works or refuses precisely. Needs root (CI has it).
#include "sandbox/sandbox.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstring>
#include <map>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "base/ids.h"
#include "base/sys.h"
#include "proc/pidfd.h"
#include "proc/process.h"
#include "sandbox/landlock.h"
#include "sandbox/sweep.h"
#include "support/child.h"
#include "support/test_env.h"

namespace va::sandbox {
namespace {

using va::testing::BinPath;
using va::testing::TempDir;

constexpr auto kDeadline = std::chrono::seconds(30);

bool Exists(const std::string& path) { return ::access(path.c_str(), F_OK) == 0; }

// Waits (kernfs notifies a change of cgroup.events as POLLPRI) until a cgroup v2 directory has
// no process left; false at the deadline.
bool WaitUnpopulated(const std::string& dir, std::chrono::milliseconds timeout) {
  auto fd = Open(dir + "/cgroup.events", O_RDONLY);
  if (!fd) return false;
  const MonoTime deadline = MonoNow() + timeout;
  for (;;) {
    char buf[256];
    ssize_t n = ::pread(fd->Get(), buf, sizeof(buf) - 1, 0);
    if (n < 0) return false;
    if (std::string(buf, static_cast<size_t>(n)).find("populated 0") != std::string::npos) {
      return true;
    }
    int ms = MillisUntil(deadline);
    if (ms == 0) return false;
    if (!PollOne(fd->Get(), POLLPRI, std::chrono::milliseconds(ms))) return false;
  }
}

// A world around the sandbox: scratch root, the one file, a secret, a process, an abstract socket
// and a TCP listener outside. All removed/killed by the destructor.
class World {
 public:
  World() {
    ::chmod(tmp_.Path().c_str(), 0711);
    scratch_ = tmp_.File("scratch");
    ::mkdir(scratch_.c_str(), 0711);
    Write(tmp_.File("document"), "the one file\n", 0644);
    Write(tmp_.File("secret"), "secret\n", 0644);
    SpawnOptions so;
    so.argv = {"/bin/sleep", "600"};
    so.stdin_fd = so.stdout_fd = so.stderr_fd = SpawnOptions::kDevNull;
    so.parent_death_signal = SIGKILL;
    auto p = Process::Spawn(so);
    VA_CHECK(p.has_value(), "spawn sleep");
    outside_ = std::move(*p);
    abstract_name_ = "va-sbx-test-" + RandomHex(6);
    abstract_ = UniqueFd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
    sockaddr_un un{};
    un.sun_family = AF_UNIX;
    std::memcpy(un.sun_path + 1, abstract_name_.data(), abstract_name_.size());
    auto len = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + 1 + abstract_name_.size());
    VA_CHECK(::bind(abstract_.Get(), reinterpret_cast<sockaddr*>(&un), len) == 0, "bind");
    VA_CHECK(::listen(abstract_.Get(), 4) == 0, "listen");
    tcp_ = UniqueFd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
    sockaddr_in in{};
    in.sin_family = AF_INET;
    in.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t in_len = sizeof(in);
    VA_CHECK(::bind(tcp_.Get(), reinterpret_cast<sockaddr*>(&in), sizeof(in)) == 0, "bind tcp");
    VA_CHECK(::listen(tcp_.Get(), 4) == 0, "listen tcp");
    ::getsockname(tcp_.Get(), reinterpret_cast<sockaddr*>(&in), &in_len);
    tcp_port_ = ntohs(in.sin_port);
  }
  ~World() {
    // Whatever a killed helper supervisor left (a failed test): cgroups and scratch dirs.
    (void)Sweep(scratch_);
    if (outside_) {
      (void)outside_->Signal(SIGKILL);
      (void)outside_->WaitExit(std::chrono::seconds(5));
      outside_->Reap();
    }
  }

  static void Write(const std::string& path, const std::string& text, mode_t mode) {
    auto fd = Open(path, O_WRONLY | O_CREAT | O_TRUNC, mode);
    VA_CHECK(fd.has_value(), "create file");
    VA_CHECK(WriteAll(fd->Get(), text).has_value(), "write file");
    ::fchmod(fd->Get(), mode);
  }

  std::string Probe() const { return BinPath("vault-sandbox-probe"); }
  const std::string& Scratch() const { return scratch_; }
  std::string Document() const { return tmp_.File("document"); }
  std::string Secret() const { return tmp_.File("secret"); }
  const TempDir& Tmp() const { return tmp_; }

  // Full probe arguments for the standard attempts.
  std::vector<std::string> ProbeArgs(const std::string& id) const {
    return {Probe(),
            "--sbx-id=" + id,
            "--file=/input",
            "--file-fd=4",
            "--secret=" + Secret(),
            "--outside-pid=" + std::to_string(outside_->Pid()),
            "--outside-pidfd=3",
            "--abstract=" + abstract_name_,
            "--tcp-port=" + std::to_string(tcp_port_)};
  }
  int OutsidePidFd() const { return outside_->PidFd(); }

 private:
  TempDir tmp_;
  std::string scratch_;
  std::optional<Process> outside_;
  std::string abstract_name_;
  UniqueFd abstract_;
  UniqueFd tcp_;
  int tcp_port_ = 0;
};

struct ProbeRun {
  std::string out;
  std::optional<ExitStatus> status;
  std::map<std::string, std::string> verdicts;  // name -> "denied"/"ALLOWED"/"ok"/"FAILED"
  std::map<std::string, std::string> details;
};

ProbeRun ParseProbe(std::string out) {
  ProbeRun run;
  run.out = std::move(out);
  std::istringstream in(run.out);
  std::string line;
  while (std::getline(in, line)) {
    auto sp = line.find(' ');
    auto colon = line.find(": ");
    if (sp == std::string::npos || colon == std::string::npos) continue;
    std::string name = line.substr(sp + 1, colon - sp - 1);
    run.verdicts[name] = line.substr(0, sp);
    run.details[name] = line.substr(colon + 2);
  }
  return run;
}

// Runs the probe with `extra` arguments in a sandbox made from `policy`, collects its output and
// exit, destroys the sandbox and checks nothing is left.
Result<ProbeRun> RunProbe(const World& world, const Policy& policy,
                          const std::vector<std::string>& extra, uint64_t memory_max = 0,
                          uint64_t pids_max = 0) {
  VA_TRY(Pipe out, MakePipe());
  VA_TRY(UniqueFd file, Open(world.Document(), O_RDONLY));
  Spec spec;
  spec.id = NewSandboxId();
  spec.scratch_root = world.Scratch();
  spec.file = world.Document();
  spec.file_target = "/input";
  spec.memory_max = memory_max;
  spec.pids_max = pids_max;
  spec.fds = {{out.write.Get(), 1}, {world.OutsidePidFd(), 3}, {file.Get(), 4}};
  spec.argv = world.ProbeArgs(spec.id);
  spec.argv.insert(spec.argv.end(), extra.begin(), extra.end());
  VA_TRY(Sandbox sb, Create(policy, spec));
  out.write.Reset();
  std::string text;
  const MonoTime deadline = MonoNow() + kDeadline;
  for (;;) {
    VA_TRY(short ready,
           PollOne(out.read.Get(), POLLIN, std::chrono::milliseconds(MillisUntil(deadline))));
    if (ready == 0) return Fail(ErrorKind::kTimeout, "probe output: " + text);
    char buf[4096];
    VA_TRY(size_t n, Read(out.read.Get(), buf));
    if (n == 0) break;
    text.append(buf, n);
  }
  ProbeRun run = ParseProbe(text);
  VA_TRY(run.status, sb.Wait(deadline));
  auto paths = sb.CgroupPaths();
  std::string scratch = sb.ScratchPath();
  VA_TRY(DestroyReport report, sb.Destroy());
  for (const auto& p : paths) {
    if (Exists(p)) return Fail(ErrorKind::kInvalid, "cgroup left behind: " + p);
  }
  if (Exists(scratch)) return Fail(ErrorKind::kInvalid, "scratch dir left behind: " + scratch);
  return run;
}

class SandboxTest : public ::testing::Test {
 protected:
  void SetUp() override {
    VA_REQUIRE_ROOT();
    auto policy = ViewerPolicy(world_.Probe());
    ASSERT_TRUE(policy.has_value()) << policy.error().message;
    policy_ = *policy;
  }
  World world_;
  Policy policy_;
};

// --- the escape attempts: one probe run, one test per attempt ---

class EscapeTest : public ::testing::TestWithParam<const char*> {
 protected:
  static void SetUpTestSuite() {
    if (!va::testing::IsRoot()) return;
    world_ = new World();
    auto policy = ViewerPolicy(world_->Probe());
    ASSERT_TRUE(policy.has_value()) << policy.error().message;
    auto run = RunProbe(*world_, *policy, {});
    ASSERT_TRUE(run.has_value()) << run.error().message;
    run_ = new ProbeRun(std::move(*run));
  }
  static void TearDownTestSuite() {
    delete run_;
    run_ = nullptr;
    delete world_;
    world_ = nullptr;
  }
  static World* world_;
  static ProbeRun* run_;
};
World* EscapeTest::world_ = nullptr;
ProbeRun* EscapeTest::run_ = nullptr;

TEST_P(EscapeTest, IsDenied) {
  VA_REQUIRE_ROOT();
  ASSERT_NE(run_, nullptr);
  std::string name = GetParam();
  ASSERT_TRUE(run_->verdicts.count(name)) << "the probe did not try " << name << ":\n" << run_->out;
  EXPECT_EQ(run_->verdicts[name], "denied") << name << ": " << run_->details[name];
}

INSTANTIATE_TEST_SUITE_P(
    ProductionPolicy, EscapeTest,
    ::testing::Values("read-secret", "read-etc-passwd", "read-dotdot", "read-dotdot-from-file",
                      "read-symlink", "read-proc-root", "read-proc-self-root", "read-proc-outside",
                      "write-usr", "write-root", "write-file", "mknod", "tcp-connect", "tcp-listen",
                      "udp-send", "netlink", "abstract-unix", "signal-outside",
                      "signal-outside-pidfd", "ptrace-outside", "signal-init", "ptrace-init",
                      "exec-not-provided", "exec-from-tmp", "mount", "umount", "chroot",
                      "unshare-user", "unshare-mount", "clone-newuser", "setns", "keyctl",
                      "add-key", "bpf", "io-uring", "perf-event", "userfaultfd",
                      "raise-rlimit-nofile", "raise-rlimit-core", "regain-capabilities"),
    [](const ::testing::TestParamInfo<const char*>& info) {
      std::string n = info.param;
      for (char& c : n) {
        if (c == '-') c = '_';
      }
      return n;
    });

TEST_F(EscapeTest, NothingWasAllowedAndTheProgramExitedCleanly) {
  VA_REQUIRE_ROOT();
  ASSERT_NE(run_, nullptr);
  EXPECT_EQ(run_->out.find("ALLOWED"), std::string::npos) << run_->out;
  EXPECT_EQ(run_->out.find("FAILED"), std::string::npos) << run_->out;
  ASSERT_TRUE(run_->status.has_value());
  EXPECT_EQ(*run_->status, (ExitStatus{false, 0})) << run_->out;
}

TEST_F(SandboxTest, TheViewersChannelsCrossAndNothingElse) {
  // A memfd for frames and a socketpair end for notifications, as the viewer will get them.
  int memfd = ::memfd_create("frames", MFD_CLOEXEC);
  ASSERT_GE(memfd, 0);
  UniqueFd shm(memfd);
  ASSERT_EQ(::ftruncate(shm.Get(), 4096), 0);
  int sv[2];
  ASSERT_EQ(::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv), 0);
  UniqueFd ours(sv[0]), theirs(sv[1]);
  UniqueFd stray(::open("/etc/hostname", O_RDONLY));  // open here, not given: must not cross
  auto out = MakePipe();
  ASSERT_TRUE(out.has_value());
  Spec spec;
  spec.id = NewSandboxId();
  spec.scratch_root = world_.Scratch();
  spec.fds = {{out->write.Get(), 1}, {shm.Get(), 5}, {theirs.Get(), 6}};
  spec.argv = {world_.Probe(), "--sbx-id=" + spec.id, "--only=write-shared-memory,notify,open-fds",
               "--shm-fd=5",   "--notify-fd=6",       "--expect-fds=0,1,2,5,6"};
  auto sb = Create(policy_, spec);
  ASSERT_TRUE(sb.has_value()) << sb.error().message;
  out->write.Reset();
  theirs.Reset();
  std::string text;
  for (;;) {
    auto line = va::testing::ReadLineWithin(out->read.Get(), std::chrono::seconds(10));
    if (!line) break;
    text += *line + "\n";
  }
  EXPECT_NE(text.find("ok write-shared-memory"), std::string::npos) << text;
  EXPECT_NE(text.find("ok notify"), std::string::npos) << text;
  // Only 0, 1, 2, 5 and 6 are open in the program: the stray descriptor did not cross.
  EXPECT_NE(text.find("ok open-fds: open: 0,1,2,5,6"), std::string::npos) << text;
  char byte = 0;
  EXPECT_EQ(::recv(ours.Get(), &byte, 1, MSG_DONTWAIT), 1);
  EXPECT_EQ(byte, 'n');
  char frame[6] = {};
  EXPECT_EQ(::pread(shm.Get(), frame, 5, 0), 5);
  EXPECT_STREQ(frame, "frame");
  auto status = sb->Wait(MonoNow() + kDeadline);
  ASSERT_TRUE(status.has_value() && status->has_value());
  EXPECT_EQ(**status, (ExitStatus{false, 0}));
  EXPECT_TRUE(stray.Valid());
}

TEST_F(EscapeTest, TheProgramReadsItsOneFileAndWritesItsTmpfs) {
  VA_REQUIRE_ROOT();
  ASSERT_NE(run_, nullptr);
  EXPECT_EQ(run_->verdicts["read-file"], "ok") << run_->details["read-file"];
  EXPECT_EQ(run_->details["read-file"], "read 13 bytes of /input");
  EXPECT_EQ(run_->verdicts["read-file-fd"], "ok") << run_->details["read-file-fd"];
  EXPECT_EQ(run_->verdicts["write-tmp"], "ok") << run_->details["write-tmp"];
}

// --- limits ---

TEST_F(SandboxTest, ForkBombStopsAtThePidsLimit) {
  auto run = RunProbe(world_, policy_, {"--only=fork-bomb", "--forks=500"}, 0, 32);
  ASSERT_TRUE(run.has_value()) << run.error().message;
  EXPECT_EQ(run->verdicts["fork-bomb"], "denied") << run->out;
  // init and the probe count too: at most 30 more.
  EXPECT_NE(run->details["fork-bomb"].find("EAGAIN"), std::string::npos) << run->out;
}

TEST_F(SandboxTest, AllocationPastTheMemoryLimitFails) {
  auto run =
      RunProbe(world_, policy_, {"--only=allocate-past-limit", "--alloc-mb=256"}, 64ULL << 20);
  ASSERT_TRUE(run.has_value()) << run.error().message;
  EXPECT_EQ(run->verdicts["allocate-past-limit"], "denied") << run->out;
}

TEST_F(SandboxTest, AllocationBelowTheMemoryLimitWorks) {
  auto run =
      RunProbe(world_, policy_, {"--only=allocate-past-limit", "--alloc-mb=16"}, 64ULL << 20);
  ASSERT_TRUE(run.has_value()) << run.error().message;
  EXPECT_EQ(run->verdicts["allocate-past-limit"], "ALLOWED") << run->out;
}

// --- destroy ---

TEST_F(SandboxTest, DestroyWith200ProcessesLeavesNothing) {
  auto out = MakePipe();
  ASSERT_TRUE(out.has_value());
  Spec spec;
  spec.id = NewSandboxId();
  spec.scratch_root = world_.Scratch();
  spec.pids_max = 300;
  spec.fds = {{out->write.Get(), 1}};
  spec.argv = {world_.Probe(), "--sbx-id=" + spec.id, "--hold", "--children=199"};
  auto sb = Create(policy_, spec);
  ASSERT_TRUE(sb.has_value()) << sb.error().message;
  out->write.Reset();
  auto line = va::testing::ReadLineWithin(out->read.Get(), std::chrono::seconds(20));
  ASSERT_EQ(line, "ready 200");

  auto paths = sb->CgroupPaths();
  ASSERT_FALSE(paths.empty());
  auto procs = ReadSmallFile(paths[0] + "/cgroup.procs");
  ASSERT_TRUE(procs.has_value());
  std::vector<UniqueFd> members;
  std::istringstream in(*procs);
  pid_t pid;
  bool id_in_cmdline = false;
  while (in >> pid) {
    if (auto fd = PidfdOpen(pid)) members.push_back(std::move(*fd));
    auto cmdline = ReadSmallFile("/proc/" + std::to_string(pid) + "/cmdline");
    if (cmdline && cmdline->find(spec.id) != std::string::npos) id_in_cmdline = true;
  }
  EXPECT_GE(members.size(), 201u);  // init + probe + 199
  EXPECT_TRUE(id_in_cmdline) << "ps must show the sandbox id";
  std::string scratch = sb->ScratchPath();
  ASSERT_TRUE(Exists(scratch));

  auto report = sb->Destroy();
  ASSERT_TRUE(report.has_value()) << report.error().message;
  EXPECT_GE(report->processes, 201u);
  RecordProperty("destroy_ms", std::to_string(report->elapsed.count() / 1000000.0));
  for (const auto& m : members) EXPECT_TRUE(PidfdExited(m.Get()));
  for (const auto& p : paths) EXPECT_FALSE(Exists(p)) << p;
  EXPECT_FALSE(Exists(scratch));
  // A second Destroy returns the same report.
  auto again = sb->Destroy();
  ASSERT_TRUE(again.has_value());
  EXPECT_EQ(again->elapsed, report->elapsed);
}

TEST_F(SandboxTest, DestructorDestroys) {
  std::vector<std::string> paths;
  std::string scratch;
  {
    Spec spec;
    spec.id = NewSandboxId();
    spec.scratch_root = world_.Scratch();
    spec.argv = {world_.Probe(), "--sbx-id=" + spec.id, "--hold"};
    auto sb = Create(policy_, spec);
    ASSERT_TRUE(sb.has_value()) << sb.error().message;
    paths = sb->CgroupPaths();
    scratch = sb->ScratchPath();
  }
  for (const auto& p : paths) EXPECT_FALSE(Exists(p)) << p;
  EXPECT_FALSE(Exists(scratch));
}

// --- a supervisor that dies ---

TEST_F(SandboxTest, KilledSupervisorTakesTheSandboxDownAndTheSweepCleansUp) {
  SpawnOptions so;
  so.argv = {BinPath("sandbox-supervisor-helper"), "hold", "--scratch=" + world_.Scratch(),
             "--probe=" + world_.Probe(), "--children=20"};
  so.parent_death_signal = SIGKILL;
  auto helper = va::testing::StartChild({}, so, std::chrono::seconds(20));
  ASSERT_TRUE(helper.has_value()) << helper.error().message;
  std::istringstream words(helper->line);
  std::string word, id;
  pid_t init_pid = 0;
  words >> word >> id >> init_pid;
  ASSERT_EQ(word, "sandbox") << helper->line;
  std::vector<std::string> paths;
  while (words >> word) paths.push_back(word);
  auto init = PidfdOpen(init_pid);
  ASSERT_TRUE(init.has_value());
  ASSERT_FALSE(PidfdExited(init->Get()));

  ASSERT_TRUE(helper->process.Signal(SIGKILL).has_value());
  ASSERT_TRUE(helper->process.WaitExit(std::chrono::seconds(5)).value_or(false));
  helper->process.Reap();
  // init goes with its supervisor, and the whole PID namespace with init.
  auto gone = PollOne(init->Get(), POLLIN, std::chrono::seconds(5));
  ASSERT_TRUE(gone.has_value());
  EXPECT_NE(*gone, 0) << "the sandbox's init outlived its supervisor";
  // Everything in its cgroup is gone too (the v2 directory's populated flag), while the
  // directories themselves are left for the sweep.
  ASSERT_FALSE(paths.empty());
  for (const auto& p : paths) {
    EXPECT_TRUE(Exists(p)) << p;
    if (!Exists(p + "/cgroup.events")) continue;  // v1: no populated flag
    EXPECT_TRUE(WaitUnpopulated(p, std::chrono::seconds(5))) << p;
  }
  // What is left: the scratch dir and (maybe) cgroup directories.
  EXPECT_TRUE(Exists(world_.Scratch() + "/" + id));

  auto swept = Sweep(world_.Scratch());
  ASSERT_TRUE(swept.has_value()) << swept.error().message;
  EXPECT_EQ(swept->destroyed, std::vector<std::string>{id});
  EXPECT_TRUE(swept->failed.empty());
  EXPECT_FALSE(Exists(world_.Scratch() + "/" + id));
  for (const auto& p : paths) EXPECT_FALSE(Exists(p)) << p;
}

TEST_F(SandboxTest, SweepLeavesALiveSupervisorsSandboxAlone) {
  Spec spec;
  spec.id = NewSandboxId();
  spec.scratch_root = world_.Scratch();
  spec.argv = {world_.Probe(), "--sbx-id=" + spec.id, "--hold"};
  auto sb = Create(policy_, spec);
  ASSERT_TRUE(sb.has_value()) << sb.error().message;
  auto swept = Sweep(world_.Scratch());
  ASSERT_TRUE(swept.has_value());
  EXPECT_TRUE(swept->destroyed.empty());
  EXPECT_FALSE(PidfdExited(sb->PidFd()));
  EXPECT_TRUE(Exists(sb->ScratchPath()));
}

// --- refusals name their layer ---

TEST_F(SandboxTest, LandlockMinimumAboveTheKernelRefuses) {
  auto abi = ProbeLandlockAbi();
  ASSERT_TRUE(abi.has_value());
  Policy p = policy_;
  p.landlock_min_abi = *abi + 1;
  Spec spec;
  spec.id = NewSandboxId();
  spec.scratch_root = world_.Scratch();
  spec.argv = {world_.Probe(), "--sbx-id=" + spec.id};
  auto sb = Create(p, spec);
  ASSERT_FALSE(sb.has_value());
  EXPECT_EQ(sb.error().kind, ErrorKind::kUnsupported);
  EXPECT_EQ(sb.error().message, "landlock: kernel ABI " + std::to_string(*abi) +
                                    " is below the policy's minimum " + std::to_string(*abi + 1));
  EXPECT_FALSE(Exists(world_.Scratch() + "/" + spec.id));
}

TEST_F(SandboxTest, VanishedPolicyPathRefusesNamingLandlock) {
  // A policy path that vanished after the policy was built: no rule can be made for it.
  std::string gone = world_.Tmp().File("gone");
  ASSERT_EQ(::mkdir(gone.c_str(), 0755), 0);
  auto p = PolicyBuilder().ReadOnly("/usr").ReadOnly(gone).Executable(world_.Probe()).Build();
  ASSERT_TRUE(p.has_value()) << p.error().message;
  ASSERT_EQ(::rmdir(gone.c_str()), 0);
  Spec spec;
  spec.id = NewSandboxId();
  spec.scratch_root = world_.Scratch();
  spec.argv = {world_.Probe(), "--sbx-id=" + spec.id};
  auto sb = Create(*p, spec);
  ASSERT_FALSE(sb.has_value());
  EXPECT_EQ(sb.error().message.rfind("landlock: ", 0), 0u) << sb.error().message;
  EXPECT_NE(sb.error().message.find(gone), std::string::npos) << sb.error().message;
  EXPECT_FALSE(Exists(world_.Scratch() + "/" + spec.id));
}

TEST_F(SandboxTest, MountFailureInsideRefusesNamingTheMount) {
  // A tmpfs below a bound file cannot be made: the child's mount step fails and says which.
  auto p = PolicyBuilder()
               .ReadOnly("/usr")
               .ReadOnly("/etc/ld.so.cache")
               .Tmpfs("/etc/ld.so.cache/x", 1 << 20)
               .Executable(world_.Probe())
               .Build();
  ASSERT_TRUE(p.has_value()) << p.error().message;
  Spec spec;
  spec.id = NewSandboxId();
  spec.scratch_root = world_.Scratch();
  spec.argv = {world_.Probe(), "--sbx-id=" + spec.id};
  auto sb = Create(*p, spec);
  ASSERT_FALSE(sb.has_value());
  EXPECT_EQ(sb.error().message, "mount: mkdir /etc/ld.so.cache/x: Not a directory");
  EXPECT_FALSE(Exists(world_.Scratch() + "/" + spec.id));
}

TEST_F(SandboxTest, ProgramThatIsNotAnExecutableOfThePolicyIsRefused) {
  Spec spec;
  spec.id = NewSandboxId();
  spec.scratch_root = world_.Scratch();
  spec.argv = {"/usr/bin/env", spec.id};
  auto sb = Create(policy_, spec);
  ASSERT_FALSE(sb.has_value());
  EXPECT_EQ(sb.error().kind, ErrorKind::kInvalid);
  EXPECT_EQ(sb.error().message.rfind("exec: ", 0), 0u) << sb.error().message;
}

TEST_F(SandboxTest, ArgvMustCarryTheId) {
  Spec spec;
  spec.id = NewSandboxId();
  spec.scratch_root = world_.Scratch();
  spec.argv = {world_.Probe()};
  auto sb = Create(policy_, spec);
  ASSERT_FALSE(sb.has_value());
  EXPECT_EQ(sb.error().kind, ErrorKind::kInvalid);
}

TEST_F(SandboxTest, MissingProgramInsideFailsAtExec) {
  // A script: the policy allows it, but its interpreter (/bin/sh) is not executable inside.
  std::string script = world_.Tmp().File("script.sh");
  World::Write(script, "#!/bin/sh\nexit 0\n", 0755);
  auto p = PolicyBuilder().ReadOnly("/usr").ReadOnlyIfExists("/bin").Executable(script).Build();
  ASSERT_TRUE(p.has_value()) << p.error().message;
  Spec spec;
  spec.id = NewSandboxId();
  spec.scratch_root = world_.Scratch();
  spec.argv = {script, spec.id};
  auto sb = Create(*p, spec);
  ASSERT_FALSE(sb.has_value());
  EXPECT_EQ(sb.error().message.rfind("exec: execve " + script, 0), 0u) << sb.error().message;
  EXPECT_EQ(sb.error().kind, ErrorKind::kPermission);
}

// --- an unprivileged supervisor (uid 65534 through setpriv) ---

class UnprivilegedTest : public SandboxTest {
 protected:
  Result<va::testing::CommandResult> RunAsNobody(bool relaxed) {
    std::string scratch = world_.Tmp().File("nobody");
    ::mkdir(scratch.c_str(), 0700);
    if (::chown(scratch.c_str(), 65534, 65534) != 0) return SysFail("chown");
    std::vector<std::string> argv = {"setpriv",
                                     "--reuid=65534",
                                     "--regid=65534",
                                     "--clear-groups",
                                     BinPath("sandbox-supervisor-helper"),
                                     "probe",
                                     "--scratch=" + scratch,
                                     "--probe=" + world_.Probe(),
                                     "--file=" + world_.Document()};
    if (relaxed) argv.push_back("--relaxed");
    argv.insert(argv.end(), {"--", "--file=/input", "--secret=" + world_.Secret(), "--forks=100"});
    return va::testing::RunCommand(argv, std::nullopt, {}, std::chrono::seconds(60));
  }
};

TEST_F(UnprivilegedTest, ProductionPolicyWorksOrRefusesNamingTheCgroupLayer) {
  auto r = RunAsNobody(false);
  ASSERT_TRUE(r.has_value()) << r.error().message;
  if (r->out.rfind("refused", 0) == 0) {
    // No delegated cgroup for uid 65534 here: limits cannot be guaranteed, so nothing runs.
    EXPECT_NE(r->out.find("refused permission cgroup: "), std::string::npos) << r->Describe();
  } else {
    EXPECT_EQ(r->out.find("ALLOWED"), std::string::npos) << r->Describe();
    EXPECT_NE(r->out.find("exit exit 0"), std::string::npos) << r->Describe();
  }
}

TEST_F(UnprivilegedTest, WithoutRequiredLimitsEveryLayerElseHolds) {
  auto r = RunAsNobody(true);
  ASSERT_TRUE(r.has_value()) << r.error().message;
  ASSERT_EQ(r->out.find("refused"), std::string::npos) << r->Describe();
  auto run = ParseProbe(r->out);
  EXPECT_EQ(run.verdicts["read-file"], "ok") << r->Describe();
  EXPECT_EQ(run.verdicts["write-tmp"], "ok") << r->Describe();
  size_t denied = 0;
  for (const auto& [name, verdict] : run.verdicts) {
    if (name == "fork-bomb") continue;  // no pids limit without a cgroup
    EXPECT_NE(verdict, "ALLOWED") << name << ": " << run.details[name];
    EXPECT_NE(verdict, "FAILED") << name << ": " << run.details[name];
    if (verdict == "denied") ++denied;
  }
  EXPECT_GE(denied, 25u) << r->Describe();
  EXPECT_NE(r->out.find("exit exit 0"), std::string::npos) << r->Describe();
  EXPECT_NE(r->out.find("destroyed"), std::string::npos) << r->Describe();
}

}  // namespace
}  // namespace va::sandbox
