// Documents the viewer can show: PDF (poppler), PNG (cairo), JPEG (libjpeg-turbo) and UTF-8 text
// (pango, monospace, wrapped to the viewport and paged by its height). The kind is found from the
// bytes alone: "%PDF-", the PNG signature, FF D8 FF, otherwise text.
//
// LoadDocument() fails (kCorrupt, kUnsupported or kInvalid, with a message fit to show a user) for
// a PDF poppler cannot open or that has no pages, an encrypted PDF, a PNG or JPEG that cannot be
// decoded or exceeds kMaxImagePixels, text that is not valid UTF-8 (a NUL byte included) or is
// longer than kMaxTextBytes. Nothing here touches any file: the bytes are given.
//
// RenderView() paints one View into a BGRx buffer: a neutral background, the page (fitted to the
// width, times the zoom, centred horizontally, letterboxed vertically when shorter than the
// viewport, otherwise scrolled) and the pointer mark.
#pragma once

#include <cairo.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>

#include "base/result.h"
#include "vault/viewer/protocol.h"
#include "vault/viewer/view_state.h"

namespace va::vault::viewer {

inline constexpr size_t kMaxImagePixels = size_t{40} << 20;
inline constexpr size_t kMaxTextBytes = size_t{2} << 20;
// 0xRRGGBB of the letterbox around a page.
inline constexpr uint32_t kBackgroundRgb = 0x3a3a3a;

DocumentKind DetectKind(std::string_view bytes);

class Document : public PageMetrics {
 public:
  virtual DocumentKind Kind() const = 0;
  // Draws view.page onto cr, whose target is view.width x view.height with the background
  // already painted. Fails when the page cannot be rendered (the caller shows the background).
  virtual Status Draw(cairo_t* cr, const View& view) const = 0;
};

Result<std::unique_ptr<Document>> LoadDocument(std::string bytes);

// Paints `view` of `document` into `pixels` (BGRx, `stride` bytes a row, at least view.height
// rows). A page that fails to draw leaves the background; the error is returned after painting.
Status RenderView(const Document& document, const View& view, std::span<uint8_t> pixels,
                  size_t stride);

}  // namespace va::vault::viewer
