// See webrtc_peer.h. Threads: the caller's (Create, CreateOffer, SetAnswer, PushFrame, Close),
// GStreamer's (webrtcbin's operation thread, libnice's, streaming threads: signal handlers and
// pad probes) and the media thread (our GMainContext: frame pushes, heartbeat, callbacks).
// GStreamer threads never call the caller: they post to the media thread. Signal handlers hold
// a weak reference to the peer's state, so a late signal after teardown finds nothing.
#include "vault/media/webrtc_peer.h"

#include <gst/app/gstappsrc.h>
#include <gst/gst.h>
#include <gst/video/video.h>
#include <gst/webrtc/webrtc.h>

#include <algorithm>
#include <atomic>
#include <boost/json.hpp>
#include <condition_variable>
#include <cstring>
#include <mutex>
#include <thread>
#include <utility>

#include "base/log.h"
#include "vault/media/gst_util.h"

namespace va::vault {
namespace {

using media_internal::BufferPtr;
using media_internal::CapsPtr;
using media_internal::ElementPtr;
using media_internal::GObjectPtr;
using media_internal::MakeElement;
using media_internal::PadPtr;
using media_internal::PromiseWaiter;
using Clock = std::chrono::steady_clock;

constexpr int kMinSide = 16;
constexpr int kMaxWidth = 3840;
constexpr int kMaxHeight = 2160;
constexpr int kVp8PayloadType = 96;
constexpr int kH264PayloadType = 97;
constexpr std::chrono::milliseconds kSignalingTimeout{5000};

// ---- The media thread -------------------------------------------------------------------

struct Runtime {
  std::mutex mu;
  bool initialised = false;
  Status status;
  MediaConfig config;
  GMainContext* context = nullptr;
  GMainLoop* loop = nullptr;
  std::thread thread;
  std::chrono::microseconds cert_time{0};
  std::chrono::microseconds warmup_time{0};
  bool h264 = false;
};

Runtime& GetRuntime() {
  static auto* runtime = new Runtime;  // lives as long as the process (its thread does too)
  return *runtime;
}

using Task = std::function<void()>;

gboolean RunTask(gpointer data) {
  (*static_cast<Task*>(data))();
  return G_SOURCE_REMOVE;
}
void FreeTask(gpointer data) { delete static_cast<Task*>(data); }

// Runs `task` on the media thread after `delay`.
void Post(Task task, std::chrono::milliseconds delay = std::chrono::milliseconds(0)) {
  GSource* source = delay.count() <= 0 ? g_idle_source_new()
                                       : g_timeout_source_new(static_cast<guint>(delay.count()));
  g_source_set_callback(source, &RunTask, new Task(std::move(task)), &FreeTask);
  g_source_attach(source, GetRuntime().context);
  g_source_unref(source);
}

using RepeatingTask = std::function<bool()>;  // false: stop
gboolean RunRepeating(gpointer data) {
  return (*static_cast<RepeatingTask*>(data))() ? G_SOURCE_CONTINUE : G_SOURCE_REMOVE;
}
void FreeRepeating(gpointer data) { delete static_cast<RepeatingTask*>(data); }

// A timer on the media thread; the caller owns the returned reference and g_source_destroy()s it.
GSource* AddTimer(std::chrono::milliseconds interval, RepeatingTask task) {
  GSource* source =
      g_timeout_source_new(static_cast<guint>(std::max<int64_t>(1, interval.count())));
  g_source_set_callback(source, &RunRepeating, new RepeatingTask(std::move(task)), &FreeRepeating);
  g_source_attach(source, GetRuntime().context);
  return source;
}

int64_t NowMillis() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

GstCaps* RawCaps(int width, int height, int fps) {
  return gst_caps_new_simple("video/x-raw", "format", G_TYPE_STRING, "BGRx", "width", G_TYPE_INT,
                             width, "height", G_TYPE_INT, height, "framerate", GST_TYPE_FRACTION,
                             fps, 1, nullptr);
}

bool IsPong(const std::string& text) {
  boost::system::error_code ec;
  boost::json::value v = boost::json::parse(text, ec);
  if (ec || !v.is_object()) return false;
  const boost::json::value* type = v.as_object().if_contains("type");
  return type != nullptr && type->is_string() && type->as_string() == "Pong";
}

}  // namespace

// ---- The peer's state ---------------------------------------------------------------------

struct WebRtcPeer::Impl : std::enable_shared_from_this<Impl> {
  PeerOptions options;
  MediaConfig config;
  std::string codec;
  int payload_type = kVp8PayloadType;

  ElementPtr pipeline;
  GstElement* webrtc = nullptr;  // owned by the pipeline
  GstElement* appsrc = nullptr;  // owned by the pipeline
  GObjectPtr channel;            // GstWebRTCDataChannel
  std::vector<std::pair<GObject*, gulong>> handlers;

  mutable std::mutex mu;
  std::condition_variable cv;
  bool offer_requested = false;
  bool offer_done = false;
  bool gathering_complete = false;
  bool channel_open = false;
  bool channel_closed = false;
  bool connected_reported = false;
  std::atomic<bool> connected{false};
  std::atomic<bool> closing{false};
  bool torn_down = false;      // teardown started
  bool teardown_done = false;  // teardown finished

  // Frames (under mu).
  BufferPtr latest;
  int latest_width = 0;
  int latest_height = 0;
  bool dirty = false;
  bool repush = false;
  bool push_scheduled = false;
  Clock::time_point last_push{};
  int caps_width = 0;  // media thread only
  int caps_height = 0;
  int caps_fps = 0;

  // Heartbeat.
  GSource* heartbeat = nullptr;  // under mu
  std::atomic<int64_t> last_rx_ms{0};

  std::atomic<int64_t> connected_ns{0}, first_encoded_ns{0};  // steady clock
  std::atomic<uint64_t> frames_pushed{0}, frames_encoded{0}, keyframes{0}, keyframe_requests{0},
      messages_received{0};

  // Callbacks are run under cb_mu (recursive: a callback may Close() or destroy its peer).
  std::recursive_mutex cb_mu;
  bool callbacks_enabled = true;
  bool closed_reported = false;

  using Weak = std::weak_ptr<Impl>;

  // Runs fn on the media thread under the callback gate.
  void Invoke(std::function<void(Impl&)> fn) {
    Post([weak = Weak(weak_from_this()), fn = std::move(fn)] {
      auto self = weak.lock();
      if (!self) return;
      std::lock_guard lock(self->cb_mu);
      if (!self->callbacks_enabled) return;
      fn(*self);
    });
  }

  void ReportClosed(const std::string& reason) {
    Invoke([reason](Impl& self) {
      if (self.closed_reported) return;
      self.closed_reported = true;
      LogInfo("media_peer_closed", {{"session", self.options.session_id}, {"reason", reason}});
      if (self.options.callbacks.on_closed) self.options.callbacks.on_closed(reason);
    });
  }

  template <typename F>
  void Connect(gpointer instance, const char* signal, F* callback) {
    gulong id = g_signal_connect_data(
        instance, signal, reinterpret_cast<GCallback>(callback), new Weak(weak_from_this()),
        [](gpointer data, GClosure*) { delete static_cast<Weak*>(data); }, GConnectFlags(0));
    handlers.emplace_back(G_OBJECT(instance), id);
  }
  static std::shared_ptr<Impl> From(gpointer data) { return static_cast<Weak*>(data)->lock(); }

  Status Build();
  void SchedulePushLocked();
  void PushLatest();
  void OnConnected();
  void StartHeartbeat();
  void MaybeReportConnected();
  void OnMessage(std::string text);
  Status SendText(const std::string& text);
  Status SendPing();
  void Teardown();
  void WaitTornDown();

  // GStreamer signal handlers and probes (GStreamer threads).
  static void OnGatheringState(GstElement* webrtc, GParamSpec*, gpointer data);
  static void OnConnectionState(GstElement* webrtc, GParamSpec*, gpointer data);
  static void OnChannelOpen(GObject* channel, gpointer data);
  static void OnChannelClose(GObject* channel, gpointer data);
  static void OnChannelError(GObject* channel, GError* error, gpointer data);
  static void OnChannelString(GObject* channel, gchar* text, gpointer data);
  static void OnChannelData(GObject* channel, GBytes* bytes, gpointer data);
  static GstPadProbeReturn OnEncoderProbe(GstPad* pad, GstPadProbeInfo* info, gpointer data);
  static GstBusSyncReply OnBusMessage(GstBus* bus, GstMessage* message, gpointer data);
};

// ---- InitMedia ----------------------------------------------------------------------------

Status InitMedia(const MediaConfig& config) {
  Runtime& rt = GetRuntime();
  {
    std::lock_guard lock(rt.mu);
    if (rt.initialised) return rt.status;
    rt.initialised = true;
    rt.config = config;
    rt.status = [&]() -> Status {
      if (config.ice_addresses.empty()) {
        return Fail(ErrorKind::kInvalid, "media: no ICE address configured");
      }
      if (config.min_bitrate_kbps <= 0 || config.min_bitrate_kbps > config.max_bitrate_kbps ||
          config.max_fps <= 0 || config.heartbeat_interval.count() <= 0 ||
          config.heartbeat_timeout.count() <= 0) {
        return Fail(ErrorKind::kInvalid, "media: bitrate range, max_fps or heartbeat invalid");
      }
      if (config.codec_preference != "vp8" && config.codec_preference != "h264") {
        return Fail(ErrorKind::kInvalid, "media: codec_preference must be vp8 or h264");
      }
      GError* err = nullptr;
      if (gst_init_check(nullptr, nullptr, &err) == 0) {
        std::string msg = err != nullptr ? err->message : "unknown";
        if (err != nullptr) g_error_free(err);
        return Fail(ErrorKind::kUnsupported, "gst_init: " + msg);
      }
      // The DTLS certificate: dtlsdec makes the process-wide one on first construction.
      auto start = Clock::now();
      VA_TRY(auto dtls, MakeElement("dtlsdec"));
      (void)dtls;
      rt.cert_time = std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - start);
      // Load every other plugin now so the first session does not.
      for (const char* f :
           {"appsrc", "videoconvert", "queue", "capsfilter", "vp8enc", "rtpvp8pay", "webrtcbin",
            "dtlsenc", "sctpenc", "sctpdec", "nicesrc", "nicesink", "rtpbin"}) {
        VA_TRY(auto element, MakeElement(f));
        (void)element;
      }
      rt.h264 = MakeElement("x264enc").has_value() && MakeElement("rtph264pay").has_value();
      if (config.codec_preference == "h264" && !rt.h264) {
        return Fail(ErrorKind::kUnsupported, "media: h264 preferred but x264enc is missing");
      }
      rt.context = g_main_context_new();
      rt.loop = g_main_loop_new(rt.context, FALSE);
      rt.thread = std::thread([&rt] {
        g_main_context_push_thread_default(rt.context);
        g_main_loop_run(rt.loop);
        g_main_context_pop_thread_default(rt.context);
      });
      rt.thread.detach();  // the process's media thread; it ends with the process
      return {};
    }();
    if (!rt.status) return rt.status;
  }
  // A throwaway peer and offer: the first webrtcbin, libnice agent and SCTP/DTLS set-up in a
  // process cost what no session should pay.
  auto start = Clock::now();
  PeerOptions options;
  options.width = 64;
  options.height = 64;
  options.session_id = "warmup";
  auto peer = WebRtcPeer::Create(options);
  if (peer) (void)(*peer)->CreateOffer(std::chrono::milliseconds(5000));
  peer = Fail(ErrorKind::kInvalid, "done");  // destroy it here
  rt.warmup_time = std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - start);
  LogInfo("media_ready", {{"cert", rt.cert_time}, {"warmup", rt.warmup_time}, {"h264", rt.h264}});
  return {};
}

const MediaConfig& CurrentMediaConfig() { return GetRuntime().config; }
std::chrono::microseconds CertificateWarmupTime() { return GetRuntime().cert_time; }
std::chrono::microseconds PeerWarmupTime() { return GetRuntime().warmup_time; }

// ---- Building ------------------------------------------------------------------------------

Status WebRtcPeer::Impl::Build() {
  const bool h264 = codec == "h264";
  payload_type = h264 ? kH264PayloadType : kVp8PayloadType;
  int kbps = options.bitrate_kbps > 0 ? options.bitrate_kbps : config.default_bitrate_kbps;
  kbps = std::clamp(kbps, config.min_bitrate_kbps, config.max_bitrate_kbps);

  pipeline = ElementPtr(GST_ELEMENT(gst_object_ref_sink(gst_pipeline_new(nullptr))));
  VA_TRY(ElementPtr src, MakeElement("appsrc"));
  VA_TRY(ElementPtr convert, MakeElement("videoconvert"));
  VA_TRY(ElementPtr queue, MakeElement("queue"));
  VA_TRY(ElementPtr encoder, MakeElement(h264 ? "x264enc" : "vp8enc"));
  VA_TRY(ElementPtr encoded_caps, MakeElement("capsfilter"));
  VA_TRY(ElementPtr payloader, MakeElement(h264 ? "rtph264pay" : "rtpvp8pay"));
  VA_TRY(ElementPtr rtp_caps, MakeElement("capsfilter"));
  VA_TRY(ElementPtr webrtcbin, MakeElement("webrtcbin"));

  caps_width = options.width;
  caps_height = options.height;
  // Variable frame rate (0/1) for VP8. x264 holds one frame back for variable-frame-rate input,
  // so a still picture would never leave it: H.264 gets a nominal max_fps.
  caps_fps = h264 ? config.max_fps : 0;
  CapsPtr raw_caps(RawCaps(options.width, options.height, caps_fps));
  g_object_set(src.get(), "caps", raw_caps.get(), "is-live", TRUE, "do-timestamp", TRUE, "format",
               GST_FORMAT_TIME, "max-bytes", static_cast<guint64>(0), "max-buffers",
               static_cast<guint64>(2), nullptr);
  gst_util_set_object_arg(G_OBJECT(src.get()), "leaky-type", "downstream");
  g_object_set(convert.get(), "n-threads", 1U, nullptr);
  g_object_set(queue.get(), "max-size-buffers", 2U, "max-size-bytes", 0U, "max-size-time",
               static_cast<guint64>(0), nullptr);
  gst_util_set_object_arg(G_OBJECT(queue.get()), "leaky", "downstream");

  CapsPtr codec_caps;
  if (h264) {
    g_object_set(encoder.get(), "threads", 1U, "bitrate", static_cast<guint>(kbps), "key-int-max",
                 100000U, "bframes", 0U, "b-adapt", FALSE,
                 // A fixed level, so the payloader's profile-level-id (from the SPS) matches the
                 // transceiver's codec preference at every frame size up to 3840x2160.
                 "option-string", "level=5.1", nullptr);
    gst_util_set_object_arg(G_OBJECT(encoder.get()), "tune", "zerolatency");
    gst_util_set_object_arg(G_OBJECT(encoder.get()), "speed-preset", "ultrafast");
    CapsPtr h264_caps(gst_caps_from_string("video/x-h264,profile=constrained-baseline"));
    g_object_set(encoded_caps.get(), "caps", h264_caps.get(), nullptr);
    g_object_set(payloader.get(), "config-interval", -1, "pt", static_cast<guint>(payload_type),
                 nullptr);
    gst_util_set_object_arg(G_OBJECT(payloader.get()), "aggregate-mode", "zero-latency");
    codec_caps.Reset(gst_caps_from_string(
        "application/x-rtp,media=video,encoding-name=H264,payload=97,clock-rate=90000,"
        "packetization-mode=(string)1,profile-level-id=(string)42c033,"
        "rtcp-fb-nack-pli=(boolean)true,rtcp-fb-ccm-fir=(boolean)true"));
  } else {
    g_object_set(encoder.get(), "deadline", static_cast<gint64>(1), "cpu-used", 8, "threads", 1,
                 "target-bitrate", kbps * 1000, "keyframe-max-dist", 100000, "lag-in-frames", 0,
                 nullptr);
    gst_util_set_object_arg(G_OBJECT(encoder.get()), "end-usage", "cbr");
    gst_util_set_object_arg(G_OBJECT(encoder.get()), "error-resilient", "default");
    gst_util_set_object_arg(G_OBJECT(payloader.get()), "picture-id-mode", "15-bit");
    g_object_set(payloader.get(), "pt", static_cast<guint>(payload_type), nullptr);
    codec_caps.Reset(gst_caps_from_string(
        "application/x-rtp,media=video,encoding-name=VP8,payload=96,clock-rate=90000,"
        "rtcp-fb-nack-pli=(boolean)true,rtcp-fb-ccm-fir=(boolean)true"));
  }
  CapsPtr pay_caps(gst_caps_from_string(
      h264 ? "application/x-rtp,media=video,encoding-name=H264,payload=97,clock-rate=90000"
           : "application/x-rtp,media=video,encoding-name=VP8,payload=96,clock-rate=90000"));
  g_object_set(rtp_caps.get(), "caps", pay_caps.get(), nullptr);

  gst_util_set_object_arg(G_OBJECT(webrtcbin.get()), "bundle-policy", "max-bundle");
  VA_TRY_STATUS(media_internal::RestrictIce(webrtcbin.get(), config.ice_addresses));
  if (!config.stun_servers.empty()) {
    g_object_set(webrtcbin.get(), "stun-server", config.stun_servers.front().c_str(), nullptr);
  }
  for (const std::string& turn : config.turn_servers) {
    gboolean ok = FALSE;
    g_signal_emit_by_name(webrtcbin.get(), "add-turn-server", turn.c_str(), &ok);
    if (ok == 0) return Fail(ErrorKind::kInvalid, "media: TURN server refused: " + turn);
  }

  // Probes on the encoder's output: counts, and keyframe requests (PLI/FIR arrive as upstream
  // GstForceKeyUnit events).
  {
    PadPtr enc_src(gst_element_get_static_pad(encoder.get(), "src"));
    gst_pad_add_probe(
        enc_src.get(),
        static_cast<GstPadProbeType>(GST_PAD_PROBE_TYPE_BUFFER | GST_PAD_PROBE_TYPE_EVENT_UPSTREAM),
        &Impl::OnEncoderProbe, new Weak(weak_from_this()),
        [](gpointer data) { delete static_cast<Weak*>(data); });
  }

  GstElement* bin = pipeline.get();
  gst_bin_add_many(GST_BIN(bin), src.get(), convert.get(), queue.get(), encoder.get(),
                   encoded_caps.get(), payloader.get(), rtp_caps.get(), webrtcbin.get(),
                   nullptr);  // the bin takes its own references; ours drop at return
  appsrc = src.get();
  webrtc = webrtcbin.get();
  GstElement* rtp_out = rtp_caps.get();
  if (gst_element_link_many(appsrc, convert.get(), queue.get(), encoder.get(), encoded_caps.get(),
                            payloader.get(), rtp_out, nullptr) == 0) {
    return Fail(ErrorKind::kUnsupported, "media: cannot link the encoder chain");
  }
  {
    PadPtr sink(gst_element_request_pad_simple(webrtc, "sink_%u"));
    PadPtr out(gst_element_get_static_pad(rtp_out, "src"));
    if (!sink || gst_pad_link(out.get(), sink.get()) != GST_PAD_LINK_OK) {
      return Fail(ErrorKind::kUnsupported, "media: cannot link to webrtcbin");
    }
  }
  {
    GstWebRTCRTPTransceiver* trans = nullptr;
    g_signal_emit_by_name(webrtc, "get-transceiver", 0, &trans);
    if (trans == nullptr) return Fail(ErrorKind::kUnsupported, "media: no transceiver");
    g_object_set(trans, "direction", GST_WEBRTC_RTP_TRANSCEIVER_DIRECTION_SENDONLY,
                 "codec-preferences", codec_caps.get(), nullptr);
    gst_object_unref(trans);
  }

  Connect(webrtc, "notify::ice-gathering-state", &Impl::OnGatheringState);
  Connect(webrtc, "notify::connection-state", &Impl::OnConnectionState);
  {
    GstBus* bus = gst_pipeline_get_bus(GST_PIPELINE(bin));
    gst_bus_set_sync_handler(bus, &Impl::OnBusMessage, new Weak(weak_from_this()),
                             [](gpointer data) { delete static_cast<Weak*>(data); });
    gst_object_unref(bus);
  }

  if (gst_element_set_state(bin, GST_STATE_PLAYING) == GST_STATE_CHANGE_FAILURE) {
    return Fail(ErrorKind::kUnsupported, "media: pipeline refused to start");
  }

  GstStructure* dc_options = gst_structure_new("options", "ordered", G_TYPE_BOOLEAN, TRUE, nullptr);
  GstWebRTCDataChannel* dc = nullptr;
  g_signal_emit_by_name(webrtc, "create-data-channel", "vault", dc_options, &dc);
  gst_structure_free(dc_options);
  if (dc == nullptr) return Fail(ErrorKind::kUnsupported, "media: cannot create the data channel");
  channel = GObjectPtr(G_OBJECT(dc));
  Connect(dc, "on-open", &Impl::OnChannelOpen);
  Connect(dc, "on-close", &Impl::OnChannelClose);
  Connect(dc, "on-error", &Impl::OnChannelError);
  Connect(dc, "on-message-string", &Impl::OnChannelString);
  Connect(dc, "on-message-data", &Impl::OnChannelData);
  return {};
}

// ---- Signal handlers ----------------------------------------------------------------------

void WebRtcPeer::Impl::OnGatheringState(GstElement* webrtc, GParamSpec*, gpointer data) {
  auto self = From(data);
  if (!self) return;
  GstWebRTCICEGatheringState state = GST_WEBRTC_ICE_GATHERING_STATE_NEW;
  g_object_get(webrtc, "ice-gathering-state", &state, nullptr);
  if (state != GST_WEBRTC_ICE_GATHERING_STATE_COMPLETE) return;
  std::lock_guard lock(self->mu);
  self->gathering_complete = true;
  self->cv.notify_all();
}

void WebRtcPeer::Impl::OnConnectionState(GstElement* webrtc, GParamSpec*, gpointer data) {
  auto self = From(data);
  if (!self || self->closing) return;
  GstWebRTCPeerConnectionState state = GST_WEBRTC_PEER_CONNECTION_STATE_NEW;
  g_object_get(webrtc, "connection-state", &state, nullptr);
  if (state == GST_WEBRTC_PEER_CONNECTION_STATE_CONNECTED) {
    if (!self->connected.exchange(true)) self->OnConnected();
  } else if (state == GST_WEBRTC_PEER_CONNECTION_STATE_FAILED ||
             state == GST_WEBRTC_PEER_CONNECTION_STATE_CLOSED) {
    self->ReportClosed("PeerFailed");
  }
}

void WebRtcPeer::Impl::OnConnected() {
  connected_ns = Clock::now().time_since_epoch().count();
  last_rx_ms = NowMillis();
  {
    std::lock_guard lock(mu);
    if (latest) SchedulePushLocked();
  }
  StartHeartbeat();
  MaybeReportConnected();
}

void WebRtcPeer::Impl::MaybeReportConnected() {
  {
    std::lock_guard lock(mu);
    if (!connected || !channel_open || connected_reported) return;
    connected_reported = true;
  }
  Invoke([](Impl& self) {
    LogInfo("media_peer_connected", {{"session", self.options.session_id}});
    if (self.options.callbacks.on_connected) self.options.callbacks.on_connected();
  });
}

void WebRtcPeer::Impl::StartHeartbeat() {
  std::lock_guard lock(mu);
  if (heartbeat != nullptr || closing) return;
  // Tick often enough that a timeout is seen within a tenth of it.
  auto tick = std::min(config.heartbeat_interval, config.heartbeat_timeout / 10);
  auto next_ping = std::make_shared<Clock::time_point>(Clock::now());
  heartbeat =
      AddTimer(std::max(tick, std::chrono::milliseconds(1)),
               [weak = Weak(weak_from_this()), next_ping]() -> bool {
                 auto self = weak.lock();
                 if (!self || self->closing) return false;
                 if (NowMillis() - self->last_rx_ms > self->config.heartbeat_timeout.count()) {
                   self->ReportClosed("PeerTimeout");
                   return false;
                 }
                 if (Clock::now() >= *next_ping) {
                   *next_ping = Clock::now() + self->config.heartbeat_interval;
                   (void)self->SendPing();
                 }
                 return true;
               });
}

void WebRtcPeer::Impl::OnChannelOpen(GObject*, gpointer data) {
  auto self = From(data);
  if (!self) return;
  {
    std::lock_guard lock(self->mu);
    self->channel_open = true;
    self->cv.notify_all();
  }
  self->MaybeReportConnected();
}

void WebRtcPeer::Impl::OnChannelClose(GObject*, gpointer data) {
  auto self = From(data);
  if (!self) return;
  {
    std::lock_guard lock(self->mu);
    self->channel_open = false;
    self->channel_closed = true;
    self->cv.notify_all();
  }
  if (!self->closing) {
    self->ReportClosed("PeerClosed");
  } else {
    Post([self] { self->Teardown(); });
  }
}

void WebRtcPeer::Impl::OnChannelError(GObject*, GError* error, gpointer data) {
  auto self = From(data);
  if (!self) return;
  LogWarn("media_channel_error", {{"session", self->options.session_id},
                                  {"error", error != nullptr ? error->message : "unknown"}});
}

void WebRtcPeer::Impl::OnChannelString(GObject*, gchar* text, gpointer data) {
  auto self = From(data);
  if (!self || text == nullptr) return;
  self->OnMessage(text);
}

void WebRtcPeer::Impl::OnChannelData(GObject*, GBytes* bytes, gpointer data) {
  auto self = From(data);
  if (!self || bytes == nullptr) return;
  gsize size = 0;
  const auto* p = static_cast<const char*>(g_bytes_get_data(bytes, &size));
  self->OnMessage(std::string(p != nullptr ? p : "", size));
}

void WebRtcPeer::Impl::OnMessage(std::string text) {
  last_rx_ms = NowMillis();
  ++messages_received;
  if (IsPong(text)) return;
  Invoke([text = std::move(text)](Impl& self) {
    if (self.options.callbacks.on_input) self.options.callbacks.on_input(text);
  });
}

GstPadProbeReturn WebRtcPeer::Impl::OnEncoderProbe(GstPad*, GstPadProbeInfo* info, gpointer data) {
  auto self = From(data);
  if (!self) return GST_PAD_PROBE_OK;
  if ((GST_PAD_PROBE_INFO_TYPE(info) & GST_PAD_PROBE_TYPE_BUFFER) != 0) {
    GstBuffer* buffer = GST_PAD_PROBE_INFO_BUFFER(info);
    if (self->frames_encoded++ == 0) {
      self->first_encoded_ns = Clock::now().time_since_epoch().count();
    }
    if (!GST_BUFFER_FLAG_IS_SET(buffer, GST_BUFFER_FLAG_DELTA_UNIT)) ++self->keyframes;
    return GST_PAD_PROBE_OK;
  }
  GstEvent* event = GST_PAD_PROBE_INFO_EVENT(info);
  if (event != nullptr && gst_video_event_is_force_key_unit(event)) {
    ++self->keyframe_requests;
    {
      // The encoder keys its next frame; make sure there is one even when the picture is still.
      std::lock_guard lock(self->mu);
      if (self->latest && self->connected) {
        self->repush = true;
        self->SchedulePushLocked();
      }
    }
    self->Invoke([](Impl& s) {
      if (s.options.callbacks.on_keyframe_request) s.options.callbacks.on_keyframe_request();
    });
  }
  return GST_PAD_PROBE_OK;
}

GstBusSyncReply WebRtcPeer::Impl::OnBusMessage(GstBus*, GstMessage* message, gpointer data) {
  if (GST_MESSAGE_TYPE(message) == GST_MESSAGE_ERROR) {
    if (auto self = From(data); self && !self->closing) {
      GError* err = nullptr;
      gchar* debug = nullptr;
      gst_message_parse_error(message, &err, &debug);
      LogWarn("media_pipeline_error", {{"session", self->options.session_id},
                                       {"element", GST_OBJECT_NAME(GST_MESSAGE_SRC(message))},
                                       {"error", err != nullptr ? err->message : "unknown"}});
      if (err != nullptr) g_error_free(err);
      g_free(debug);
      self->ReportClosed("PeerFailed");
    }
  }
  // Nobody pops this bus: drop everything. A sync handler that drops must unref.
  gst_message_unref(message);
  return GST_BUS_DROP;
}

// ---- Frames --------------------------------------------------------------------------------

void WebRtcPeer::Impl::SchedulePushLocked() {
  if (push_scheduled || closing) return;
  push_scheduled = true;
  auto min_gap = std::chrono::milliseconds(1000 / std::max(1, config.max_fps));
  auto due = last_push + min_gap;
  auto now = Clock::now();
  auto delay = due > now ? std::chrono::ceil<std::chrono::milliseconds>(due - now)
                         : std::chrono::milliseconds(0);
  Post(
      [weak = Weak(weak_from_this())] {
        if (auto self = weak.lock()) self->PushLatest();
      },
      delay);
}

void WebRtcPeer::Impl::PushLatest() {
  GstBuffer* buffer = nullptr;
  int width = 0;
  int height = 0;
  bool force_key = false;
  {
    std::lock_guard lock(mu);
    push_scheduled = false;
    if (closing || torn_down || !connected || !latest || (!dirty && !repush)) return;
    force_key = repush;
    buffer = gst_buffer_ref(latest.get());
    width = latest_width;
    height = latest_height;
    dirty = false;
    repush = false;
    last_push = Clock::now();
  }
  if (width != caps_width || height != caps_height) {
    CapsPtr caps(RawCaps(width, height, caps_fps));
    gst_app_src_set_caps(GST_APP_SRC(appsrc), caps.get());
    caps_width = width;
    caps_height = height;
  }
  if (force_key) {
    // The encoder already saw the upstream request; a serialized downstream one ahead of this
    // buffer makes sure this very frame is the keyframe, whatever the threads' timing.
    gst_element_send_event(
        appsrc, gst_video_event_new_downstream_force_key_unit(
                    GST_CLOCK_TIME_NONE, GST_CLOCK_TIME_NONE, GST_CLOCK_TIME_NONE, TRUE, 0));
  }
  ++frames_pushed;
  gst_app_src_push_buffer(GST_APP_SRC(appsrc), buffer);  // takes the reference
}

// ---- Teardown ------------------------------------------------------------------------------

void WebRtcPeer::Impl::Teardown() {
  {
    std::lock_guard lock(mu);
    if (torn_down) return;
    torn_down = true;
    if (heartbeat != nullptr) {
      g_source_destroy(heartbeat);
      g_source_unref(heartbeat);
      heartbeat = nullptr;
    }
  }
  if (pipeline) gst_element_set_state(pipeline.get(), GST_STATE_NULL);
  for (auto& [object, id] : handlers) g_signal_handler_disconnect(object, id);
  handlers.clear();
  channel.Reset();
  if (pipeline) {
    GstBus* bus = gst_pipeline_get_bus(GST_PIPELINE(pipeline.get()));
    gst_bus_set_sync_handler(bus, nullptr, nullptr, nullptr);
    gst_object_unref(bus);
  }
  pipeline.Reset();
  webrtc = nullptr;
  appsrc = nullptr;
  std::lock_guard lock(mu);
  latest.Reset();
  teardown_done = true;
  cv.notify_all();
}

// ---- Public API ----------------------------------------------------------------------------

WebRtcPeer::WebRtcPeer(std::shared_ptr<Impl> impl) : impl_(std::move(impl)) {}

WebRtcPeer::~WebRtcPeer() {
  Close("");
  impl_->WaitTornDown();
}

Result<std::unique_ptr<WebRtcPeer>> WebRtcPeer::Create(const PeerOptions& options) {
  Runtime& rt = GetRuntime();
  {
    std::lock_guard lock(rt.mu);
    if (!rt.initialised || !rt.status) {
      return Fail(ErrorKind::kUnsupported, "media: InitMedia() has not succeeded");
    }
  }
  if (options.width < kMinSide || options.width > kMaxWidth || options.height < kMinSide ||
      options.height > kMaxHeight) {
    return Fail(ErrorKind::kInvalid, "media: frame size out of range");
  }
  auto impl = std::make_shared<Impl>();
  impl->options = options;
  impl->config = rt.config;
  impl->codec = options.codec.empty() ? rt.config.codec_preference : options.codec;
  if (impl->codec != "vp8" && !(impl->codec == "h264" && rt.h264)) {
    return Fail(ErrorKind::kInvalid, "media: unknown or unavailable codec " + impl->codec);
  }
  std::unique_ptr<WebRtcPeer> peer(new WebRtcPeer(impl));
  if (auto built = impl->Build(); !built) {
    return tl::unexpected(std::move(built.error()));  // ~WebRtcPeer tears down what exists
  }
  return peer;
}

Result<std::string> WebRtcPeer::CreateOffer(std::chrono::milliseconds timeout) {
  Impl& s = *impl_;
  auto deadline = Clock::now() + timeout;
  {
    std::lock_guard lock(s.mu);
    if (s.offer_requested || s.closing) {
      return Fail(ErrorKind::kInvalid, "media: offer already made or peer closed");
    }
    s.offer_requested = true;
  }
  auto remaining = [&] {
    return std::max(std::chrono::milliseconds(0),
                    std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()));
  };
  GstWebRTCSessionDescription* offer = nullptr;
  {
    PromiseWaiter waiter;
    g_signal_emit_by_name(s.webrtc, "create-offer", nullptr, waiter.promise());
    VA_TRY(const GstStructure* reply, waiter.Wait(remaining()));
    if (reply == nullptr || gst_structure_get(reply, "offer", GST_TYPE_WEBRTC_SESSION_DESCRIPTION,
                                              &offer, nullptr) == 0) {
      return Fail(ErrorKind::kInvalid, "media: webrtcbin made no offer");
    }
  }
  {
    PromiseWaiter waiter;
    g_signal_emit_by_name(s.webrtc, "set-local-description", offer, waiter.promise());
    gst_webrtc_session_description_free(offer);
    VA_TRY(const GstStructure* reply, waiter.Wait(remaining()));
    (void)reply;
  }
  {
    std::unique_lock lock(s.mu);
    if (!s.cv.wait_until(lock, deadline, [&] { return s.gathering_complete; })) {
      return Fail(ErrorKind::kTimeout, "media: ICE gathering did not finish in time");
    }
  }
  GstWebRTCSessionDescription* local = nullptr;
  g_object_get(s.webrtc, "local-description", &local, nullptr);
  if (local == nullptr) return Fail(ErrorKind::kInvalid, "media: no local description");
  std::string text = media_internal::SdpText(local->sdp);
  gst_webrtc_session_description_free(local);
  {
    std::lock_guard lock(s.mu);
    s.offer_done = true;
  }
  return text;
}

Status WebRtcPeer::SetAnswer(const std::string& sdp_text) {
  Impl& s = *impl_;
  {
    std::lock_guard lock(s.mu);
    if (!s.offer_done || s.closing) {
      return Fail(ErrorKind::kInvalid, "media: answer before the offer or after close");
    }
  }
  VA_TRY(auto sdp, media_internal::ParseSdp(sdp_text));
  const std::string pt = std::to_string(s.payload_type);
  bool video_accepted = false;
  for (guint i = 0; i < gst_sdp_message_medias_len(sdp.get()); ++i) {
    const GstSDPMedia* m = gst_sdp_message_get_media(sdp.get(), i);
    if (std::strcmp(gst_sdp_media_get_media(m), "video") != 0) continue;
    if (gst_sdp_media_get_port(m) == 0) continue;
    for (guint f = 0; f < gst_sdp_media_formats_len(m); ++f) {
      if (pt == gst_sdp_media_get_format(m, f)) video_accepted = true;
    }
  }
  if (!video_accepted) {
    return Fail(ErrorKind::kUnsupported, "media: the answer does not accept " + s.codec);
  }
  GstWebRTCSessionDescription* answer =
      gst_webrtc_session_description_new(GST_WEBRTC_SDP_TYPE_ANSWER, sdp.release());
  PromiseWaiter waiter;
  g_signal_emit_by_name(s.webrtc, "set-remote-description", answer, waiter.promise());
  gst_webrtc_session_description_free(answer);
  VA_TRY(const GstStructure* reply, waiter.Wait(kSignalingTimeout));
  (void)reply;
  return {};
}

Status WebRtcPeer::AddIceCandidate(const std::string& candidate, const std::string& /*sdp_mid*/,
                                   int mline_index) {
  Impl& s = *impl_;
  std::string c = candidate;
  if (c.rfind("a=", 0) == 0) c.erase(0, 2);
  while (!c.empty() && (c.back() == '\r' || c.back() == '\n')) c.pop_back();
  if (c.empty()) return {};  // end of candidates
  if (c.rfind("candidate:", 0) != 0 || c.size() > 1024 ||
      c.find_first_of("\r\n") != std::string::npos || mline_index < 0 || mline_index > 16) {
    return Fail(ErrorKind::kInvalid, "media: malformed ICE candidate");
  }
  {
    std::lock_guard lock(s.mu);
    if (!s.offer_done || s.closing) return Fail(ErrorKind::kInvalid, "media: no session");
  }
  g_signal_emit_by_name(s.webrtc, "add-ice-candidate", static_cast<guint>(mline_index), c.c_str());
  return {};
}

void WebRtcPeer::PushFrame(const uint8_t* data, int stride, int width, int height) {
  Impl& s = *impl_;
  if (data == nullptr || width < kMinSide || width > kMaxWidth || height < kMinSide ||
      height > kMaxHeight || stride < width * 4 || s.closing) {
    return;
  }
  const size_t row = static_cast<size_t>(width) * 4;
  GstBuffer* buffer = gst_buffer_new_allocate(nullptr, row * height, nullptr);
  GstMapInfo map;
  if (gst_buffer_map(buffer, &map, GST_MAP_WRITE) == 0) {
    gst_buffer_unref(buffer);
    return;
  }
  if (static_cast<size_t>(stride) == row) {
    std::memcpy(map.data, data, row * height);
  } else {
    for (int y = 0; y < height; ++y) {
      std::memcpy(map.data + row * y, data + static_cast<size_t>(stride) * y, row);
    }
  }
  gst_buffer_unmap(buffer, &map);
  std::lock_guard lock(s.mu);
  if (s.torn_down) {
    gst_buffer_unref(buffer);
    return;
  }
  s.latest.Reset(buffer);
  s.latest_width = width;
  s.latest_height = height;
  s.dirty = true;
  if (s.connected) s.SchedulePushLocked();
}

Status WebRtcPeer::Impl::SendText(const std::string& text) {
  std::lock_guard lock(mu);
  if (!channel_open || !channel || torn_down) {
    return Fail(ErrorKind::kInvalid, "media: data channel not open");
  }
  GError* err = nullptr;
  if (gst_webrtc_data_channel_send_string_full(
          reinterpret_cast<GstWebRTCDataChannel*>(channel.get()), text.c_str(), &err) == 0) {
    std::string msg = err != nullptr ? err->message : "unknown";
    if (err != nullptr) g_error_free(err);
    return Fail(ErrorKind::kInvalid, "media: data channel send: " + msg);
  }
  return {};
}

Status WebRtcPeer::Impl::SendPing() {
  return SendText("{\"type\":\"Ping\",\"t\":" + std::to_string(NowMillis()) + "}");
}

Status WebRtcPeer::SendControl(const std::string& json) { return impl_->SendText(json); }

void WebRtcPeer::Close(const std::string& reason_json) {
  Impl& s = *impl_;
  if (s.closing.exchange(true)) return;
  {
    std::lock_guard lock(s.cb_mu);  // waits for a running callback (unless it is ours)
    s.callbacks_enabled = false;
  }
  bool was_open = false;
  {
    std::lock_guard lock(s.mu);
    was_open = s.channel_open && s.channel && !s.torn_down;
  }
  if (!was_open) {
    s.Teardown();
    return;
  }
  if (!reason_json.empty()) (void)s.SendText(reason_json);
  gst_webrtc_data_channel_close(reinterpret_cast<GstWebRTCDataChannel*>(s.channel.get()));
  // The pipeline goes to NULL on the media thread once the browser acknowledged the close
  // (OnChannelClose) or after close_wait, whichever comes first.
  Post([impl = impl_] { impl->Teardown(); }, s.config.close_wait);
}

void WebRtcPeer::Impl::WaitTornDown() {
  if (g_main_context_is_owner(GetRuntime().context) != 0) {
    Teardown();  // on the media thread: nobody else can run the scheduled teardown
    return;
  }
  std::unique_lock lock(mu);
  if (cv.wait_for(lock, config.close_wait + std::chrono::seconds(5),
                  [&] { return teardown_done; })) {
    return;
  }
  lock.unlock();
  Teardown();
}

bool WebRtcPeer::Connected() const { return impl_->connected && !impl_->closing; }

PeerStats WebRtcPeer::Stats() const {
  const Impl& s = *impl_;
  return PeerStats{s.frames_pushed,
                   s.frames_encoded,
                   s.keyframes,
                   s.keyframe_requests,
                   s.messages_received,
                   Clock::time_point(Clock::duration(s.connected_ns.load())),
                   Clock::time_point(Clock::duration(s.first_encoded_ns.load()))};
}

}  // namespace va::vault
