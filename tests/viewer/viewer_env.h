// Test support for process-level viewer tests: a real vault-viewer started with a real memfd frame
// buffer (fd 3) and one end of a SOCK_SEQPACKET socketpair (fd 4), as vaultd starts it. The test
// keeps the other end: it receives the viewer's messages with a deadline, sends input, reads the
// pixels of announced frames, and waits for the exit through the pidfd. Destroying a ViewerRun
// that still runs kills and reaps the viewer, so a failing test leaves nothing behind.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "base/result.h"
#include "base/unique_fd.h"
#include "proc/process.h"
#include "vault/viewer/frame_shm.h"
#include "vault/viewer/protocol.h"

namespace va::vault::viewer::testing {

inline constexpr std::chrono::milliseconds kMessageTimeout(10000);
// How long an input that changes nothing is watched for a frame that must not come.
inline constexpr std::chrono::milliseconds kNoFrameWindow(300);

// Both ends of the channel the server side holds: the frame buffer and its socket end, and the
// viewer's socket end to pass as fd 4.
struct Channel {
  FrameShm shm;
  UniqueFd server;
  UniqueFd viewer;
};
Result<Channel> MakeChannel(int width_max = 1920, int height_max = 1080);

// A SOCK_SEQPACKET message within `timeout`: the parsed message, or nullopt on timeout or EOF.
// A datagram that does not parse aborts the test (the viewer must only send valid messages).
std::optional<ViewerMessage> ReceiveWithin(int fd, std::chrono::milliseconds timeout);
// Sends one datagram (the raw text).
void SendRaw(int fd, const std::string& datagram);

class ViewerRun {
 public:
  // Starts BinPath("vault-viewer") on `file` at width x height with a fresh channel.
  static Result<ViewerRun> Start(const std::string& file, int width = 1280, int height = 720,
                                 int width_max = 1920, int height_max = 1080);

  ViewerRun(ViewerRun&&) noexcept = default;
  ViewerRun& operator=(ViewerRun&&) noexcept = default;
  ~ViewerRun();

  Process& process() { return process_; }
  const FrameShm& Shm() const { return channel_.shm; }
  int Socket() const { return channel_.server.Get(); }

  std::optional<ViewerMessage> Receive(std::chrono::milliseconds timeout = kMessageTimeout) {
    return ReceiveWithin(Socket(), timeout);
  }
  // The next message, which must be a frame (nullopt and a test failure otherwise).
  std::optional<FrameMessage> NextFrame(std::chrono::milliseconds timeout = kMessageTimeout);
  void Send(const ServerMessage& message) { SendRaw(Socket(), Encode(message)); }
  // Tells the viewer the slot is free again.
  void Release(int slot) { Send(ReleaseMessage{slot}); }
  // Waits for `ready`, then the first frame, which it releases. Failures are test failures.
  std::optional<FrameMessage> ReadyAndFirstFrame(ReadyMessage expected);

  // 0xRRGGBB of a pixel of the frame in `slot`; centre of a frame; hash of a frame.
  uint32_t PixelAt(int slot, int x, int y) const;
  uint32_t Centre(const FrameMessage& frame) const;
  uint64_t Hash(const FrameMessage& frame) const;

  // Closes the server's socket end (the viewer sees end of file).
  void CloseSocket() { channel_.server.Reset(); }
  // Waits for the exit (pidfd) and returns the status; nullopt at the deadline.
  std::optional<ExitStatus> WaitExit(std::chrono::milliseconds timeout = kMessageTimeout);

 private:
  ViewerRun(Channel channel, Process process)
      : channel_(std::move(channel)), process_(std::move(process)) {}
  Channel channel_;
  Process process_;
};

// CPU time (user + system) of a running process so far, from /proc/PID/stat.
std::optional<std::chrono::milliseconds> CpuTime(pid_t pid);

}  // namespace va::vault::viewer::testing
