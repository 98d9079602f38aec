// Benchmark: how long after a process dies does the stop call return?
//
// Each sample spawns a child (this binary in --child mode) that, on SIGTERM, writes its
// CLOCK_MONOTONIC time to a pipe and exits. The delay is the stop call's return time minus that
// time. Compared in the same run:
//   - va::StopProcess (pidfd readiness),
//   - a bare poll(2) on the pidfd (the kernel's own notification: the physical limit),
//   - the seed design: SIGTERM, then check every 100 ms whether the process is gone.
#include <signal.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include "base/sys.h"
#include "bench_util.h"
#include "proc/process.h"
#include "proc/stop.h"

namespace {

int g_report_fd = 3;

void OnTerm(int) {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  int64_t ns = static_cast<int64_t>(ts.tv_sec) * 1000000000 + ts.tv_nsec;
  ssize_t w = write(g_report_fd, &ns, sizeof(ns));
  (void)w;
  _exit(0);
}

int ChildMain() {
  struct sigaction sa {};
  sa.sa_handler = OnTerm;
  sigaction(SIGTERM, &sa, nullptr);
  char ready = 'r';
  if (write(g_report_fd, &ready, 1) != 1) return 1;
  for (;;) pause();
}

int64_t MonoNs() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1000000000 + ts.tv_nsec;
}

struct Target {
  va::Process proc;
  va::UniqueFd report;
};

Target StartTarget(const std::string& self) {
  auto pipe = va::MakePipe();
  VA_CHECK(pipe.has_value(), "pipe");
  va::SpawnOptions opt;
  opt.argv = {self, "--child"};
  opt.extra_fds = {{pipe->write.Get(), 3}};
  auto proc = va::Process::Spawn(opt);
  VA_CHECK(proc.has_value(), proc ? "" : proc.error().message);
  pipe->write.Reset();
  char ready = 0;
  VA_CHECK(read(pipe->read.Get(), &ready, 1) == 1 && ready == 'r', "child not ready");
  return Target{std::move(*proc), std::move(pipe->read)};
}

int64_t ExitTime(Target& t) {
  int64_t ns = 0;
  VA_CHECK(read(t.report.Get(), &ns, sizeof(ns)) == sizeof(ns), "no exit time from child");
  return ns;
}

double StopWithPidfd(const std::string& self) {
  Target t = StartTarget(self);
  auto r = va::StopProcess(t.proc);
  int64_t returned = MonoNs();
  VA_CHECK(r.outcome == va::StopOutcome::kExitedGracefully, "unexpected outcome");
  return static_cast<double>(returned - ExitTime(t)) / 1e6;
}

double StopWithRawPoll(const std::string& self) {
  Target t = StartTarget(self);
  VA_CHECK(t.proc.Signal(SIGTERM).value_or(false), "signal");
  auto r = va::PollOne(t.proc.PidFd(), POLLIN, std::chrono::milliseconds(-1));
  int64_t returned = MonoNs();
  VA_CHECK(r.has_value(), "poll");
  t.proc.Reap();
  return static_cast<double>(returned - ExitTime(t)) / 1e6;
}

double StopWithSleepPoll(const std::string& self, std::chrono::milliseconds interval) {
  Target t = StartTarget(self);
  pid_t pid = t.proc.Pid();
  kill(pid, SIGTERM);
  for (;;) {
    std::this_thread::sleep_for(interval);
    siginfo_t info{};
    // The seed checks kill(pid, 0) == ESRCH; for our own child that needs the zombie reaped.
    if (waitid(P_PID, static_cast<id_t>(pid), &info, WEXITED | WNOHANG) == 0 &&
        info.si_pid == pid) {
      break;
    }
  }
  int64_t returned = MonoNs();
  return static_cast<double>(returned - ExitTime(t)) / 1e6;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc > 1 && std::strcmp(argv[1], "--child") == 0) return ChildMain();
  int fast_n = 300, slow_n = 40;
  if (argc > 1 && std::strcmp(argv[1], "--quick") == 0) fast_n = 50, slow_n = 10;
  std::string self = "/proc/self/exe";
  char path[4096];
  ssize_t len = readlink("/proc/self/exe", path, sizeof(path) - 1);
  if (len > 0) self.assign(path, static_cast<size_t>(len));

  std::vector<double> pidfd, raw, poll100;
  std::fprintf(stderr, "proc_stop: %d pidfd stops", fast_n);
  for (int i = 0; i < fast_n; ++i) pidfd.push_back(StopWithPidfd(self));
  std::fprintf(stderr, ", %d raw polls", fast_n);
  for (int i = 0; i < fast_n; ++i) raw.push_back(StopWithRawPoll(self));
  std::fprintf(stderr, ", %d 100 ms polls (~%d s)\n", slow_n, slow_n / 10 + 1);
  for (int i = 0; i < slow_n; ++i)
    poll100.push_back(StopWithSleepPoll(self, std::chrono::milliseconds(100)));

  std::vector<va::bench::Row> rows = {
      {"sleep-poll every 100 ms (seed)", va::bench::Summarize(poll100), "baseline"},
      {"va::StopProcess (pidfd)", va::bench::Summarize(pidfd), "goal: median <= 1 ms"},
      {"bare poll(pidfd) (kernel limit)", va::bench::Summarize(raw), "physical limit"},
  };
  va::bench::PrintTable("Delay from a child's death to the stop call returning", rows, 0);
  va::bench::WriteJson("proc_stop", rows);
  return 0;
}
