// The server's WebRTC peer: one per viewing session, sending the session's frames as video
// (VP8 by default, H.264 on request) and carrying input and control on one data channel.
//
// Contract:
// - InitMedia() once per process, before any peer: initialises GStreamer, checks the needed
//   plugins, starts the media thread (a GMainLoop on its own GMainContext), makes the DTLS
//   certificate (the first one in a process costs 0.4–0.75 s) and warms up with a throwaway
//   peer and offer, so no session pays for any of it. Blocks for up to a few seconds.
//   Fails with kUnsupported when a plugin is missing. Later calls are no-ops returning the
//   first call's result; the configuration is the first call's.
// - A peer gathers ICE host candidates only on MediaConfig::ice_addresses (plus STUN/TURN when
//   configured); libnice's UPnP and ICE-TCP are off.
// - CreateOffer() returns a complete offer (ICE gathering finished, candidates inline). It
//   blocks the calling thread up to `timeout`; never call it from a callback of this layer.
// - Nothing is encoded before the peer is connected. PushFrame() copies the picture; frames
//   pushed before the connection are kept (only the newest) and the newest is sent when the
//   peer connects. Frames are never repeated while the picture is still, except the newest one
//   once more after a keyframe request (PLI) from the browser. The first frame after connect
//   and the one after a PLI are keyframes. Frames faster than max_fps are coalesced (newest
//   wins).
// - Heartbeat: after connect the peer sends {"type":"Ping","t":MS} every heartbeat_interval on
//   the data channel; when nothing (Pong or anything else) arrives for heartbeat_timeout,
//   on_closed("PeerTimeout") fires. Pong messages are consumed, not passed to on_input.
// - Callbacks run on the media thread, one at a time, never after the peer's destructor or
//   Close() has returned. They may call any method of the peer, including Close() and the
//   destructor (from on_closed, for instance). They must not block for long.
//   on_closed fires at most once, with "PeerTimeout" (heartbeat), "PeerClosed" (the browser
//   closed the data channel) or "PeerFailed" (ICE/DTLS failed, or a pipeline error), never
//   after Close(). Close() from another thread waits for a callback that is running.
// - Codec: the offer carries one codec, the peer's (PeerOptions::codec, else the configured
//   preference). An answer that rejects it gets kUnsupported from SetAnswer(); there is no
//   renegotiation to the other codec — the caller may create a new peer with the other codec.
// - Close(reason_json) sends reason_json on the data channel (when open), closes the channel
//   and returns at once (well under a millisecond); from then on no frame is encoded and no
//   callback runs. The pipeline goes to NULL on the media thread once the browser acknowledged
//   the close, or after close_wait. When the channel was not open, Close() tears down at once
//   (a few ms). Idempotent. The destructor closes the same way (without a message) and waits
//   for the teardown, so after it returns no GStreamer thread of the peer remains.
// - All methods are thread-safe.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "base/result.h"

namespace va::vault {

struct MediaConfig {
  std::vector<std::string> ice_addresses = {"127.0.0.1"};  // host candidates only from these
  std::vector<std::string> stun_servers;  // stun://host:port (webrtcbin uses the first only)
  std::vector<std::string> turn_servers;  // turn(s)://user:pass@host:port
  int min_bitrate_kbps = 100;
  int max_bitrate_kbps = 8000;
  int default_bitrate_kbps = 2000;
  int max_fps = 30;
  std::string codec_preference = "vp8";  // "vp8" or "h264"
  std::chrono::milliseconds heartbeat_interval{2000};
  std::chrono::milliseconds heartbeat_timeout{6000};
  std::chrono::milliseconds close_wait{300};  // Close(): wait for the browser's close ack
};

Status InitMedia(const MediaConfig& config);
// The configuration InitMedia() accepted (defaults before).
const MediaConfig& CurrentMediaConfig();
// Time InitMedia() spent making the DTLS certificate (for logs and benchmarks).
std::chrono::microseconds CertificateWarmupTime();
// Time InitMedia() spent on a throwaway peer and offer (the rest of a first peer's cost).
std::chrono::microseconds PeerWarmupTime();

struct PeerCallbacks {
  // ICE+DTLS connected and the data channel open (SendControl works from here on). Frames
  // start flowing at the ICE+DTLS connection already, a few ms earlier.
  std::function<void()> on_connected;
  std::function<void(std::string json)> on_input;  // any data-channel message but Pong
  std::function<void(std::string reason)> on_closed;
  std::function<void()> on_keyframe_request;  // the browser sent a PLI/FIR
};

struct PeerOptions {
  int width = 1280;
  int height = 720;
  std::string session_id;  // for logs
  int bitrate_kbps = 0;    // 0: the configured default; clamped to the configured range
  std::string codec;       // "" : the configured preference; "vp8" or "h264"
  PeerCallbacks callbacks;
};

struct PeerStats {
  uint64_t frames_pushed = 0;   // frames handed to the encoder
  uint64_t frames_encoded = 0;  // buffers out of the encoder
  uint64_t keyframes = 0;       // of which keyframes
  uint64_t keyframe_requests = 0;
  uint64_t messages_received = 0;
  // When the peer connected and when the encoder delivered its first frame (epoch when not yet).
  std::chrono::steady_clock::time_point connected_at{};
  std::chrono::steady_clock::time_point first_frame_encoded_at{};
};

class WebRtcPeer {
 public:
  // Builds and starts the pipeline (idle until connected). kUnsupported when InitMedia() was
  // not called or a plugin is missing, kInvalid for a size outside 16…3840 x 16…2160 or an
  // unknown codec.
  static Result<std::unique_ptr<WebRtcPeer>> Create(const PeerOptions& options);
  ~WebRtcPeer();
  WebRtcPeer(const WebRtcPeer&) = delete;
  WebRtcPeer& operator=(const WebRtcPeer&) = delete;

  // The complete SDP offer. kTimeout when gathering did not finish in time, kInvalid when
  // called twice or after Close().
  Result<std::string> CreateOffer(std::chrono::milliseconds timeout);
  // kInvalid for unparsable SDP, an answer before the offer, or one webrtcbin refuses;
  // kUnsupported when the answer rejects the video codec.
  Status SetAnswer(const std::string& sdp);
  // A trickled remote candidate ("candidate:…" with or without the "a=" prefix); an empty
  // candidate (end of candidates) is accepted and ignored. kInvalid for a malformed one.
  Status AddIceCandidate(const std::string& candidate, const std::string& sdp_mid, int mline_index);
  // Copies a BGRx picture (rows of `stride` bytes, top-down). Ignored after Close() and for
  // impossible sizes. A size change renegotiates the encoder (a keyframe follows).
  void PushFrame(const uint8_t* data, int stride, int width, int height);
  // Sends a text message on the data channel; kInvalid when the channel is not open.
  Status SendControl(const std::string& json);
  void Close(const std::string& reason_json);
  bool Connected() const;
  PeerStats Stats() const;

  struct Impl;

 private:
  explicit WebRtcPeer(std::shared_ptr<Impl> impl);
  std::shared_ptr<Impl> impl_;
};

}  // namespace va::vault
