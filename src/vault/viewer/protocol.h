// The messages between vault-viewer and vaultd (docs/vault-viewer-protocol.md): one JSON object per
// SOCK_SEQPACKET datagram of at most kMaxMessageBytes. Both directions are encoded and parsed here
// so that the viewer, the server and the tests share one definition.
//
// Parsing is strict about shape and lenient about nothing: a message that is not an object, has
// an unknown "type", misses a field, has a field of the wrong type, a non-integral value where an
// integer is required, or a number outside what the field can hold fails with kInvalid. Clamping
// to the viewer's limits (size, zoom, page range) is the state machine's business, not the
// parser's. Unknown extra fields are ignored.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <variant>

#include "base/result.h"

namespace va::vault::viewer {

inline constexpr size_t kMaxMessageBytes = 4096;

enum class DocumentKind { kPdf, kImage, kText };
// "pdf", "image", "text".
std::string_view DocumentKindName(DocumentKind kind);

// Viewer → server.
struct ReadyMessage {
  int pages = 0;
  DocumentKind kind = DocumentKind::kPdf;
  bool operator==(const ReadyMessage&) const = default;
};
struct FrameMessage {
  int slot = 0;
  int width = 0;
  int height = 0;
  uint64_t seq = 0;
  int page = 0;
  bool operator==(const FrameMessage&) const = default;
};
struct ErrorMessage {
  std::string message;
  bool operator==(const ErrorMessage&) const = default;
};
using ViewerMessage = std::variant<ReadyMessage, FrameMessage, ErrorMessage>;

// Server → viewer.
struct ReleaseMessage {
  int slot = 0;
  bool operator==(const ReleaseMessage&) const = default;
};
struct ResizeMessage {
  int width = 0;
  int height = 0;
  bool operator==(const ResizeMessage&) const = default;
};
struct NextPageMessage {
  bool operator==(const NextPageMessage&) const = default;
};
struct PrevPageMessage {
  bool operator==(const PrevPageMessage&) const = default;
};
struct GotoPageMessage {
  int page = 0;  // 1-based
  bool operator==(const GotoPageMessage&) const = default;
};
struct ScrollMessage {
  double dy = 0;  // pixels; negative scrolls up
  bool operator==(const ScrollMessage&) const = default;
};
struct ZoomMessage {
  double factor = 1;  // relative to the current zoom
  bool operator==(const ZoomMessage&) const = default;
};
struct PointerMessage {
  double x = 0;
  double y = 0;
  uint32_t buttons = 0;
  bool operator==(const PointerMessage&) const = default;
};
using ServerMessage = std::variant<ReleaseMessage, ResizeMessage, NextPageMessage, PrevPageMessage,
                                   GotoPageMessage, ScrollMessage, ZoomMessage, PointerMessage>;

// Compact JSON ({"type":…,…}); an ErrorMessage's text is cut so the datagram stays within
// kMaxMessageBytes (at a UTF-8 character boundary).
std::string Encode(const ViewerMessage& message);
std::string Encode(const ServerMessage& message);

// kInvalid with the reason ("not JSON", "unknown type \"x\"", "field \"page\" …").
Result<ViewerMessage> ParseViewerMessage(std::string_view datagram);
Result<ServerMessage> ParseServerMessage(std::string_view datagram);

}  // namespace va::vault::viewer
