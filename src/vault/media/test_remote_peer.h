// TestRemotePeer: a second webrtcbin in the test process that plays the browser. It answers an
// offer (ICE on 127.0.0.1 only, UPnP off), decodes the video (VP8 or H.264) into an appsink,
// and records data-channel events in order. Waits take deadlines; nothing sleeps.
#pragma once

#include <gst/gst.h>

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "base/result.h"
#include "vault/media/gst_util.h"

namespace va::vault::testing {

struct Pixel {
  int b = 0, g = 0, r = 0;
};

class TestRemotePeer {
 public:
  struct Event {
    std::string kind;  // "message", "close", "open"
    std::string text;
    std::chrono::steady_clock::time_point at;
  };

  // latency_ms: the receiver's jitter-buffer latency (webrtcbin's default 200 when negative).
  static Result<std::unique_ptr<TestRemotePeer>> Create(bool auto_pong = true, int latency_ms = -1);
  ~TestRemotePeer();
  TestRemotePeer(const TestRemotePeer&) = delete;
  TestRemotePeer& operator=(const TestRemotePeer&) = delete;

  // The complete answer to `offer` (its own candidates inline).
  Result<std::string> Answer(const std::string& offer, std::chrono::milliseconds timeout);

  bool WaitConnected(std::chrono::milliseconds timeout);
  bool WaitChannelOpen(std::chrono::milliseconds timeout);
  bool WaitChannelClosed(std::chrono::milliseconds timeout);
  // Waits until `count` frames were decoded; returns the centre pixel of the newest one.
  bool WaitFrames(int count, std::chrono::milliseconds timeout, Pixel* centre);
  // Waits for a message satisfying pred; returns it in *out.
  bool WaitMessage(const std::function<bool(const std::string&)>& pred,
                   std::chrono::milliseconds timeout, std::string* out = nullptr);
  Status Send(const std::string& text);
  // Asks the sender for a keyframe the way a decoder does (upstream GstForceKeyUnit → PLI).
  void RequestKeyframe();
  // Closes the data channel as a page does when it goes away.
  void CloseChannel();
  // Stops the whole peer (state NULL) without telling the other side: a killed browser.
  void Kill();

  int FramesDecoded();
  std::vector<Event> Events();
  std::string EncodingName();

 private:
  TestRemotePeer() = default;
  static void OnPadAdded(GstElement* webrtc, GstPad* pad, gpointer self);
  static void OnDataChannel(GstElement* webrtc, GObject* channel, gpointer self);
  static void OnGathering(GstElement* webrtc, GParamSpec*, gpointer self);
  static void OnConnection(GstElement* webrtc, GParamSpec*, gpointer self);
  static GstFlowReturn OnSample(GstElement* sink, gpointer self);
  static void OnOpen(GObject* channel, gpointer self);
  static void OnClose(GObject* channel, gpointer self);
  static void OnString(GObject* channel, gchar* text, gpointer self);

  media_internal::ElementPtr pipeline_;
  GstElement* webrtc_ = nullptr;
  GstElement* depay_ = nullptr;
  GstElement* appsink_ = nullptr;
  GstElement* rtpbin_ = nullptr;

  std::mutex mu_;
  std::condition_variable cv_;
  bool auto_pong_ = true;
  bool gathered_ = false;
  bool connected_ = false;
  bool open_ = false;
  bool closed_ = false;
  bool killed_ = false;
  GObject* channel_ = nullptr;  // owned reference
  std::vector<Event> events_;
  int frames_ = 0;
  Pixel centre_;
  std::string encoding_;
};

}  // namespace va::vault::testing
