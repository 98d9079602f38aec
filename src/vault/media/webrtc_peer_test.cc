// WebRtcPeer against a real remote peer: a second webrtcbin in this process plays the browser
// (test_remote_peer.h). Loopback only; every wait has a deadline.
#include "vault/media/webrtc_peer.h"

#include <dirent.h>
#include <gtest/gtest.h>

#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstring>
#include <mutex>
#include <sstream>
#include <string>
#include <vector>

#include "vault/media/test_remote_peer.h"

namespace va::vault {
namespace {

using std::chrono::milliseconds;
using testing::Pixel;
using testing::TestRemotePeer;
using Clock = std::chrono::steady_clock;

constexpr milliseconds kDeadline{10000};

MediaConfig TestConfig() {
  MediaConfig c;
  c.heartbeat_interval = milliseconds(200);
  c.heartbeat_timeout = milliseconds(1500);
  c.close_wait = milliseconds(500);
  return c;
}

class MediaEnvironment : public ::testing::Environment {
 public:
  void SetUp() override { ASSERT_TRUE(InitMedia(TestConfig()).has_value()); }
};
const auto* const kEnv = ::testing::AddGlobalTestEnvironment(new MediaEnvironment);

// Records what a peer's callbacks report.
struct Recorder {
  std::mutex mu;
  std::condition_variable cv;
  bool connected = false;
  std::vector<std::string> inputs;
  std::string closed;
  int keyframe_requests = 0;

  PeerCallbacks Callbacks() {
    return PeerCallbacks{
        [this] { Set([&] { connected = true; }); },
        [this](std::string json) { Set([&] { inputs.push_back(std::move(json)); }); },
        [this](std::string reason) { Set([&] { closed = std::move(reason); }); },
        [this] { Set([&] { ++keyframe_requests; }); },
    };
  }
  template <typename F>
  void Set(F f) {
    std::lock_guard lock(mu);
    f();
    cv.notify_all();
  }
  template <typename P>
  bool Wait(P pred, milliseconds timeout = kDeadline) {
    std::unique_lock lock(mu);
    return cv.wait_for(lock, timeout, pred);
  }
};

std::vector<uint8_t> SolidFrame(int w, int h, int stride, uint8_t b, uint8_t g, uint8_t r) {
  std::vector<uint8_t> f(static_cast<size_t>(stride) * h, 0);
  for (int y = 0; y < h; ++y) {
    for (int x = 0; x < w; ++x) {
      uint8_t* p = &f[static_cast<size_t>(y) * stride + static_cast<size_t>(x) * 4];
      p[0] = b;
      p[1] = g;
      p[2] = r;
      p[3] = 255;
    }
  }
  return f;
}

void ExpectColour(const Pixel& p, int b, int g, int r) {
  EXPECT_NEAR(p.b, b, 16);
  EXPECT_NEAR(p.g, g, 16);
  EXPECT_NEAR(p.r, r, 16);
}

std::string ThreadNames() {
  std::string out;
  DIR* d = opendir("/proc/self/task");
  if (d == nullptr) return out;
  while (dirent* e = readdir(d)) {
    if (e->d_name[0] == '.') continue;
    FILE* f = std::fopen((std::string("/proc/self/task/") + e->d_name + "/comm").c_str(), "r");
    if (f == nullptr) continue;
    char name[64] = {};
    if (std::fgets(name, sizeof name, f) != nullptr)
      out += std::string(name, strcspn(name, "\n")) + ",";
    std::fclose(f);
  }
  closedir(d);
  return out;
}

int ThreadCount() {
  int n = 0;
  DIR* d = opendir("/proc/self/task");
  if (d == nullptr) return -1;
  while (dirent* e = readdir(d)) {
    if (e->d_name[0] != '.') ++n;
  }
  closedir(d);
  return n;
}

std::vector<std::string> Lines(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    out.push_back(line);
  }
  return out;
}

struct Session {
  Recorder rec;
  std::unique_ptr<WebRtcPeer> peer;
  std::unique_ptr<TestRemotePeer> remote;
  std::string offer;
};

// Creates a peer and its remote, and negotiates; `before_answer` runs before SetAnswer.
void Negotiate(Session& s, PeerOptions options, const std::function<void()>& before_answer = {}) {
  options.callbacks = s.rec.Callbacks();
  auto peer = WebRtcPeer::Create(options);
  ASSERT_TRUE(peer.has_value()) << peer.error().message;
  s.peer = std::move(*peer);
  auto offer = s.peer->CreateOffer(kDeadline);
  ASSERT_TRUE(offer.has_value()) << offer.error().message;
  s.offer = *offer;
  auto remote = TestRemotePeer::Create();
  ASSERT_TRUE(remote.has_value()) << remote.error().message;
  s.remote = std::move(*remote);
  auto answer = s.remote->Answer(s.offer, kDeadline);
  ASSERT_TRUE(answer.has_value()) << answer.error().message;
  if (before_answer) before_answer();
  auto set = s.peer->SetAnswer(*answer);
  ASSERT_TRUE(set.has_value()) << set.error().message;
  ASSERT_TRUE(s.rec.Wait([&] { return s.rec.connected; })) << "on_connected never fired";
  ASSERT_TRUE(s.remote->WaitChannelOpen(kDeadline));
}

PeerOptions Options(int w = 320, int h = 240) {
  PeerOptions o;
  o.width = w;
  o.height = h;
  o.session_id = "ses_test";
  return o;
}

TEST(WebRtcPeer, OfferIsCompleteAndLoopbackOnly) {
  Recorder rec;
  PeerOptions o = Options();
  o.callbacks = rec.Callbacks();
  auto peer = WebRtcPeer::Create(o);
  ASSERT_TRUE(peer.has_value()) << peer.error().message;
  auto start = Clock::now();
  auto offer = (*peer)->CreateOffer(kDeadline);
  auto took = Clock::now() - start;
  ASSERT_TRUE(offer.has_value()) << offer.error().message;
  std::printf("offer: %.2f ms\n", std::chrono::duration<double, std::milli>(took).count());
  int candidates = 0;
  bool vp8 = false;
  bool application = false;
  bool end_of_candidates = false;
  for (const std::string& line : Lines(*offer)) {
    if (line.rfind("a=candidate:", 0) == 0) {
      ++candidates;
      std::istringstream in(line);
      std::string foundation, component, transport, priority, address;
      in >> foundation >> component >> transport >> priority >> address;
      EXPECT_EQ(address, "127.0.0.1") << line;
      EXPECT_EQ(transport, "UDP") << line;
    }
    if (line == "a=rtpmap:96 VP8/90000") vp8 = true;
    if (line.rfind("m=application", 0) == 0 &&
        line.find("webrtc-datachannel") != std::string::npos) {
      application = true;
    }
    if (line == "a=end-of-candidates") end_of_candidates = true;
    if (line.rfind("c=", 0) == 0) {
      EXPECT_EQ(line.find("IP6"), std::string::npos) << line;
    }
  }
  EXPECT_GE(candidates, 1) << *offer;
  EXPECT_TRUE(vp8) << *offer;
  EXPECT_TRUE(application) << *offer;
  std::printf("offer has a=end-of-candidates: %s\n", end_of_candidates ? "yes" : "no");
  EXPECT_FALSE((*peer)->CreateOffer(kDeadline).has_value());  // only once
}

TEST(WebRtcPeer, ConnectsAndStreamsOnlyAfterConnect) {
  Session s;
  const int w = 320;
  const int h = 240;
  const int stride = w * 4 + 64;  // a padded stride, like a shared-memory slot
  auto first = SolidFrame(w, h, stride, 40, 160, 200);
  Clock::time_point answer_at;
  Negotiate(s, Options(w, h), [&] {
    // Pushed before connect: kept, not encoded.
    s.peer->PushFrame(first.data(), stride, w, h);
    EXPECT_EQ(s.peer->Stats().frames_encoded, 0U);
    EXPECT_EQ(s.peer->Stats().frames_pushed, 0U);
    EXPECT_FALSE(s.peer->Connected());
    answer_at = Clock::now();
  });
  ASSERT_FALSE(HasFailure());
  std::printf("connect (answer -> on_connected): %.2f ms\n",
              std::chrono::duration<double, std::milli>(Clock::now() - answer_at).count());
  EXPECT_TRUE(s.peer->Connected());
  Pixel px;
  ASSERT_TRUE(s.remote->WaitFrames(1, kDeadline, &px)) << "the pre-connect frame never arrived";
  std::printf("first frame (answer -> decoded): %.2f ms\n",
              std::chrono::duration<double, std::milli>(Clock::now() - answer_at).count());
  ExpectColour(px, 40, 160, 200);
  EXPECT_EQ(s.remote->EncodingName(), "VP8");
  PeerStats st = s.peer->Stats();
  EXPECT_EQ(st.frames_pushed, 1U);
  EXPECT_GE(st.keyframes, 1U);

  auto second = SolidFrame(w, h, stride, 200, 30, 60);
  s.peer->PushFrame(second.data(), stride, w, h);
  ASSERT_TRUE(s.remote->WaitFrames(2, kDeadline, &px));
  ExpectColour(px, 200, 30, 60);

  // A keyframe request (PLI) re-sends the still picture as a keyframe.
  uint64_t keyframes_before = s.peer->Stats().keyframes;
  int frames_before = s.remote->FramesDecoded();
  s.remote->RequestKeyframe();
  EXPECT_TRUE(s.rec.Wait([&] { return s.rec.keyframe_requests > 0; })) << "PLI not seen";
  EXPECT_TRUE(s.remote->WaitFrames(frames_before + 1, kDeadline, &px));
  ExpectColour(px, 200, 30, 60);
  EXPECT_GT(s.peer->Stats().keyframes, keyframes_before);

  // Still picture: a data-channel round trip later, nothing more was encoded than pushed.
  ASSERT_TRUE(s.remote->Send("{\"type\":\"sync\"}").has_value());
  ASSERT_TRUE(s.rec.Wait([&] { return !s.rec.inputs.empty(); }));
  st = s.peer->Stats();
  EXPECT_EQ(st.frames_encoded, st.frames_pushed);
  EXPECT_EQ(static_cast<uint64_t>(s.remote->FramesDecoded()), st.frames_pushed);
}

TEST(WebRtcPeer, ResizesMidStream) {
  Session s;
  Negotiate(s, Options(320, 240));
  ASSERT_FALSE(HasFailure());
  auto a = SolidFrame(320, 240, 320 * 4, 10, 200, 10);
  s.peer->PushFrame(a.data(), 320 * 4, 320, 240);
  Pixel px;
  ASSERT_TRUE(s.remote->WaitFrames(1, kDeadline, &px));
  auto b = SolidFrame(640, 360, 640 * 4, 220, 220, 20);
  s.peer->PushFrame(b.data(), 640 * 4, 640, 360);
  ASSERT_TRUE(s.remote->WaitFrames(2, kDeadline, &px));
  ExpectColour(px, 220, 220, 20);
}

TEST(WebRtcPeer, DataChannelBothWays) {
  Session s;
  Negotiate(s, Options());
  ASSERT_FALSE(HasFailure());
  ASSERT_TRUE(s.remote->Send("{\"type\":\"next_page\"}").has_value());
  ASSERT_TRUE(s.rec.Wait([&] { return !s.rec.inputs.empty(); }));
  EXPECT_EQ(s.rec.inputs.front(), "{\"type\":\"next_page\"}");
  ASSERT_TRUE(s.peer->SendControl("{\"type\":\"Hello\"}").has_value());
  EXPECT_TRUE(s.remote->WaitMessage(
      [](const std::string& m) { return m == "{\"type\":\"Hello\"}"; }, kDeadline));
  // The heartbeat runs and the remote's Pongs are consumed, not passed on as input.
  EXPECT_TRUE(s.remote->WaitMessage(
      [](const std::string& m) { return m.find("\"type\":\"Ping\"") != std::string::npos; },
      kDeadline));
  ASSERT_TRUE(s.remote->Send("{\"type\":\"after\"}").has_value());
  ASSERT_TRUE(s.rec.Wait([&] { return s.rec.inputs.size() >= 2; }));
  for (const std::string& in : s.rec.inputs) EXPECT_EQ(in.find("Pong"), std::string::npos) << in;
  EXPECT_TRUE(s.rec.closed.empty());
}

TEST(WebRtcPeer, CloseSendsSessionTerminatedThenClosesTheChannel) {
  Session s;
  Negotiate(s, Options());
  ASSERT_FALSE(HasFailure());
  const std::string reason = R"({"type":"SessionTerminated","reason":"ClientRequest"})";
  auto start = Clock::now();
  s.peer->Close(reason);
  auto close_took = Clock::now() - start;
  ASSERT_TRUE(s.remote->WaitChannelClosed(milliseconds(1000)));
  auto seen = Clock::now() - start;
  std::printf("Close(): %.2f ms; remote saw the channel close after %.2f ms\n",
              std::chrono::duration<double, std::milli>(close_took).count(),
              std::chrono::duration<double, std::milli>(seen).count());
  EXPECT_LT(seen, milliseconds(1000));
  auto events = s.remote->Events();
  size_t msg = events.size();
  size_t close = events.size();
  for (size_t i = 0; i < events.size(); ++i) {
    if (events[i].kind == "message" && events[i].text == reason && msg == events.size()) msg = i;
    if (events[i].kind == "close" && close == events.size()) close = i;
  }
  ASSERT_LT(msg, events.size()) << "SessionTerminated never arrived";
  ASSERT_LT(close, events.size());
  EXPECT_LT(msg, close);
  auto ms = [&](Clock::time_point t) {
    return std::chrono::duration<double, std::milli>(t - start).count();
  };
  std::printf("remote got SessionTerminated at %.2f ms, its channel closed at %.2f ms\n",
              ms(events[msg].at), ms(events[close].at));
  EXPECT_LT(events[close].at - start, milliseconds(1000));
  EXPECT_FALSE(s.peer->Connected());
  EXPECT_FALSE(s.peer->SendControl("{}").has_value());
  s.peer->Close(reason);  // idempotent
  EXPECT_TRUE(s.rec.closed.empty()) << "on_closed must not fire after Close()";
}

TEST(WebRtcPeer, DeadRemoteTimesOutByHeartbeat) {
  Session s;
  Negotiate(s, Options());
  ASSERT_FALSE(HasFailure());
  auto start = Clock::now();
  s.remote->Kill();
  ASSERT_TRUE(s.rec.Wait([&] { return !s.rec.closed.empty(); }, milliseconds(10000)));
  EXPECT_EQ(s.rec.closed, "PeerTimeout");
  std::printf("dead remote detected after %.2f ms (timeout 1500 ms)\n",
              std::chrono::duration<double, std::milli>(Clock::now() - start).count());
}

TEST(WebRtcPeer, RemoteClosingTheChannelEndsThePeer) {
  Session s;
  Negotiate(s, Options());
  ASSERT_FALSE(HasFailure());
  s.remote->CloseChannel();
  ASSERT_TRUE(s.rec.Wait([&] { return !s.rec.closed.empty(); }));
  EXPECT_EQ(s.rec.closed, "PeerClosed");
}

TEST(WebRtcPeer, CanBeDestroyedFromItsOwnCallback) {
  Session s;
  std::mutex mu;
  std::condition_variable cv;
  bool destroyed = false;
  PeerOptions o = Options();
  Negotiate(s, o);
  ASSERT_FALSE(HasFailure());
  // Re-create with a callback that destroys the peer on the media thread.
  s.peer.reset();
  s.remote.reset();
  std::unique_ptr<WebRtcPeer> peer;
  o.callbacks.on_closed = [&](const std::string&) {
    std::lock_guard lock(mu);
    peer.reset();
    destroyed = true;
    cv.notify_all();
  };
  auto created = WebRtcPeer::Create(o);
  ASSERT_TRUE(created.has_value());
  {
    std::lock_guard lock(mu);
    peer = std::move(*created);
  }
  auto offer = peer->CreateOffer(kDeadline);
  ASSERT_TRUE(offer.has_value());
  auto remote = TestRemotePeer::Create();
  ASSERT_TRUE(remote.has_value());
  auto answer = (*remote)->Answer(*offer, kDeadline);
  ASSERT_TRUE(answer.has_value());
  ASSERT_TRUE(peer->SetAnswer(*answer).has_value());
  ASSERT_TRUE((*remote)->WaitChannelOpen(kDeadline));
  (*remote)->Kill();  // the heartbeat ends it; on_closed destroys it
  std::unique_lock lock(mu);
  EXPECT_TRUE(cv.wait_for(lock, kDeadline, [&] { return destroyed; }));
}

TEST(WebRtcPeer, RejectsGarbage) {
  auto peer = WebRtcPeer::Create(Options());
  ASSERT_TRUE(peer.has_value());
  auto early = (*peer)->SetAnswer("v=0\r\n");
  ASSERT_FALSE(early.has_value());
  EXPECT_EQ(early.error().kind, ErrorKind::kInvalid);
  ASSERT_TRUE((*peer)->CreateOffer(kDeadline).has_value());
  for (const char* bad : {"", "garbage", "v=0\r\n", "\x01\x02\x03", "v=1\r\nm=video 9 X 96\r\n"}) {
    auto r = (*peer)->SetAnswer(bad);
    ASSERT_FALSE(r.has_value()) << bad;
    EXPECT_EQ(r.error().kind, ErrorKind::kInvalid) << bad;
  }
  auto c = (*peer)->AddIceCandidate("not a candidate", "0", 0);
  ASSERT_FALSE(c.has_value());
  EXPECT_EQ(c.error().kind, ErrorKind::kInvalid);
  EXPECT_TRUE((*peer)->AddIceCandidate("", "0", 0).has_value());
  EXPECT_TRUE((*peer)
                  ->AddIceCandidate("candidate:1 1 UDP 2015363327 127.0.0.1 50000 typ host", "0", 0)
                  .has_value());
  EXPECT_FALSE(WebRtcPeer::Create(Options(8, 8)).has_value());
  PeerOptions bad_codec = Options();
  bad_codec.codec = "theora";
  EXPECT_FALSE(WebRtcPeer::Create(bad_codec).has_value());
}

TEST(WebRtcPeer, H264) {
  PeerOptions o = Options(320, 240);
  o.codec = "h264";
  Session s;
  Negotiate(s, o);
  ASSERT_FALSE(HasFailure());
  EXPECT_NE(s.offer.find("H264/90000"), std::string::npos);
  auto f = SolidFrame(320, 240, 320 * 4, 40, 160, 200);
  s.peer->PushFrame(f.data(), 320 * 4, 320, 240);
  Pixel px;
  ASSERT_TRUE(s.remote->WaitFrames(1, kDeadline, &px));
  EXPECT_EQ(s.remote->EncodingName(), "H264");
  ExpectColour(px, 40, 160, 200);
}

TEST(WebRtcPeer, ManyPeersAreCheapAndLeakNoThreads) {
  std::printf("InitMedia: certificate %.2f ms, throwaway peer+offer %.2f ms\n",
              static_cast<double>(CertificateWarmupTime().count()) / 1000.0,
              static_cast<double>(PeerWarmupTime().count()) / 1000.0);
  {  // one peer first: GStreamer's thread pools keep a few idle threads around
    auto p = WebRtcPeer::Create(Options());
    ASSERT_TRUE(p.has_value());
    ASSERT_TRUE((*p)->CreateOffer(kDeadline).has_value());
  }
  const int before = ThreadCount();
  std::vector<double> ms;
  for (int i = 0; i < 20; ++i) {
    auto start = Clock::now();
    auto p = WebRtcPeer::Create(Options());
    ASSERT_TRUE(p.has_value());
    ASSERT_TRUE((*p)->CreateOffer(kDeadline).has_value());
    ms.push_back(std::chrono::duration<double, std::milli>(Clock::now() - start).count());
  }
  const int after = ThreadCount();
  std::string figures;
  for (double m : ms) figures += std::to_string(static_cast<int>(m * 100) / 100.0) + " ";
  std::printf("20 peers, Create+CreateOffer ms: %s\nthreads before %d after %d\n", figures.c_str(),
              before, after);
  EXPECT_LE(after, before + 4) << "threads leak: " << ThreadNames();
}

}  // namespace
}  // namespace va::vault
