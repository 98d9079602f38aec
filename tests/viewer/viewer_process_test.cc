// vault-viewer as vaultd runs it: a real process with a real memfd and socketpair, real files made
// in the test. Checks the protocol end to end — ready, frames of the right colour, input that
// changes the picture and input that must not, slot back-pressure, malformed messages, refusals
// with `error` and exit 1, exit 0 at end of file, no CPU while idle — and prints the measured
// start-up and render times.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <algorithm>
#include <chrono>
#include <fstream>
#include <iostream>
#include <random>

#include "support/child.h"
#include "support/test_env.h"
#include "vault/viewer/document.h"
#include "vault/viewer/test_documents.h"
#include "viewer/viewer_env.h"

namespace va::vault::viewer::testing {
namespace {

using va::testing::TempDir;

constexpr uint32_t kRed = 0xd02020;
constexpr uint32_t kBlue = 0x2040c0;
constexpr uint32_t kGreen = 0x20a040;

std::string WriteFile(const TempDir& dir, const std::string& name, const std::string& bytes) {
  std::string path = dir.File(name);
  std::ofstream(path, std::ios::binary) << bytes;
  ::chmod(path.c_str(), 0644);
  return path;
}

bool Near(uint32_t a, uint32_t b) { return NearColour(a, b, 8); }

class ViewerProcessTest : public ::testing::Test {
 protected:
  // Starts the viewer; the test fails (and returns nullopt) when it cannot be started.
  std::optional<ViewerRun> Start(const std::string& bytes, int width = 1280, int height = 720) {
    auto run = ViewerRun::Start(WriteFile(dir_, "input-" + std::to_string(++files_), bytes), width,
                                height);
    if (!run) ADD_FAILURE() << "start vault-viewer: " << run.error().message;
    if (!run) return std::nullopt;
    return std::move(*run);
  }
  // No message at all within the window (used after inputs that change nothing).
  void ExpectNoMessage(ViewerRun& run) {
    auto m = run.Receive(kNoFrameWindow);
    EXPECT_FALSE(m) << "unexpected " << Encode(*m);
  }
  void ExpectRefused(const std::string& bytes) {
    auto run = Start(bytes);
    ASSERT_TRUE(run);
    auto m = run->Receive();
    ASSERT_TRUE(m) << "no message";
    ASSERT_TRUE(std::holds_alternative<ErrorMessage>(*m)) << Encode(*m);
    EXPECT_FALSE(std::get<ErrorMessage>(*m).message.empty());
    auto status = run->WaitExit();
    ASSERT_TRUE(status) << "still running";
    EXPECT_EQ(*status, (ExitStatus{false, 1}));
  }

  TempDir dir_;
  int files_ = 0;
};

TEST_F(ViewerProcessTest, OneColourPdfGivesReadyThenAFrameOfThatColour) {
  auto run = Start(MakePdf({kRed}));
  ASSERT_TRUE(run);
  auto frame = run->ReadyAndFirstFrame({1, DocumentKind::kPdf});
  ASSERT_TRUE(frame);
  EXPECT_EQ(*frame, (FrameMessage{0, 1280, 720, 1, 1}));
  EXPECT_TRUE(Near(run->Centre(*frame), kRed)) << std::hex << run->Centre(*frame);
}

TEST_F(ViewerProcessTest, PageInputsChangeThePictureAndNoOpsProduceNoFrame) {
  auto run = Start(MakePdf({kRed, kBlue, kGreen}), 640, 480);
  ASSERT_TRUE(run);
  auto first = run->ReadyAndFirstFrame({3, DocumentKind::kPdf});
  ASSERT_TRUE(first);
  EXPECT_TRUE(Near(run->Centre(*first), kRed));

  run->Send(PrevPageMessage{});  // already on page 1
  ExpectNoMessage(*run);

  run->Send(NextPageMessage{});
  auto second = run->NextFrame();
  ASSERT_TRUE(second);
  EXPECT_EQ(second->page, 2);
  EXPECT_EQ(second->seq, 2u);
  EXPECT_NE(second->slot, first->slot);
  EXPECT_TRUE(Near(run->Centre(*second), kBlue)) << std::hex << run->Centre(*second);
  run->Release(second->slot);

  run->Send(GotoPageMessage{3});
  auto third = run->NextFrame();
  ASSERT_TRUE(third);
  EXPECT_EQ(third->page, 3);
  EXPECT_TRUE(Near(run->Centre(*third), kGreen));
  run->Release(third->slot);

  run->Send(NextPageMessage{});  // already on the last page
  run->Send(GotoPageMessage{3});
  ExpectNoMessage(*run);

  run->Send(PrevPageMessage{});
  auto back = run->NextFrame();
  ASSERT_TRUE(back);
  EXPECT_EQ(back->page, 2);
  EXPECT_TRUE(Near(run->Centre(*back), kBlue));
}

TEST_F(ViewerProcessTest, ScrollZoomResizeAndPointerChangeThePicture) {
  // A tall page, fitted to 400 px of width: 1200 px high, red above 600, blue below.
  auto run = Start(MakeTwoBandPdf(kRed, kBlue, 400, 1200), 400, 300);
  ASSERT_TRUE(run);
  auto frame = run->ReadyAndFirstFrame({1, DocumentKind::kPdf});
  ASSERT_TRUE(frame);
  EXPECT_TRUE(Near(run->Centre(*frame), kRed));

  run->Send(ScrollMessage{-50});  // already at the top
  ExpectNoMessage(*run);
  run->Send(ScrollMessage{700});
  frame = run->NextFrame();
  ASSERT_TRUE(frame);
  EXPECT_TRUE(Near(run->Centre(*frame), kBlue));
  run->Release(frame->slot);
  run->Send(ScrollMessage{5000});  // clamped to the bottom: 900
  frame = run->NextFrame();
  ASSERT_TRUE(frame);
  run->Release(frame->slot);
  run->Send(ScrollMessage{10});  // nothing left to scroll
  ExpectNoMessage(*run);

  run->Send(ZoomMessage{0.25});  // 100x300: the whole page, letterboxed at the sides
  frame = run->NextFrame();
  ASSERT_TRUE(frame);
  EXPECT_EQ(run->PixelAt(frame->slot, 10, 150), kBackgroundRgb);
  EXPECT_TRUE(Near(run->PixelAt(frame->slot, 200, 100), kRed));
  EXPECT_TRUE(Near(run->PixelAt(frame->slot, 200, 200), kBlue));
  run->Release(frame->slot);
  run->Send(ZoomMessage{0.5});  // already at the minimum zoom
  ExpectNoMessage(*run);

  run->Send(ResizeMessage{800, 200});
  frame = run->NextFrame();
  ASSERT_TRUE(frame);
  EXPECT_EQ(frame->width, 800);
  EXPECT_EQ(frame->height, 200);
  run->Release(frame->slot);
  run->Send(ResizeMessage{99999, 99999});  // clamped to the frame buffer's 1920x1080
  frame = run->NextFrame();
  ASSERT_TRUE(frame);
  EXPECT_EQ(frame->width, 1920);
  EXPECT_EQ(frame->height, 1080);
  run->Release(frame->slot);

  const uint64_t before = run->Hash(*frame);
  run->Send(PointerMessage{300, 300, 0});
  frame = run->NextFrame();
  ASSERT_TRUE(frame);
  EXPECT_NE(run->Hash(*frame), before);
  run->Release(frame->slot);
  run->Send(PointerMessage{300, 300, 0});
  ExpectNoMessage(*run);
}

TEST_F(ViewerProcessTest, NoFrameWhileBothSlotsAreHeld) {
  auto run = Start(MakePdf({kRed, kBlue}), 320, 240);
  ASSERT_TRUE(run);
  ASSERT_TRUE(run->Receive());    // ready
  auto first = run->NextFrame();  // slot 0, held
  ASSERT_TRUE(first);
  run->Send(NextPageMessage{});
  auto second = run->NextFrame();  // slot 1, held
  ASSERT_TRUE(second);
  EXPECT_NE(first->slot, second->slot);
  run->Send(PrevPageMessage{});
  ExpectNoMessage(*run);  // the picture changed, but there is nowhere to draw it
  run->Release(first->slot);
  auto third = run->NextFrame();
  ASSERT_TRUE(third);
  EXPECT_EQ(third->slot, first->slot);
  EXPECT_EQ(third->page, 1);
  EXPECT_TRUE(Near(run->Centre(*third), kRed));
  // The slot the server still holds was not touched.
  EXPECT_TRUE(Near(run->Centre(*second), kBlue));
}

TEST_F(ViewerProcessTest, MalformedMessagesAreIgnored) {
  auto run = Start(MakePdf({kRed, kBlue}), 320, 240);
  ASSERT_TRUE(run);
  ASSERT_TRUE(run->ReadyAndFirstFrame({2, DocumentKind::kPdf}));
  for (const std::string& bad :
       {std::string(), std::string("garbage"), std::string("{\"type\":\"next_page\""),
        std::string(R"({"type":"goto_page","page":"2"})"), std::string(R"({"type":"format_c"})"),
        std::string(R"({"type":"zoom","factor":1e308})"),
        std::string(R"({"type":"release","slot":7})"), std::string(R"([{"type":"next_page"}])"),
        std::string(8000, '{'), std::string("\xff\xfe\x00\x01", 4)}) {
    SendRaw(run->Socket(), bad);
  }
  ExpectNoMessage(*run);
  run->Send(NextPageMessage{});
  auto frame = run->NextFrame();
  ASSERT_TRUE(frame);
  EXPECT_EQ(frame->page, 2);
  EXPECT_TRUE(Near(run->Centre(*frame), kBlue));
}

TEST_F(ViewerProcessTest, ImagesAndTextAreShown) {
  for (const auto& [bytes, colour] : {std::pair{MakePng(320, 240, kGreen), kGreen},
                                      std::pair{MakeJpeg(320, 240, kBlue), kBlue}}) {
    auto run = Start(bytes, 640, 480);
    ASSERT_TRUE(run);
    auto frame = run->ReadyAndFirstFrame({1, DocumentKind::kImage});
    ASSERT_TRUE(frame);
    EXPECT_TRUE(NearColour(run->Centre(*frame), colour, 12)) << std::hex << run->Centre(*frame);
  }
  std::string text;
  for (int i = 1; i <= 200; ++i) text += "Line " + std::to_string(i) + ": ünïcödé ✓ text\n";
  auto run = Start(text, 640, 480);
  ASSERT_TRUE(run);
  auto ready = run->Receive();
  ASSERT_TRUE(ready);
  ASSERT_TRUE(std::holds_alternative<ReadyMessage>(*ready)) << Encode(*ready);
  const auto r = std::get<ReadyMessage>(*ready);
  EXPECT_EQ(r.kind, DocumentKind::kText);
  EXPECT_GT(r.pages, 3);  // 200 lines do not fit on a 480-pixel screen
  auto frame = run->NextFrame();
  ASSERT_TRUE(frame);
  run->Release(frame->slot);
  EXPECT_EQ(run->PixelAt(frame->slot, 630, 470), 0xffffffu);
  run->Send(NextPageMessage{});
  auto next = run->NextFrame();
  ASSERT_TRUE(next);
  EXPECT_EQ(next->page, 2);
  EXPECT_NE(run->Hash(*next), run->Hash(*frame));
}

TEST_F(ViewerProcessTest, UnusableFilesGiveErrorAndExitOne) {
  ExpectRefused("%PDF-1.4\nnot really a PDF at all\n%%EOF\n");
  ExpectRefused(MakePdf({kRed}).substr(0, 60));
  ExpectRefused(std::string("caf\xc3\x28 au lait"));  // invalid UTF-8
  ExpectRefused(MakePng(100, 100, kRed).substr(0, 50));
  ExpectRefused(std::string("\xff\xd8\xff\xe0\x00\x10JFIF", 10));

  // A path that does not exist.
  auto run = ViewerRun::Start(dir_.File("missing"));
  ASSERT_TRUE(run);
  auto m = run->Receive();
  ASSERT_TRUE(m);
  EXPECT_EQ(Encode(*m), R"({"type":"error","message":"the file cannot be read"})");
  EXPECT_EQ(run->WaitExit(), (ExitStatus{false, 1}));
}

TEST_F(ViewerProcessTest, EndOfFileOnTheSocketExitsZero) {
  auto run = Start(MakePdf({kRed}), 320, 240);
  ASSERT_TRUE(run);
  ASSERT_TRUE(run->ReadyAndFirstFrame({1, DocumentKind::kPdf}));
  run->CloseSocket();
  auto status = run->WaitExit();
  ASSERT_TRUE(status) << "still running after end of file";
  EXPECT_EQ(*status, (ExitStatus{false, 0}));
}

TEST_F(ViewerProcessTest, ExitsZeroWhenClosedBeforeReadingAnything) {
  auto run = Start(MakePdf({kRed}), 320, 240);
  ASSERT_TRUE(run);
  run->CloseSocket();
  auto status = run->WaitExit();
  ASSERT_TRUE(status);
  EXPECT_EQ(*status, (ExitStatus{false, 0}));
}

TEST_F(ViewerProcessTest, BadDescriptorsExitTwo) {
  // No frame buffer and no socket: nothing to talk to.
  auto r = va::testing::RunCommand({va::testing::BinPath("vault-viewer"), "--sandbox-id", "sbx_x",
                                    "--file", "/dev/null", "--width", "64", "--height", "64"});
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, (ExitStatus{false, 2})) << r->Describe();
}

TEST_F(ViewerProcessTest, IdleViewerUsesNoCpu) {
  auto run = Start(MakePdf({kRed}));
  ASSERT_TRUE(run);
  ASSERT_TRUE(run->ReadyAndFirstFrame({1, DocumentKind::kPdf}));
  // Let the last release be read, then watch one second of stillness.
  ExpectNoMessage(*run);
  auto before = CpuTime(run->process().Pid());
  ASSERT_TRUE(before);
  EXPECT_FALSE(run->Receive(std::chrono::milliseconds(1000)));
  auto after = CpuTime(run->process().Pid());
  ASSERT_TRUE(after);
  const auto used = *after - *before;
  std::cout << "idle CPU over 1 s: " << used.count() << " ms\n";
  RecordProperty("idle_cpu_ms", static_cast<int>(used.count()));
  EXPECT_LE(used.count(), 20) << "an idle viewer must sleep in poll";
}

TEST_F(ViewerProcessTest, MeasuresStartAndRenderTimes) {
  // Not an assertion on time: the figures are printed for the README and the benchmarks.
  for (const auto& [name, pdf] :
       {std::pair{"solid", MakePdf({kRed, kBlue})}, std::pair{"text", MakeTextPdf(60)}}) {
    const auto start = std::chrono::steady_clock::now();
    auto run = Start(pdf, 1280, 720);
    ASSERT_TRUE(run);
    ASSERT_TRUE(run->Receive());  // ready
    auto first = run->NextFrame();
    ASSERT_TRUE(first);
    const double first_ms =
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
    run->Release(first->slot);
    // Alternate two pictures (two pages, or two scroll positions of one page) so each input
    // renders a full 1280x720 frame.
    std::vector<double> renders;
    for (int i = 0; i < 20; ++i) {
      const auto t0 = std::chrono::steady_clock::now();
      run->Send(i % 2 == 0 ? ServerMessage{ScrollMessage{300}}
                           : ServerMessage{ScrollMessage{-300}});
      auto frame = run->NextFrame();
      ASSERT_TRUE(frame);
      renders.push_back(
          std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
      run->Release(frame->slot);
    }
    std::sort(renders.begin(), renders.end());
    const double median = renders[renders.size() / 2];
    std::cout << name << " PDF: spawn to first frame " << first_ms
              << " ms; input to frame at 1280x720, median of " << renders.size() << ": " << median
              << " ms\n";
    RecordProperty(std::string(name) + "_first_frame_ms", std::to_string(first_ms));
    RecordProperty(std::string(name) + "_input_to_frame_ms", std::to_string(median));
  }
}

TEST_F(ViewerProcessTest, RandomFilesNeverCrashTheViewer) {
  std::mt19937 rng(7);
  const std::vector<std::string> seeds = {MakePdf({kRed, kBlue}), MakePng(60, 40, kRed),
                                          MakeJpeg(60, 40, kBlue)};
  for (int i = 0; i < 24; ++i) {
    std::string bytes = seeds[static_cast<size_t>(i) % seeds.size()];
    if (i % 2 == 0) {
      bytes.resize(8 + rng() % (bytes.size() - 8));
    } else {
      for (int e = 0; e < 6; ++e) bytes[8 + rng() % (bytes.size() - 8)] = static_cast<char>(rng());
    }
    auto run = Start(bytes, 200, 150);
    ASSERT_TRUE(run);
    auto m = run->Receive();
    ASSERT_TRUE(m) << "case " << i << ": no message (crashed?)";
    if (std::holds_alternative<ErrorMessage>(*m)) {
      EXPECT_EQ(run->WaitExit(), (ExitStatus{false, 1})) << "case " << i;
      continue;
    }
    ASSERT_TRUE(std::holds_alternative<ReadyMessage>(*m)) << Encode(*m);
    auto frame = run->NextFrame();
    ASSERT_TRUE(frame) << "case " << i;
    run->CloseSocket();
    EXPECT_EQ(run->WaitExit(), (ExitStatus{false, 0})) << "case " << i;
  }
}

TEST_F(ViewerProcessTest, RandomMessagesNeverCrashTheViewer) {
  auto run = Start(MakePdf({kRed, kBlue, kGreen}), 320, 240);
  ASSERT_TRUE(run);
  ASSERT_TRUE(run->ReadyAndFirstFrame({3, DocumentKind::kPdf}));
  std::mt19937 rng(99);
  const std::vector<std::string> seeds = {R"({"type":"scroll","dy":-40})",
                                          R"({"type":"zoom","factor":2})",
                                          R"({"type":"goto_page","page":2})",
                                          R"({"type":"resize","width":300,"height":200})",
                                          R"({"type":"pointer","x":1,"y":2,"buttons":1})",
                                          R"({"type":"release","slot":1})"};
  for (int i = 0; i < 2000; ++i) {
    std::string s = seeds[rng() % seeds.size()];
    for (int e = 0; e < static_cast<int>(rng() % 4); ++e) {
      s[rng() % s.size()] = static_cast<char>(rng());
    }
    SendRaw(run->Socket(), s);
    // Frames may come; release them so the viewer keeps drawing.
    while (auto m = run->Receive(std::chrono::milliseconds(0))) {
      if (const auto* f = std::get_if<FrameMessage>(&*m)) run->Release(f->slot);
    }
  }
  // Still alive and still answering.
  run->Send(ReleaseMessage{0});
  run->Send(ReleaseMessage{1});
  run->Send(ResizeMessage{333, 222});
  std::optional<FrameMessage> last;
  while (auto m = run->Receive(std::chrono::milliseconds(1000))) {
    ASSERT_TRUE(std::holds_alternative<FrameMessage>(*m)) << Encode(*m);
    last = std::get<FrameMessage>(*m);
    run->Release(last->slot);
    if (last->width == 333 && last->height == 222) break;
  }
  ASSERT_TRUE(last);
  EXPECT_EQ(last->width, 333);
  run->CloseSocket();
  EXPECT_EQ(run->WaitExit(), (ExitStatus{false, 0}));
}

}  // namespace
}  // namespace va::vault::viewer::testing
