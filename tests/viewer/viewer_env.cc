// The viewer test harness; see viewer_env.h.
#include "viewer/viewer_env.h"

#include <gtest/gtest.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <array>
#include <cstring>
#include <sstream>

#include "base/sys.h"
#include "support/test_env.h"
#include "vault/viewer/test_documents.h"

namespace va::vault::viewer::testing {

Result<Channel> MakeChannel(int width_max, int height_max) {
  VA_TRY(FrameShm shm, FrameShm::Create(width_max, height_max));
  int fds[2];
  if (::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, fds) != 0) {
    return SysFail("socketpair");
  }
  return Channel{std::move(shm), UniqueFd(fds[0]), UniqueFd(fds[1])};
}

std::optional<ViewerMessage> ReceiveWithin(int fd, std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    pollfd p{fd, POLLIN, 0};
    int r = ::poll(&p, 1, MillisUntil(deadline));
    if (r == 0) return std::nullopt;
    if (r < 0) {
      if (errno == EINTR) continue;
      ADD_FAILURE() << "poll: " << std::strerror(errno);
      return std::nullopt;
    }
    std::array<char, kMaxMessageBytes + 1> buf;
    ssize_t n = ::recv(fd, buf.data(), buf.size(), MSG_DONTWAIT);
    if (n < 0 && (errno == EAGAIN || errno == EINTR)) continue;
    if (n <= 0) return std::nullopt;  // end of file (the viewer exited)
    const std::string text(buf.data(), static_cast<size_t>(n));
    auto parsed = ParseViewerMessage(text);
    if (!parsed) {
      ADD_FAILURE() << "the viewer sent an invalid message: " << text << ": "
                    << parsed.error().message;
      return std::nullopt;
    }
    return *parsed;
  }
}

void SendRaw(int fd, const std::string& datagram) {
  ssize_t n = ::send(fd, datagram.data(), datagram.size(), MSG_NOSIGNAL);
  EXPECT_EQ(n, static_cast<ssize_t>(datagram.size())) << "send: " << std::strerror(errno);
}

Result<ViewerRun> ViewerRun::Start(const std::string& file, int width, int height, int width_max,
                                   int height_max) {
  VA_TRY(Channel channel, MakeChannel(width_max, height_max));
  SpawnOptions so;
  so.argv = {va::testing::BinPath("vault-viewer"),
             "--sandbox-id",
             "sbx_viewertest",
             "--file",
             file,
             "--width",
             std::to_string(width),
             "--height",
             std::to_string(height)};
  so.stdin_fd = SpawnOptions::kDevNull;
  so.extra_fds = {{channel.shm.Fd(), 3}, {channel.viewer.Get(), 4}};
  so.parent_death_signal = SIGKILL;
  VA_TRY(Process process, Process::Spawn(so));
  channel.viewer.Reset();  // only the viewer holds its end: its exit is our end of file
  return ViewerRun(std::move(channel), std::move(process));
}

ViewerRun::~ViewerRun() {
  if (process_.PidFd() >= 0 && !process_.Status()) {
    (void)process_.Signal(SIGKILL);
    (void)process_.WaitExit(std::chrono::seconds(10));
    (void)process_.Reap();
  }
}

std::optional<FrameMessage> ViewerRun::NextFrame(std::chrono::milliseconds timeout) {
  auto m = Receive(timeout);
  if (!m) {
    ADD_FAILURE() << "no frame within " << timeout.count() << " ms";
    return std::nullopt;
  }
  if (const auto* f = std::get_if<FrameMessage>(&*m)) return *f;
  ADD_FAILURE() << "expected a frame, got " << Encode(*m);
  return std::nullopt;
}

std::optional<FrameMessage> ViewerRun::ReadyAndFirstFrame(ReadyMessage expected) {
  auto ready = Receive();
  if (!ready) {
    ADD_FAILURE() << "no ready message";
    return std::nullopt;
  }
  EXPECT_EQ(Encode(*ready), Encode(ViewerMessage{expected}));
  auto frame = NextFrame();
  if (frame) Release(frame->slot);
  return frame;
}

uint32_t ViewerRun::PixelAt(int slot, int x, int y) const {
  return viewer::testing::PixelAt(channel_.shm.Slot(slot), channel_.shm.Stride(), x, y);
}

uint32_t ViewerRun::Centre(const FrameMessage& frame) const {
  return PixelAt(frame.slot, frame.width / 2, frame.height / 2);
}

uint64_t ViewerRun::Hash(const FrameMessage& frame) const {
  return HashPixels(channel_.shm.Slot(frame.slot), channel_.shm.Stride(), frame.width,
                    frame.height);
}

std::optional<ExitStatus> ViewerRun::WaitExit(std::chrono::milliseconds timeout) {
  auto exited = process_.WaitExit(timeout);
  if (!exited || !*exited) return std::nullopt;
  return process_.Reap();
}

std::optional<std::chrono::milliseconds> CpuTime(pid_t pid) {
  auto stat = ReadSmallFile("/proc/" + std::to_string(pid) + "/stat");
  if (!stat) return std::nullopt;
  // Fields after the command name (which may hold spaces): state is field 3, utime 14, stime 15.
  const size_t close = stat->rfind(')');
  if (close == std::string::npos) return std::nullopt;
  std::istringstream in(stat->substr(close + 2));
  std::string field;
  uint64_t utime = 0;
  uint64_t stime = 0;
  for (int i = 3; i <= 15 && in >> field; ++i) {
    if (i == 14) utime = std::stoull(field);
    if (i == 15) stime = std::stoull(field);
  }
  const long hz = ::sysconf(_SC_CLK_TCK);
  return std::chrono::milliseconds((utime + stime) * 1000 / static_cast<uint64_t>(hz));
}

}  // namespace va::vault::viewer::testing
