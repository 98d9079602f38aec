// See gst_util.h.
#include "vault/media/gst_util.h"

#include <agent.h>
#include <gst/gst.h>

namespace va::vault::media_internal {

Result<ElementPtr> MakeElement(const char* factory, const char* name) {
  GstElement* e = gst_element_factory_make(factory, name);
  if (e == nullptr) {
    return Fail(ErrorKind::kUnsupported,
                std::string("GStreamer element ") + factory + " is not installed");
  }
  return ElementPtr(GST_ELEMENT(gst_object_ref_sink(e)));
}

Status RestrictIce(GstElement* webrtcbin, const std::vector<std::string>& addresses) {
  GObject* ice = nullptr;
  g_object_get(webrtcbin, "ice-agent", &ice, nullptr);
  if (ice == nullptr) return Fail(ErrorKind::kUnsupported, "webrtcbin has no ice-agent");
  GObjectPtr ice_owner(ice);
  if (g_object_class_find_property(G_OBJECT_GET_CLASS(ice), "agent") == nullptr) {
    return Fail(ErrorKind::kUnsupported, "webrtcbin's ICE agent is not libnice");
  }
  // GstWebRTCNice mirrors these onto its NiceAgent; set them on both to be explicit.
  g_object_set(ice, "ice-tcp", FALSE, "ice-udp", TRUE, nullptr);
  GObject* agent_obj = nullptr;
  g_object_get(ice, "agent", &agent_obj, nullptr);
  if (agent_obj == nullptr) return Fail(ErrorKind::kUnsupported, "libnice agent missing");
  GObjectPtr agent_owner(agent_obj);
  g_object_set(agent_obj, "upnp", FALSE, "ice-tcp", FALSE, nullptr);
  auto* agent = reinterpret_cast<NiceAgent*>(agent_obj);
  for (const std::string& a : addresses) {
    NiceAddress addr;
    nice_address_init(&addr);
    if (nice_address_set_from_string(&addr, a.c_str()) == 0) {
      return Fail(ErrorKind::kInvalid, "ICE address " + a + " does not parse");
    }
    if (nice_agent_add_local_address(agent, &addr) == 0) {
      return Fail(ErrorKind::kInvalid, "ICE address " + a + " refused by libnice");
    }
  }
  return {};
}

std::string SdpText(const GstSDPMessage* sdp) {
  gchar* text = gst_sdp_message_as_text(sdp);
  std::string out = text != nullptr ? text : "";
  g_free(text);
  return out;
}

Result<SdpPtr> ParseSdp(const std::string& text) {
  if (text.empty()) return Fail(ErrorKind::kInvalid, "SDP is empty");
  GstSDPMessage* raw = nullptr;
  if (gst_sdp_message_new(&raw) != GST_SDP_OK) return Fail(ErrorKind::kInvalid, "sdp alloc");
  SdpPtr sdp(raw);
  if (gst_sdp_message_parse_buffer(reinterpret_cast<const guint8*>(text.data()),
                                   static_cast<guint>(text.size()), raw) != GST_SDP_OK) {
    return Fail(ErrorKind::kInvalid, "SDP does not parse");
  }
  const gchar* version = gst_sdp_message_get_version(raw);
  if (version == nullptr || std::string(version) != "0" || gst_sdp_message_medias_len(raw) == 0) {
    return Fail(ErrorKind::kInvalid, "SDP lacks v=0 or a media section");
  }
  for (guint i = 0; i < gst_sdp_message_medias_len(raw); ++i) {
    const GstSDPMedia* m = gst_sdp_message_get_media(raw, i);
    if (gst_sdp_media_get_media(m) == nullptr || gst_sdp_media_formats_len(m) == 0) {
      return Fail(ErrorKind::kInvalid, "SDP media section without formats");
    }
  }
  return sdp;
}

PromiseWaiter::PromiseWaiter()
    : state_(new State),
      promise_(gst_promise_new_with_change_func(&PromiseWaiter::Changed, state_,
                                                &PromiseWaiter::Free)) {}

void PromiseWaiter::Changed(GstPromise* /*promise*/, gpointer data) {
  auto* s = static_cast<State*>(data);
  std::lock_guard lock(s->mu);
  s->done = true;
  s->cv.notify_all();
}

void PromiseWaiter::Free(gpointer data) { delete static_cast<State*>(data); }

Result<const GstStructure*> PromiseWaiter::Wait(std::chrono::milliseconds timeout) {
  {
    std::unique_lock lock(state_->mu);
    if (!state_->cv.wait_for(lock, timeout, [this] { return state_->done; })) {
      return Fail(ErrorKind::kTimeout, "webrtcbin did not answer in time");
    }
  }
  if (gst_promise_wait(promise_.get()) != GST_PROMISE_RESULT_REPLIED) {
    return Fail(ErrorKind::kInvalid, "webrtcbin promise interrupted");
  }
  const GstStructure* reply = gst_promise_get_reply(promise_.get());
  if (reply != nullptr && gst_structure_has_field(reply, "error")) {
    GError* err = nullptr;
    gst_structure_get(reply, "error", G_TYPE_ERROR, &err, nullptr);
    std::string msg = err != nullptr ? err->message : "unknown error";
    if (err != nullptr) g_error_free(err);
    return Fail(ErrorKind::kInvalid, msg);
  }
  return reply;
}

}  // namespace va::vault::media_internal
