// Shared helpers for tests that run real processes: start a helper program and wait for its
// readiness line (never a sleep), read a line from a pipe with a deadline, run a command to
// completion collecting its exit status, stdout and stderr, inspect the signals pending on a
// process, reap stray children, and print ExitStatus / StopOutcome readably in GoogleTest
// messages. Every wait has a deadline; a helper that gives up says so in its result instead of
// hanging the test.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <ostream>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"
#include "base/unique_fd.h"
#include "proc/process.h"
#include "proc/stop.h"

namespace va {

// Readable values in test failure messages (found by argument-dependent lookup).
void PrintTo(const ExitStatus& status, std::ostream* os);
void PrintTo(StopOutcome outcome, std::ostream* os);

}  // namespace va

namespace va::testing {

inline constexpr std::chrono::milliseconds kReadyTimeout(5000);

// One line from `fd` (without the newline), waiting at most `timeout` in all; nullopt on timeout,
// end of file or error. Reads one byte at a time, so nothing after the line is consumed.
std::optional<std::string> ReadLineWithin(int fd, std::chrono::milliseconds timeout);

// A helper program that has written its readiness line.
struct StartedChild {
  Process process;
  UniqueFd out;      // read end of the child's stdout, for lines it writes later
  std::string line;  // the readiness line
};

// Spawns va-test-child with `args` (or, when options.argv is not empty, that program and its
// arguments followed by `args`), its stdout to a new pipe, and waits at most `ready_timeout` for
// its first line. Fails with the spawn error, or with kTimeout (after killing and reaping the
// child) when no line arrives in time. The child is never signalled once started: stopping it is
// the caller's business.
Result<StartedChild> StartChild(const std::vector<std::string>& args, SpawnOptions options = {},
                                std::chrono::milliseconds ready_timeout = kReadyTimeout);

// What a command did.
struct CommandResult {
  std::optional<ExitStatus> status;  // nullopt only when it could not be reaped
  std::string out;
  std::string err;
  bool timed_out = false;  // it was still running at the deadline and was killed (SIGKILL)

  // "exit 1" plus both outputs, for failure messages.
  std::string Describe() const;
};

// A command started with pipes on its stdin, stdout and stderr. Move-only; destroying one that has
// not been finished kills (SIGKILL) and reaps it, so a failing test leaves no process behind.
class RunningCommand {
 public:
  // Spawns `argv` with exactly `env` ("K=V" strings; nullopt inherits this environment), writing
  // `stdin_text` to its stdin and then closing it (stdin is /dev/null when the text is empty).
  static Result<RunningCommand> Start(
      const std::vector<std::string>& argv,
      const std::optional<std::vector<std::string>>& env = std::nullopt,
      std::string stdin_text = {});

  RunningCommand(RunningCommand&&) noexcept;
  RunningCommand& operator=(RunningCommand&&) noexcept;
  ~RunningCommand();

  pid_t Pid() const;
  const Process& process() const;
  // Output collected so far.
  const std::string& Out() const;
  const std::string& Err() const;

  // Collects output until stdout holds the complete line `line`; false when the deadline passes
  // or stdout ends first.
  bool WaitForLine(std::string_view line, std::chrono::milliseconds timeout);

  // Collects both outputs until end of file and waits for the exit, at most `timeout` in all;
  // at the deadline the command is killed and reaped and `timed_out` is set.
  CommandResult Finish(std::chrono::milliseconds timeout);

 private:
  struct State;
  explicit RunningCommand(std::unique_ptr<State> state);
  std::unique_ptr<State> state_;
};

// Runs `argv` to completion (see RunningCommand). Fails only when it cannot be started.
Result<CommandResult> RunCommand(const std::vector<std::string>& argv,
                                 const std::optional<std::vector<std::string>>& env = std::nullopt,
                                 std::string stdin_text = {},
                                 std::chrono::milliseconds timeout = std::chrono::seconds(10));

// The lines of `text` (split on '\n'; a final line without newline counts).
std::vector<std::string> Lines(std::string_view text);
// True when `text` has a line exactly equal to `line`.
bool HasLine(std::string_view text, std::string_view line);

// Signals pending for `pid`, thread and process-wide (SigPnd | ShdPnd of /proc/PID/status);
// nullopt when the process cannot be read.
std::optional<uint64_t> PendingSignals(pid_t pid);
constexpr uint64_t SignalBit(int sig) { return uint64_t{1} << (sig - 1); }

// Reaps every child of this process that has exited, without blocking.
void ReapStrays();

}  // namespace va::testing
