// JSON encoding and strict parsing of the viewer protocol; see protocol.h.
#include "vault/viewer/protocol.h"

#include <boost/json.hpp>
#include <cmath>
#include <limits>
#include <optional>
#include <string>

namespace va::vault::viewer {
namespace json = boost::json;
namespace {

tl::unexpected<Error> Invalid(std::string message) {
  return Fail(ErrorKind::kInvalid, std::move(message));
}

Result<double> NumberField(const json::object& obj, const char* name) {
  const json::value* v = obj.if_contains(name);
  if (v == nullptr) return Invalid(std::string("missing field \"") + name + "\"");
  double d = 0;
  if (const auto* i = v->if_int64()) {
    d = static_cast<double>(*i);
  } else if (const auto* u = v->if_uint64()) {
    d = static_cast<double>(*u);
  } else if (const auto* f = v->if_double()) {
    d = *f;
  } else {
    return Invalid(std::string("field \"") + name + "\" is not a number");
  }
  if (!std::isfinite(d)) return Invalid(std::string("field \"") + name + "\" is not finite");
  return d;
}

// An integral number within [lo, hi] (2 and 2.0 are both accepted).
Result<int64_t> IntField(const json::object& obj, const char* name, int64_t lo, int64_t hi) {
  VA_TRY(double d, NumberField(obj, name));
  if (d != std::floor(d) || d < static_cast<double>(lo) || d > static_cast<double>(hi)) {
    return Invalid(std::string("field \"") + name + "\" is not an integer in range");
  }
  return static_cast<int64_t>(d);
}

constexpr int64_t kIntMin = std::numeric_limits<int>::min();
constexpr int64_t kIntMax = std::numeric_limits<int>::max();

Result<int> IntFieldInt(const json::object& obj, const char* name) {
  VA_TRY(int64_t v, IntField(obj, name, kIntMin, kIntMax));
  return static_cast<int>(v);
}

// Largest prefix of `text` of at most `max` bytes that ends on a UTF-8 character boundary.
std::string CutUtf8(std::string_view text, size_t max) {
  if (text.size() <= max) return std::string(text);
  size_t end = max;
  while (end > 0 && (static_cast<unsigned char>(text[end]) & 0xC0) == 0x80) --end;
  return std::string(text.substr(0, end));
}

Result<json::object> ParseObject(std::string_view datagram, std::string& type) {
  if (datagram.size() > kMaxMessageBytes) return Invalid("message longer than 4096 bytes");
  boost::system::error_code ec;
  json::value v = json::parse(datagram, ec);
  if (ec) return Invalid("not JSON: " + ec.message());
  auto* obj = v.if_object();
  if (obj == nullptr) return Invalid("not a JSON object");
  const json::value* t = obj->if_contains("type");
  if (t == nullptr || !t->is_string()) return Invalid("no string field \"type\"");
  type = std::string(t->get_string());
  return std::move(*obj);
}

}  // namespace

std::string_view DocumentKindName(DocumentKind kind) {
  switch (kind) {
    case DocumentKind::kPdf:
      return "pdf";
    case DocumentKind::kImage:
      return "image";
    case DocumentKind::kText:
      return "text";
  }
  return "unknown";
}

std::string Encode(const ViewerMessage& message) {
  json::object obj;
  if (const auto* m = std::get_if<ReadyMessage>(&message)) {
    obj["type"] = "ready";
    obj["pages"] = m->pages;
    obj["kind"] = DocumentKindName(m->kind);
  } else if (const auto* m = std::get_if<FrameMessage>(&message)) {
    obj["type"] = "frame";
    obj["slot"] = m->slot;
    obj["width"] = m->width;
    obj["height"] = m->height;
    obj["seq"] = m->seq;
    obj["page"] = m->page;
  } else {
    const auto& e = std::get<ErrorMessage>(message);
    obj["type"] = "error";
    // JSON escaping can at most multiply the length by 6 ("\u00xx"); 600 bytes always fit.
    obj["message"] = CutUtf8(e.message, 600);
  }
  return json::serialize(obj);
}

std::string Encode(const ServerMessage& message) {
  json::object obj;
  std::visit(
      [&obj](const auto& m) {
        using T = std::decay_t<decltype(m)>;
        if constexpr (std::is_same_v<T, ReleaseMessage>) {
          obj["type"] = "release";
          obj["slot"] = m.slot;
        } else if constexpr (std::is_same_v<T, ResizeMessage>) {
          obj["type"] = "resize";
          obj["width"] = m.width;
          obj["height"] = m.height;
        } else if constexpr (std::is_same_v<T, NextPageMessage>) {
          obj["type"] = "next_page";
        } else if constexpr (std::is_same_v<T, PrevPageMessage>) {
          obj["type"] = "prev_page";
        } else if constexpr (std::is_same_v<T, GotoPageMessage>) {
          obj["type"] = "goto_page";
          obj["page"] = m.page;
        } else if constexpr (std::is_same_v<T, ScrollMessage>) {
          obj["type"] = "scroll";
          obj["dy"] = m.dy;
        } else if constexpr (std::is_same_v<T, ZoomMessage>) {
          obj["type"] = "zoom";
          obj["factor"] = m.factor;
        } else {
          obj["type"] = "pointer";
          obj["x"] = m.x;
          obj["y"] = m.y;
          obj["buttons"] = m.buttons;
        }
      },
      message);
  return json::serialize(obj);
}

Result<ViewerMessage> ParseViewerMessage(std::string_view datagram) {
  std::string type;
  VA_TRY(json::object obj, ParseObject(datagram, type));
  if (type == "ready") {
    VA_TRY(int pages, IntFieldInt(obj, "pages"));
    const json::value* k = obj.if_contains("kind");
    if (k == nullptr || !k->is_string()) return Invalid("no string field \"kind\"");
    const json::string& ks = k->get_string();
    ReadyMessage m{pages, DocumentKind::kPdf};
    if (ks == "pdf") {
      m.kind = DocumentKind::kPdf;
    } else if (ks == "image") {
      m.kind = DocumentKind::kImage;
    } else if (ks == "text") {
      m.kind = DocumentKind::kText;
    } else {
      return Invalid("unknown kind");
    }
    return m;
  }
  if (type == "frame") {
    FrameMessage m;
    VA_TRY(m.slot, IntFieldInt(obj, "slot"));
    VA_TRY(m.width, IntFieldInt(obj, "width"));
    VA_TRY(m.height, IntFieldInt(obj, "height"));
    VA_TRY(int64_t seq, IntField(obj, "seq", 0, int64_t{1} << 53));
    m.seq = static_cast<uint64_t>(seq);
    VA_TRY(m.page, IntFieldInt(obj, "page"));
    return m;
  }
  if (type == "error") {
    const json::value* msg = obj.if_contains("message");
    if (msg == nullptr || !msg->is_string()) return Invalid("no string field \"message\"");
    return ErrorMessage{std::string(msg->get_string())};
  }
  return Invalid("unknown type \"" + CutUtf8(type, 64) + "\"");
}

Result<ServerMessage> ParseServerMessage(std::string_view datagram) {
  std::string type;
  VA_TRY(json::object obj, ParseObject(datagram, type));
  if (type == "release") {
    VA_TRY(int slot, IntFieldInt(obj, "slot"));
    return ReleaseMessage{slot};
  }
  if (type == "resize") {
    VA_TRY(int w, IntFieldInt(obj, "width"));
    VA_TRY(int h, IntFieldInt(obj, "height"));
    return ResizeMessage{w, h};
  }
  if (type == "next_page") return NextPageMessage{};
  if (type == "prev_page") return PrevPageMessage{};
  if (type == "goto_page") {
    VA_TRY(int page, IntFieldInt(obj, "page"));
    return GotoPageMessage{page};
  }
  if (type == "scroll") {
    VA_TRY(double dy, NumberField(obj, "dy"));
    return ScrollMessage{dy};
  }
  if (type == "zoom") {
    VA_TRY(double factor, NumberField(obj, "factor"));
    return ZoomMessage{factor};
  }
  if (type == "pointer") {
    VA_TRY(double x, NumberField(obj, "x"));
    VA_TRY(double y, NumberField(obj, "y"));
    VA_TRY(int64_t buttons, IntField(obj, "buttons", 0, 0xFFFFFFFF));
    return PointerMessage{x, y, static_cast<uint32_t>(buttons)};
  }
  return Invalid("unknown type \"" + CutUtf8(type, 64) + "\"");
}

}  // namespace va::vault::viewer
