// vault-viewer inside a real sandbox made with the production policy, exactly as a session runs
// it: va::sandbox::Create(ViewerPolicy(vault-viewer), spec) with the PDF at /input and the frame
// buffer and socket as fds 3 and 4. Needs root (CI has it); skips with the reason otherwise. (In
// sanitizer builds vault-viewer itself is built without sanitizers: see apps/CMakeLists.txt.)
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <chrono>
#include <fstream>
#include <iostream>

#include "base/clock.h"
#include "sandbox/policy.h"
#include "sandbox/sandbox.h"
#include "support/test_env.h"
#include "vault/viewer/test_documents.h"
#include "viewer/viewer_env.h"

namespace va::vault::viewer::testing {
namespace {

using va::testing::BinPath;
using va::testing::TempDir;

constexpr uint32_t kRed = 0xd02020;
constexpr uint32_t kBlue = 0x2040c0;

class ViewerSandboxTest : public ::testing::Test {
 protected:
  void SetUp() override {
    VA_REQUIRE_ROOT();
    ::chmod(dir_.Path().c_str(), 0711);  // the viewer runs as nobody
    scratch_ = dir_.File("scratch");
    ASSERT_EQ(::mkdir(scratch_.c_str(), 0711), 0);
  }

  std::string Write(const std::string& name, const std::string& bytes) {
    std::string path = dir_.File(name);
    std::ofstream(path, std::ios::binary) << bytes;
    ::chmod(path.c_str(), 0644);
    return path;
  }

  // Starts the viewer in a sandbox on `file`; the channel's server end stays in `channel`.
  Result<sandbox::Sandbox> StartSandboxed(const std::string& file, Channel& channel, int width,
                                          int height) {
    VA_TRY(sandbox::Policy policy, sandbox::ViewerPolicy(BinPath("vault-viewer")));
    sandbox::Spec spec;
    spec.id = sandbox::NewSandboxId();
    spec.argv = {BinPath("vault-viewer"),
                 "--sandbox-id",
                 spec.id,
                 "--file",
                 "/input",
                 "--width",
                 std::to_string(width),
                 "--height",
                 std::to_string(height)};
    spec.file = file;
    spec.fds = {{channel.shm.Fd(), 3}, {channel.viewer.Get(), 4}};
    spec.scratch_root = scratch_;
    auto box = sandbox::Create(policy, spec);
    channel.viewer.Reset();
    return box;
  }

  TempDir dir_;
  std::string scratch_;
};

TEST_F(ViewerSandboxTest, RendersAPdfInsideTheProductionSandbox) {
  auto channel = MakeChannel(1280, 720);
  ASSERT_TRUE(channel) << channel.error().message;
  const std::string pdf = Write("doc.pdf", MakePdf({kRed, kBlue}));
  const auto start = MonoNow();
  auto box = StartSandboxed(pdf, *channel, 1280, 720);
  ASSERT_TRUE(box) << box.error().message;
  const int fd = channel->server.Get();

  auto ready = ReceiveWithin(fd, kMessageTimeout);
  ASSERT_TRUE(ready) << "no message from the sandboxed viewer (see its exit status below)";
  ASSERT_EQ(Encode(*ready), R"({"type":"ready","pages":2,"kind":"pdf"})");
  auto first = ReceiveWithin(fd, kMessageTimeout);
  ASSERT_TRUE(first && std::holds_alternative<FrameMessage>(*first));
  const auto frame = std::get<FrameMessage>(*first);
  // A figure for the README, not an assertion.
  const double first_ms = std::chrono::duration<double, std::milli>(MonoNow() - start).count();
  std::cout << "sandbox Create to first frame: " << first_ms << " ms\n";
  RecordProperty("sandboxed_first_frame_ms", std::to_string(first_ms));
  EXPECT_EQ(frame, (FrameMessage{0, 1280, 720, 1, 1}));
  EXPECT_TRUE(NearColour(PixelAt(channel->shm.Slot(0), channel->shm.Stride(), 640, 360), kRed));

  SendRaw(fd, Encode(ServerMessage{NextPageMessage{}}));
  auto second = ReceiveWithin(fd, kMessageTimeout);
  ASSERT_TRUE(second && std::holds_alternative<FrameMessage>(*second));
  EXPECT_EQ(std::get<FrameMessage>(*second).slot, 1);
  EXPECT_TRUE(NearColour(PixelAt(channel->shm.Slot(1), channel->shm.Stride(), 640, 360), kBlue));

  channel->server.Reset();  // end of file: the viewer exits 0, and so does the sandbox's init
  auto status = box->Wait(MonoNow() + std::chrono::seconds(10));
  ASSERT_TRUE(status) << status.error().message;
  ASSERT_TRUE(*status) << "the viewer did not exit at end of file";
  EXPECT_EQ(**status, (ExitStatus{false, 0}));
  auto destroyed = box->Destroy();
  EXPECT_TRUE(destroyed) << destroyed.error().message;
}

TEST_F(ViewerSandboxTest, RendersTextInsideTheProductionSandbox) {
  auto channel = MakeChannel(640, 480);
  ASSERT_TRUE(channel) << channel.error().message;
  auto box =
      StartSandboxed(Write("notes.txt", "Hello from inside the sandbox.\n"), *channel, 640, 480);
  ASSERT_TRUE(box) << box.error().message;
  auto ready = ReceiveWithin(channel->server.Get(), kMessageTimeout);
  ASSERT_TRUE(ready) << "no message from the sandboxed viewer";
  EXPECT_EQ(Encode(*ready), R"({"type":"ready","pages":1,"kind":"text"})");
  auto frame = ReceiveWithin(channel->server.Get(), kMessageTimeout);
  ASSERT_TRUE(frame && std::holds_alternative<FrameMessage>(*frame));
  int dark = 0;
  for (int y = 0; y < 60; ++y) {
    for (int x = 0; x < 300; ++x) {
      dark += (PixelAt(channel->shm.Slot(0), channel->shm.Stride(), x, y) & 0xff) < 0x80 ? 1 : 0;
    }
  }
  EXPECT_GT(dark, 50) << "no glyphs: fonts unreachable inside the sandbox?";
  channel->server.Reset();
  auto status = box->Wait(MonoNow() + std::chrono::seconds(10));
  ASSERT_TRUE(status && *status);
  EXPECT_EQ(**status, (ExitStatus{false, 0}));
}

}  // namespace
}  // namespace va::vault::viewer::testing
