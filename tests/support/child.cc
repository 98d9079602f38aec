// Process helpers for tests; see child.h.
#include "support/child.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <sstream>
#include <utility>

#include "base/clock.h"
#include "base/sys.h"
#include "support/test_env.h"

namespace va {

void PrintTo(const ExitStatus& status, std::ostream* os) { *os << status.ToString(); }
void PrintTo(StopOutcome outcome, std::ostream* os) { *os << StopOutcomeName(outcome); }

}  // namespace va

namespace va::testing {

using std::chrono::milliseconds;

std::optional<std::string> ReadLineWithin(int fd, milliseconds timeout) {
  const MonoTime deadline = MonoNow() + timeout;
  std::string line;
  for (;;) {
    auto ready = PollOne(fd, POLLIN, milliseconds(MillisUntil(deadline)));
    if (!ready || *ready == 0) return std::nullopt;
    char c;
    auto n = Read(fd, {&c, 1});
    if (!n || *n == 0) return std::nullopt;
    if (c == '\n') return line;
    line += c;
  }
}

Result<StartedChild> StartChild(const std::vector<std::string>& args, SpawnOptions options,
                                milliseconds ready_timeout) {
  VA_TRY(Pipe out, MakePipe());
  if (options.argv.empty()) options.argv = {BinPath("va-test-child")};
  options.argv.insert(options.argv.end(), args.begin(), args.end());
  options.stdout_fd = out.write.Get();
  VA_TRY(Process process, Process::Spawn(options));
  out.write.Reset();
  auto line = ReadLineWithin(out.read.Get(), ready_timeout);
  if (!line) {
    (void)process.Signal(SIGKILL);
    (void)process.WaitExit(std::chrono::seconds(5));
    process.Reap();
    return Fail(ErrorKind::kTimeout, "no readiness line from " + options.argv[0]);
  }
  return StartedChild{std::move(process), std::move(out.read), *line};
}

std::string CommandResult::Describe() const {
  std::string s = status ? status->ToString() : std::string("not reaped");
  if (timed_out) s += " (timed out)";
  return s + "\n--- stdout ---\n" + out + "--- stderr ---\n" + err;
}

struct RunningCommand::State {
  Process process;
  UniqueFd in, out, err;
  std::string stdin_text;
  size_t stdin_written = 0;
  std::string out_text, err_text;
  bool finished = false;

  // Moves data between the pipes and the buffers until `done()` holds (true) or the deadline
  // passes or there is nothing left to wait for (false).
  template <typename Done>
  bool Pump(MonoTime deadline, Done done) {
    for (;;) {
      if (done()) return true;
      pollfd fds[3];
      nfds_t n = 0;
      int in_slot = -1, out_slot = -1, err_slot = -1;
      if (in) {
        in_slot = static_cast<int>(n);
        fds[n++] = {in.Get(), POLLOUT, 0};
      }
      if (out) {
        out_slot = static_cast<int>(n);
        fds[n++] = {out.Get(), POLLIN, 0};
      }
      if (err) {
        err_slot = static_cast<int>(n);
        fds[n++] = {err.Get(), POLLIN, 0};
      }
      if (n == 0) return false;
      int r = ::poll(fds, n, MillisUntil(deadline));
      if (r < 0 && errno == EINTR) continue;
      if (r <= 0) return false;
      if (in_slot >= 0 && fds[in_slot].revents != 0) WriteSome();
      if (out_slot >= 0 && fds[out_slot].revents != 0) ReadSome(out, out_text);
      if (err_slot >= 0 && fds[err_slot].revents != 0) ReadSome(err, err_text);
    }
  }

  void WriteSome() {
    std::string_view rest = std::string_view(stdin_text).substr(stdin_written);
    ssize_t n = ::write(in.Get(), rest.data(), rest.size());
    if (n < 0 && (errno == EINTR || errno == EAGAIN)) return;
    if (n < 0) {  // EPIPE: the command stopped reading
      in.Reset();
      return;
    }
    stdin_written += static_cast<size_t>(n);
    if (stdin_written == stdin_text.size()) in.Reset();
  }

  static void ReadSome(UniqueFd& fd, std::string& text) {
    char buf[4096];
    auto n = Read(fd.Get(), buf);
    if (!n || *n == 0) {
      fd.Reset();
      return;
    }
    text.append(buf, *n);
  }

  void KillAndReap() {
    (void)process.Signal(SIGKILL);
    (void)process.WaitExit(std::chrono::seconds(5));
    process.Reap();
  }
};

RunningCommand::RunningCommand(std::unique_ptr<State> state) : state_(std::move(state)) {}
RunningCommand::RunningCommand(RunningCommand&&) noexcept = default;
RunningCommand& RunningCommand::operator=(RunningCommand&&) noexcept = default;

RunningCommand::~RunningCommand() {
  if (state_ && !state_->finished) state_->KillAndReap();
}

Result<RunningCommand> RunningCommand::Start(const std::vector<std::string>& argv,
                                             const std::optional<std::vector<std::string>>& env,
                                             std::string stdin_text) {
  // A write to a command that stopped reading must fail with EPIPE, not kill the test. Spawned
  // children get default dispositions back, so this does not leak into them.
  ::signal(SIGPIPE, SIG_IGN);
  VA_TRY(Pipe out, MakePipe());
  VA_TRY(Pipe err, MakePipe());
  std::optional<Pipe> in;
  SpawnOptions options;
  options.argv = argv;
  options.env = env;
  options.stdout_fd = out.write.Get();
  options.stderr_fd = err.write.Get();
  options.stdin_fd = SpawnOptions::kDevNull;
  if (!stdin_text.empty()) {
    VA_TRY(in, MakePipe());
    options.stdin_fd = in->read.Get();
    int flags = ::fcntl(in->write.Get(), F_GETFL);
    if (flags < 0 || ::fcntl(in->write.Get(), F_SETFL, flags | O_NONBLOCK) != 0) {
      return SysFail("fcntl O_NONBLOCK");
    }
  }
  VA_TRY(Process process, Process::Spawn(options));
  auto state = std::make_unique<State>(State{std::move(process)});
  state->out = std::move(out.read);
  state->err = std::move(err.read);
  if (in) state->in = std::move(in->write);
  state->stdin_text = std::move(stdin_text);
  return RunningCommand(std::move(state));
}

pid_t RunningCommand::Pid() const { return state_->process.Pid(); }
const Process& RunningCommand::process() const { return state_->process; }
const std::string& RunningCommand::Out() const { return state_->out_text; }
const std::string& RunningCommand::Err() const { return state_->err_text; }

bool RunningCommand::WaitForLine(std::string_view line, milliseconds timeout) {
  return state_->Pump(MonoNow() + timeout, [&] {
    const std::string& out = state_->out_text;
    // Only complete lines count: the text up to the last newline.
    auto end = out.rfind('\n');
    return end != std::string::npos && HasLine(std::string_view(out).substr(0, end + 1), line);
  });
}

CommandResult RunningCommand::Finish(milliseconds timeout) {
  State& s = *state_;
  const MonoTime deadline = MonoNow() + timeout;
  bool drained = s.Pump(deadline, [&] { return !s.out && !s.err; });
  CommandResult result;
  auto exited = drained ? s.process.WaitExitUntil(deadline) : Result<bool>(false);
  if (!exited || !*exited) {
    result.timed_out = true;
    s.KillAndReap();
  }
  s.in.Reset();
  // Anything written just before the end (or the kill) is still in the pipes.
  s.Pump(MonoNow() + milliseconds(100), [&] { return !s.out && !s.err; });
  result.status = s.process.Reap();
  result.out = std::move(s.out_text);
  result.err = std::move(s.err_text);
  s.finished = true;
  return result;
}

Result<CommandResult> RunCommand(const std::vector<std::string>& argv,
                                 const std::optional<std::vector<std::string>>& env,
                                 std::string stdin_text, milliseconds timeout) {
  VA_TRY(RunningCommand command, RunningCommand::Start(argv, env, std::move(stdin_text)));
  return command.Finish(timeout);
}

std::vector<std::string> Lines(std::string_view text) {
  std::vector<std::string> lines;
  while (!text.empty()) {
    auto nl = text.find('\n');
    lines.emplace_back(text.substr(0, nl));
    if (nl == std::string_view::npos) break;
    text.remove_prefix(nl + 1);
  }
  return lines;
}

bool HasLine(std::string_view text, std::string_view line) {
  for (const auto& l : Lines(text)) {
    if (l == line) return true;
  }
  return false;
}

std::optional<uint64_t> PendingSignals(pid_t pid) {
  auto status = ReadSmallFile("/proc/" + std::to_string(pid) + "/status");
  if (!status) return std::nullopt;
  uint64_t pending = 0;
  std::istringstream lines(*status);
  std::string line;
  while (std::getline(lines, line)) {
    if (line.starts_with("SigPnd:") || line.starts_with("ShdPnd:")) {
      pending |= std::stoull(line.substr(7), nullptr, 16);
    }
  }
  return pending;
}

void ReapStrays() {
  while (::waitpid(-1, nullptr, WNOHANG) > 0) {
  }
}

}  // namespace va::testing
