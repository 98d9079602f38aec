// Small GStreamer helpers shared by the media layer and its tests (internal to src/vault/media).
//
// - Owned<T>: a move-only owner of one GObject/GstObject/GstMiniObject-like reference, released
//   with the matching unref; nullptr is a valid (empty) owner.
// - RestrictIce(webrtcbin, addresses): makes the webrtcbin's libnice agent gather host candidates
//   only on the given local addresses, with UPnP and ICE-TCP off, so nothing leaves the machine
//   except toward what the configuration names. Fails (kUnsupported) when the ICE agent is not
//   the libnice one or an address does not parse.
// - PromiseWaiter: a change-func GstPromise that a thread outside GStreamer's callbacks can wait
//   on with a deadline (never use it inside on-negotiation-needed or any webrtcbin signal).
// - SdpText / ParseSdp: SDP to text and back; ParseSdp fails (kInvalid) for text that is not a
//   plausible session description (no "v=0" version or no media section).
#pragma once

#include <gst/gst.h>
#include <gst/sdp/sdp.h>

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "base/result.h"

namespace va::vault::media_internal {

template <typename T, void (*Unref)(T*)>
class Owned {
 public:
  Owned() = default;
  explicit Owned(T* p) : p_(p) {}
  Owned(const Owned&) = delete;
  Owned& operator=(const Owned&) = delete;
  Owned(Owned&& o) noexcept : p_(std::exchange(o.p_, nullptr)) {}
  Owned& operator=(Owned&& o) noexcept {
    if (this != &o) Reset(std::exchange(o.p_, nullptr));
    return *this;
  }
  ~Owned() { Reset(); }
  void Reset(T* p = nullptr) {
    if (p_ != nullptr) Unref(p_);
    p_ = p;
  }
  T* get() const { return p_; }
  T* release() { return std::exchange(p_, nullptr); }
  explicit operator bool() const { return p_ != nullptr; }

 private:
  T* p_ = nullptr;
};

inline void UnrefGstObject(GstElement* e) { gst_object_unref(e); }
inline void UnrefGstPad(GstPad* p) { gst_object_unref(p); }
inline void UnrefGObject(GObject* o) { g_object_unref(o); }
inline void UnrefGstBuffer(GstBuffer* b) { gst_buffer_unref(b); }
inline void UnrefGstCaps(GstCaps* c) { gst_caps_unref(c); }
inline void UnrefGstPromise(GstPromise* p) { gst_promise_unref(p); }
inline void FreeSdp(GstSDPMessage* m) { gst_sdp_message_free(m); }

using ElementPtr = Owned<GstElement, UnrefGstObject>;
using PadPtr = Owned<GstPad, UnrefGstPad>;
using GObjectPtr = Owned<GObject, UnrefGObject>;
using BufferPtr = Owned<GstBuffer, UnrefGstBuffer>;
using CapsPtr = Owned<GstCaps, UnrefGstCaps>;
using PromisePtr = Owned<GstPromise, UnrefGstPromise>;
using SdpPtr = Owned<GstSDPMessage, FreeSdp>;

// Creates an element or fails with kUnsupported naming the missing plugin.
Result<ElementPtr> MakeElement(const char* factory, const char* name = nullptr);

Status RestrictIce(GstElement* webrtcbin, const std::vector<std::string>& addresses);

std::string SdpText(const GstSDPMessage* sdp);
Result<SdpPtr> ParseSdp(const std::string& text);

class PromiseWaiter {
 public:
  PromiseWaiter();
  PromiseWaiter(const PromiseWaiter&) = delete;
  PromiseWaiter& operator=(const PromiseWaiter&) = delete;
  ~PromiseWaiter() = default;

  GstPromise* promise() const { return promise_.get(); }
  // The reply (owned by the promise; may be null) once replied; kTimeout after `timeout`,
  // kInvalid when the promise was interrupted/expired or the reply carries an "error".
  Result<const GstStructure*> Wait(std::chrono::milliseconds timeout);

 private:
  struct State {
    std::mutex mu;
    std::condition_variable cv;
    bool done = false;
  };
  static void Changed(GstPromise* promise, gpointer data);
  static void Free(gpointer data);

  State* state_;  // freed with the promise
  PromisePtr promise_;
};

}  // namespace va::vault::media_internal
