// The vault's WebRTC peer against an in-process remote webrtcbin (the test's browser stand-in),
// loopback only: offer creation, connect, first decoded frame, and CPU per 1280x720 frame
// (encode by the peer plus decode by the remote, both in this process) against the 30 fps frame
// budget. Usage: media_bench [--quick]
#include <time.h>

#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstring>
#include <mutex>
#include <string>
#include <vector>

#include "bench_util.h"
#include "vault/media/test_remote_peer.h"
#include "vault/media/webrtc_peer.h"

namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

double Ms(Clock::duration d) { return std::chrono::duration<double, std::milli>(d).count(); }

double CpuMs() {
  timespec ts{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) * 1e3 + static_cast<double>(ts.tv_nsec) / 1e6;
}

std::vector<uint8_t> Frame(int w, int h, uint8_t shade) {
  std::vector<uint8_t> f(static_cast<size_t>(w) * h * 4);
  for (size_t i = 0; i < f.size(); i += 4) {
    f[i] = shade;
    f[i + 1] = static_cast<uint8_t>(255 - shade);
    f[i + 2] = static_cast<uint8_t>((i / 4) % 251);  // some texture for the encoder
    f[i + 3] = 255;
  }
  return f;
}

struct Waiter {
  std::mutex mu;
  std::condition_variable cv;
  bool connected = false;
  Clock::time_point connected_at;
};

}  // namespace

int main(int argc, char** argv) {
  using namespace va::vault;
  const bool quick = argc > 1 && std::strcmp(argv[1], "--quick") == 0;
  const int rounds = quick ? 5 : 15;
  MediaConfig config;
  if (auto s = InitMedia(config); !s) {
    std::fprintf(stderr, "InitMedia: %s\n", s.error().message.c_str());
    return 1;
  }
  std::vector<double> offer_ms, connect_ms, first_frame_ms, first_encoded_ms, cpu_per_frame;
  for (int r = 0; r < rounds; ++r) {
    Waiter w;
    PeerOptions o;
    o.width = 1280;
    o.height = 720;
    o.session_id = "bench";
    o.callbacks.on_connected = [&w] {
      std::lock_guard lock(w.mu);
      w.connected = true;
      w.connected_at = Clock::now();
      w.cv.notify_all();
    };
    auto t0 = Clock::now();
    auto peer = WebRtcPeer::Create(o);
    if (!peer) return 1;
    auto offer = (*peer)->CreateOffer(milliseconds(5000));
    if (!offer) return 1;
    offer_ms.push_back(Ms(Clock::now() - t0));
    auto remote = testing::TestRemotePeer::Create(true, 1);
    if (!remote) return 1;
    auto answer = (*remote)->Answer(*offer, milliseconds(5000));
    if (!answer) return 1;
    auto frame = Frame(1280, 720, 10);
    (*peer)->PushFrame(frame.data(), 1280 * 4, 1280, 720);  // kept until connected
    auto t1 = Clock::now();
    if (!(*peer)->SetAnswer(*answer)) return 1;
    {
      std::unique_lock lock(w.mu);
      if (!w.cv.wait_for(lock, milliseconds(10000), [&] { return w.connected; })) return 1;
      connect_ms.push_back(Ms(w.connected_at - t1));
    }
    if (!(*remote)->WaitFrames(1, milliseconds(10000), nullptr)) return 1;
    first_frame_ms.push_back(Ms(Clock::now() - w.connected_at));
    PeerStats st = (*peer)->Stats();
    first_encoded_ms.push_back(Ms(st.first_frame_encoded_at - st.connected_at));
    if (r == 0) {  // CPU per frame: 60 changing frames at 30 fps
      const int frames = quick ? 30 : 60;
      std::vector<std::vector<uint8_t>> pictures;
      pictures.reserve(frames);
      for (int i = 0; i < frames; ++i)
        pictures.push_back(Frame(1280, 720, static_cast<uint8_t>(i * 4)));
      double cpu0 = CpuMs();
      for (int i = 0; i < frames; ++i) {
        (*peer)->PushFrame(pictures[i].data(), 1280 * 4, 1280, 720);
        if (!(*remote)->WaitFrames(2 + i, milliseconds(5000), nullptr)) break;
      }
      double per = (CpuMs() - cpu0) / frames;
      for (int i = 0; i < frames; ++i) cpu_per_frame.push_back(per);
    }
    (*peer)->Close(R"({"type":"SessionTerminated","reason":"ClientRequest"})");
  }
  std::vector<va::bench::Row> rows = {
      {"30 fps frame budget", va::bench::Summarize(std::vector<double>(rounds, 1000.0 / 30)),
       "baseline"},
      {"Create+CreateOffer (complete)", va::bench::Summarize(offer_ms), "1280x720"},
      {"SetAnswer -> on_connected", va::bench::Summarize(connect_ms), "ICE+DTLS on loopback"},
      {"connected -> first frame encoded", va::bench::Summarize(first_encoded_ms),
       "ours: the keyframe leaves the encoder"},
      {"connected -> first frame decoded", va::bench::Summarize(first_frame_ms),
       "remote jitterbuffer 1 ms"},
      {"CPU per 1280x720 frame", va::bench::Summarize(cpu_per_frame),
       "VP8 encode + decode, both here"},
  };
  va::bench::PrintTable("vault media: WebRTC peer, loopback", rows, 0);
  std::printf("InitMedia: DTLS certificate %.1f ms, throwaway peer %.1f ms\n",
              static_cast<double>(CertificateWarmupTime().count()) / 1000.0,
              static_cast<double>(PeerWarmupTime().count()) / 1000.0);
  va::bench::WriteJson("media_bench", rows,
                       ",\"cert_ms\":" + std::to_string(CertificateWarmupTime().count() / 1000.0) +
                           ",\"warmup_ms\":" + std::to_string(PeerWarmupTime().count() / 1000.0));
  return 0;
}
