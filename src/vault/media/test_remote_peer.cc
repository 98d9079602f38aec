// See test_remote_peer.h.
#include "vault/media/test_remote_peer.h"

#include <gst/app/gstappsink.h>
#include <gst/video/video.h>
#include <gst/webrtc/webrtc.h>

#include <cstring>

namespace va::vault::testing {

using media_internal::ElementPtr;
using media_internal::MakeElement;
using media_internal::PromiseWaiter;

Result<std::unique_ptr<TestRemotePeer>> TestRemotePeer::Create(bool auto_pong, int latency_ms) {
  std::unique_ptr<TestRemotePeer> p(new TestRemotePeer);
  p->auto_pong_ = auto_pong;
  p->pipeline_ = ElementPtr(GST_ELEMENT(gst_object_ref_sink(gst_pipeline_new("remote"))));
  VA_TRY(ElementPtr webrtc, MakeElement("webrtcbin"));
  gst_util_set_object_arg(G_OBJECT(webrtc.get()), "bundle-policy", "max-bundle");
  if (latency_ms >= 0)
    g_object_set(webrtc.get(), "latency", static_cast<guint>(latency_ms), nullptr);
  VA_TRY_STATUS(media_internal::RestrictIce(webrtc.get(), {"127.0.0.1"}));
  p->webrtc_ = webrtc.get();
  // A still picture is one RTP packet; rtpsession's default probation (2 packets) would drop it.
  // Browsers have no probation, so neither does the test's browser.
  GstIterator* it = gst_bin_iterate_elements(GST_BIN(webrtc.get()));
  GValue item = G_VALUE_INIT;
  while (gst_iterator_next(it, &item) == GST_ITERATOR_OK) {
    auto* child = GST_ELEMENT(g_value_get_object(&item));
    GstElementFactory* f = gst_element_get_factory(child);
    if (f != nullptr && std::strcmp(GST_OBJECT_NAME(f), "rtpbin") == 0) {
      p->rtpbin_ = child;  // owned by webrtcbin
    }
    g_value_reset(&item);
  }
  g_value_unset(&item);
  gst_iterator_free(it);
  gst_bin_add(GST_BIN(p->pipeline_.get()), webrtc.get());
  g_signal_connect(p->webrtc_, "pad-added", G_CALLBACK(&TestRemotePeer::OnPadAdded), p.get());
  g_signal_connect(p->webrtc_, "on-data-channel", G_CALLBACK(&TestRemotePeer::OnDataChannel),
                   p.get());
  g_signal_connect(p->webrtc_, "notify::ice-gathering-state",
                   G_CALLBACK(&TestRemotePeer::OnGathering), p.get());
  g_signal_connect(p->webrtc_, "notify::connection-state",
                   G_CALLBACK(&TestRemotePeer::OnConnection), p.get());
  if (gst_element_set_state(p->pipeline_.get(), GST_STATE_PLAYING) == GST_STATE_CHANGE_FAILURE) {
    return Fail(ErrorKind::kUnsupported, "remote pipeline refused to start");
  }
  return p;
}

TestRemotePeer::~TestRemotePeer() {
  if (pipeline_) gst_element_set_state(pipeline_.get(), GST_STATE_NULL);
  if (webrtc_ != nullptr) g_signal_handlers_disconnect_by_data(webrtc_, this);
  if (appsink_ != nullptr) g_signal_handlers_disconnect_by_data(appsink_, this);
  std::lock_guard lock(mu_);
  if (channel_ != nullptr) {
    g_signal_handlers_disconnect_by_data(channel_, this);
    g_object_unref(channel_);
  }
}

Result<std::string> TestRemotePeer::Answer(const std::string& offer,
                                           std::chrono::milliseconds timeout) {
  VA_TRY(auto sdp, media_internal::ParseSdp(offer));
  GstWebRTCSessionDescription* desc =
      gst_webrtc_session_description_new(GST_WEBRTC_SDP_TYPE_OFFER, sdp.release());
  {
    PromiseWaiter w;
    g_signal_emit_by_name(webrtc_, "set-remote-description", desc, w.promise());
    gst_webrtc_session_description_free(desc);
    VA_TRY(auto reply, w.Wait(timeout));
    (void)reply;
  }
  GstWebRTCSessionDescription* answer = nullptr;
  {
    PromiseWaiter w;
    g_signal_emit_by_name(webrtc_, "create-answer", nullptr, w.promise());
    VA_TRY(const GstStructure* reply, w.Wait(timeout));
    if (reply == nullptr || gst_structure_get(reply, "answer", GST_TYPE_WEBRTC_SESSION_DESCRIPTION,
                                              &answer, nullptr) == 0) {
      return Fail(ErrorKind::kInvalid, "no answer");
    }
  }
  {
    PromiseWaiter w;
    g_signal_emit_by_name(webrtc_, "set-local-description", answer, w.promise());
    gst_webrtc_session_description_free(answer);
    VA_TRY(auto reply, w.Wait(timeout));
    (void)reply;
  }
  if (rtpbin_ != nullptr) {
    GObject* session = nullptr;
    g_signal_emit_by_name(rtpbin_, "get-internal-session", 0U, &session);
    if (session == nullptr) return Fail(ErrorKind::kInvalid, "remote has no RTP session");
    g_object_set(session, "probation", 0U, nullptr);
    g_object_unref(session);
  }
  {
    std::unique_lock lock(mu_);
    if (!cv_.wait_for(lock, timeout, [&] { return gathered_; })) {
      return Fail(ErrorKind::kTimeout, "remote gathering");
    }
  }
  GstWebRTCSessionDescription* local = nullptr;
  g_object_get(webrtc_, "local-description", &local, nullptr);
  std::string text = media_internal::SdpText(local->sdp);
  gst_webrtc_session_description_free(local);
  return text;
}

void TestRemotePeer::OnGathering(GstElement* webrtc, GParamSpec*, gpointer data) {
  auto* self = static_cast<TestRemotePeer*>(data);
  GstWebRTCICEGatheringState state = GST_WEBRTC_ICE_GATHERING_STATE_NEW;
  g_object_get(webrtc, "ice-gathering-state", &state, nullptr);
  std::lock_guard lock(self->mu_);
  if (state == GST_WEBRTC_ICE_GATHERING_STATE_COMPLETE) self->gathered_ = true;
  self->cv_.notify_all();
}

void TestRemotePeer::OnConnection(GstElement* webrtc, GParamSpec*, gpointer data) {
  auto* self = static_cast<TestRemotePeer*>(data);
  GstWebRTCPeerConnectionState state = GST_WEBRTC_PEER_CONNECTION_STATE_NEW;
  g_object_get(webrtc, "connection-state", &state, nullptr);
  std::lock_guard lock(self->mu_);
  if (state == GST_WEBRTC_PEER_CONNECTION_STATE_CONNECTED) self->connected_ = true;
  self->cv_.notify_all();
}

void TestRemotePeer::OnPadAdded(GstElement* /*webrtc*/, GstPad* pad, gpointer data) {
  auto* self = static_cast<TestRemotePeer*>(data);
  if (GST_PAD_DIRECTION(pad) != GST_PAD_SRC) return;
  GstCaps* caps = gst_pad_get_current_caps(pad);
  if (caps == nullptr) caps = gst_pad_query_caps(pad, nullptr);
  const GstStructure* st = gst_caps_get_structure(caps, 0);
  const gchar* enc = gst_structure_get_string(st, "encoding-name");
  std::string encoding = enc != nullptr ? enc : "";
  gst_caps_unref(caps);
  const bool h264 = encoding == "H264";
  GstElement* depay = gst_element_factory_make(h264 ? "rtph264depay" : "rtpvp8depay", nullptr);
  GstElement* parse = gst_element_factory_make(h264 ? "h264parse" : "identity", nullptr);
  GstElement* dec = gst_element_factory_make(h264 ? "openh264dec" : "vp8dec", nullptr);
  GstElement* convert = gst_element_factory_make("videoconvert", nullptr);
  GstElement* sink = gst_element_factory_make("appsink", nullptr);
  if (depay == nullptr || parse == nullptr || dec == nullptr || convert == nullptr ||
      sink == nullptr) {
    return;
  }
  GstCaps* out = gst_caps_from_string("video/x-raw,format=BGRx");
  g_object_set(sink, "caps", out, "emit-signals", TRUE, "sync", FALSE, nullptr);
  gst_caps_unref(out);
  g_signal_connect(sink, "new-sample", G_CALLBACK(&TestRemotePeer::OnSample), self);
  gst_bin_add_many(GST_BIN(self->pipeline_.get()), depay, parse, dec, convert, sink, nullptr);
  gst_element_link_many(depay, parse, dec, convert, sink, nullptr);
  for (GstElement* e : {sink, convert, dec, parse, depay}) gst_element_sync_state_with_parent(e);
  GstPad* depay_sink = gst_element_get_static_pad(depay, "sink");
  gst_pad_link(pad, depay_sink);
  gst_object_unref(depay_sink);
  std::lock_guard lock(self->mu_);
  self->encoding_ = encoding;
  self->depay_ = depay;
  self->appsink_ = sink;
}

GstFlowReturn TestRemotePeer::OnSample(GstElement* sink, gpointer data) {
  auto* self = static_cast<TestRemotePeer*>(data);
  GstSample* sample = gst_app_sink_pull_sample(GST_APP_SINK(sink));
  if (sample == nullptr) return GST_FLOW_OK;
  GstVideoInfo info;
  Pixel px;
  if (gst_video_info_from_caps(&info, gst_sample_get_caps(sample)) != 0) {
    GstBuffer* buffer = gst_sample_get_buffer(sample);
    GstMapInfo map;
    if (gst_buffer_map(buffer, &map, GST_MAP_READ) != 0) {
      const size_t off = static_cast<size_t>(GST_VIDEO_INFO_PLANE_STRIDE(&info, 0)) *
                             (GST_VIDEO_INFO_HEIGHT(&info) / 2) +
                         static_cast<size_t>(GST_VIDEO_INFO_WIDTH(&info) / 2) * 4;
      if (off + 3 < map.size) px = Pixel{map.data[off], map.data[off + 1], map.data[off + 2]};
      gst_buffer_unmap(buffer, &map);
    }
  }
  gst_sample_unref(sample);
  std::lock_guard lock(self->mu_);
  ++self->frames_;
  self->centre_ = px;
  self->cv_.notify_all();
  return GST_FLOW_OK;
}

void TestRemotePeer::OnDataChannel(GstElement* /*webrtc*/, GObject* channel, gpointer data) {
  auto* self = static_cast<TestRemotePeer*>(data);
  g_signal_connect(channel, "on-open", G_CALLBACK(&TestRemotePeer::OnOpen), self);
  g_signal_connect(channel, "on-close", G_CALLBACK(&TestRemotePeer::OnClose), self);
  g_signal_connect(channel, "on-message-string", G_CALLBACK(&TestRemotePeer::OnString), self);
  GstWebRTCDataChannelState state = GST_WEBRTC_DATA_CHANNEL_STATE_CONNECTING;
  g_object_get(channel, "ready-state", &state, nullptr);
  std::lock_guard lock(self->mu_);
  self->channel_ = G_OBJECT(g_object_ref(channel));
  if (state == GST_WEBRTC_DATA_CHANNEL_STATE_OPEN) {
    self->open_ = true;
    self->events_.push_back({"open", "", std::chrono::steady_clock::now()});
  }
  self->cv_.notify_all();
}

void TestRemotePeer::OnOpen(GObject*, gpointer data) {
  auto* self = static_cast<TestRemotePeer*>(data);
  std::lock_guard lock(self->mu_);
  if (!self->open_) self->events_.push_back({"open", "", std::chrono::steady_clock::now()});
  self->open_ = true;
  self->cv_.notify_all();
}

void TestRemotePeer::OnClose(GObject*, gpointer data) {
  auto* self = static_cast<TestRemotePeer*>(data);
  std::lock_guard lock(self->mu_);
  self->closed_ = true;
  self->events_.push_back({"close", "", std::chrono::steady_clock::now()});
  self->cv_.notify_all();
}

void TestRemotePeer::OnString(GObject* channel, gchar* text, gpointer data) {
  auto* self = static_cast<TestRemotePeer*>(data);
  std::string msg = text != nullptr ? text : "";
  bool pong = false;
  {
    std::lock_guard lock(self->mu_);
    self->events_.push_back({"message", msg, std::chrono::steady_clock::now()});
    pong = self->auto_pong_ && !self->killed_ && msg.find("\"Ping\"") != std::string::npos;
    self->cv_.notify_all();
  }
  if (pong) {
    gst_webrtc_data_channel_send_string_full(reinterpret_cast<GstWebRTCDataChannel*>(channel),
                                             "{\"type\":\"Pong\"}", nullptr);
  }
}

bool TestRemotePeer::WaitConnected(std::chrono::milliseconds timeout) {
  std::unique_lock lock(mu_);
  return cv_.wait_for(lock, timeout, [&] { return connected_; });
}
bool TestRemotePeer::WaitChannelOpen(std::chrono::milliseconds timeout) {
  std::unique_lock lock(mu_);
  return cv_.wait_for(lock, timeout, [&] { return open_; });
}
bool TestRemotePeer::WaitChannelClosed(std::chrono::milliseconds timeout) {
  std::unique_lock lock(mu_);
  return cv_.wait_for(lock, timeout, [&] { return closed_; });
}
bool TestRemotePeer::WaitFrames(int count, std::chrono::milliseconds timeout, Pixel* centre) {
  std::unique_lock lock(mu_);
  bool ok = cv_.wait_for(lock, timeout, [&] { return frames_ >= count; });
  if (ok && centre != nullptr) *centre = centre_;
  return ok;
}
bool TestRemotePeer::WaitMessage(const std::function<bool(const std::string&)>& pred,
                                 std::chrono::milliseconds timeout, std::string* out) {
  std::unique_lock lock(mu_);
  return cv_.wait_for(lock, timeout, [&] {
    for (const Event& e : events_) {
      if (e.kind == "message" && pred(e.text)) {
        if (out != nullptr) *out = e.text;
        return true;
      }
    }
    return false;
  });
}

Status TestRemotePeer::Send(const std::string& text) {
  GObject* channel = nullptr;
  {
    std::lock_guard lock(mu_);
    if (channel_ == nullptr) return Fail(ErrorKind::kInvalid, "no channel");
    channel = G_OBJECT(g_object_ref(channel_));
  }
  GError* err = nullptr;
  gboolean ok = gst_webrtc_data_channel_send_string_full(
      reinterpret_cast<GstWebRTCDataChannel*>(channel), text.c_str(), &err);
  g_object_unref(channel);
  if (ok == 0) {
    std::string msg = err != nullptr ? err->message : "?";
    if (err != nullptr) g_error_free(err);
    return Fail(ErrorKind::kInvalid, msg);
  }
  return {};
}

void TestRemotePeer::RequestKeyframe() {
  GstElement* depay = nullptr;
  {
    std::lock_guard lock(mu_);
    if (depay_ == nullptr) return;
    depay = GST_ELEMENT(gst_object_ref(depay_));
  }
  GstPad* src = gst_element_get_static_pad(depay, "src");
  gst_pad_send_event(src,
                     gst_video_event_new_upstream_force_key_unit(GST_CLOCK_TIME_NONE, TRUE, 0));
  gst_object_unref(src);
  gst_object_unref(depay);
}

void TestRemotePeer::CloseChannel() {
  GObject* channel = nullptr;
  {
    std::lock_guard lock(mu_);
    if (channel_ == nullptr) return;
    channel = G_OBJECT(g_object_ref(channel_));
  }
  gst_webrtc_data_channel_close(reinterpret_cast<GstWebRTCDataChannel*>(channel));
  g_object_unref(channel);
}

void TestRemotePeer::Kill() {
  {
    std::lock_guard lock(mu_);
    killed_ = true;
  }
  gst_element_set_state(pipeline_.get(), GST_STATE_NULL);
}

int TestRemotePeer::FramesDecoded() {
  std::lock_guard lock(mu_);
  return frames_;
}
std::vector<TestRemotePeer::Event> TestRemotePeer::Events() {
  std::lock_guard lock(mu_);
  return events_;
}
std::string TestRemotePeer::EncodingName() {
  std::lock_guard lock(mu_);
  return encoding_;
}

}  // namespace va::vault::testing
