// Kind detection, the paged-document geometry and RenderView; see document.h.
#include "vault/viewer/document.h"

#include <cairo.h>

#include <algorithm>
#include <cmath>

#include "vault/viewer/cairo_util.h"
#include "vault/viewer/paged_document.h"

namespace va::vault::viewer {
namespace {

constexpr std::string_view kPngSignature("\x89PNG\r\n\x1a\n", 8);
constexpr std::string_view kJpegSignature("\xff\xd8\xff", 3);

// Where a page goes in the viewport: its scale and top-left corner.
struct Placement {
  double scale = 1;
  double x = 0;
  double y = 0;
};

Placement Place(const PageSize& size, const View& view) {
  Placement p;
  p.scale = view.width / size.width * view.zoom;
  const double w = size.width * p.scale;
  const double h = size.height * p.scale;
  p.x = (view.width - w) / 2;
  p.y = h < view.height ? (view.height - h) / 2 : -static_cast<double>(view.scroll);
  return p;
}

void SetRgb(cairo_t* cr, uint32_t rgb) {
  cairo_set_source_rgb(cr, ((rgb >> 16) & 0xff) / 255.0, ((rgb >> 8) & 0xff) / 255.0,
                       (rgb & 0xff) / 255.0);
}

void DrawPointer(cairo_t* cr, const View& view) {
  if (!view.pointer_visible) return;
  const double x = view.pointer_x + 0.5;
  const double y = view.pointer_y + 0.5;
  cairo_save(cr);
  cairo_new_path(cr);
  cairo_arc(cr, x, y, 7, 0, 2 * M_PI);
  // Pressed buttons fill the mark; the outline is two colours so it shows on any page.
  if (view.buttons != 0) {
    cairo_set_source_rgba(cr, 0.95, 0.35, 0.1, 0.85);
    cairo_fill_preserve(cr);
  }
  cairo_set_line_width(cr, 3);
  cairo_set_source_rgb(cr, 1, 1, 1);
  cairo_stroke_preserve(cr);
  cairo_set_line_width(cr, 1.5);
  cairo_set_source_rgb(cr, 0, 0, 0);
  cairo_stroke(cr);
  cairo_restore(cr);
}

}  // namespace

DocumentKind DetectKind(std::string_view bytes) {
  if (bytes.starts_with("%PDF-")) return DocumentKind::kPdf;
  if (bytes.starts_with(kPngSignature) || bytes.starts_with(kJpegSignature)) {
    return DocumentKind::kImage;
  }
  return DocumentKind::kText;
}

Result<std::unique_ptr<Document>> LoadDocument(std::string bytes) {
  switch (DetectKind(bytes)) {
    case DocumentKind::kPdf:
      return LoadPdf(std::move(bytes));
    case DocumentKind::kImage:
      return bytes.starts_with(kPngSignature) ? LoadPng(bytes) : LoadJpeg(bytes);
    case DocumentKind::kText:
      return LoadText(std::move(bytes));
  }
  return Fail(ErrorKind::kUnsupported, "unsupported file");
}

double PagedDocument::ContentHeight(const View& view) const {
  const PageSize size = SizeOf(view.page);
  return size.height * (view.width / size.width * view.zoom);
}

Status PagedDocument::Draw(cairo_t* cr, const View& view) const {
  const PageSize size = SizeOf(view.page);
  const Placement p = Place(size, view);
  cairo_save(cr);
  cairo_translate(cr, p.x, p.y);
  cairo_scale(cr, p.scale, p.scale);
  cairo_rectangle(cr, 0, 0, size.width, size.height);
  cairo_clip(cr);
  cairo_set_source_rgb(cr, 1, 1, 1);
  cairo_paint(cr);
  Status drawn = DrawPage(cr, view.page);
  cairo_restore(cr);
  return drawn;
}

Status RenderView(const Document& document, const View& view, std::span<uint8_t> pixels,
                  size_t stride) {
  VA_CHECK(view.width > 0 && view.height > 0 && stride >= static_cast<size_t>(view.width) * 4 &&
               pixels.size() >= stride * static_cast<size_t>(view.height) && stride % 4 == 0,
           "frame buffer too small for the view");
  CairoSurface surface(cairo_image_surface_create_for_data(
      pixels.data(), CAIRO_FORMAT_RGB24, view.width, view.height, static_cast<int>(stride)));
  if (cairo_surface_status(surface.get()) != CAIRO_STATUS_SUCCESS) {
    return Fail(ErrorKind::kInvalid,
                std::string("cairo surface: ") +
                    cairo_status_to_string(cairo_surface_status(surface.get())));
  }
  Cairo cr(cairo_create(surface.get()));
  SetRgb(cr.get(), kBackgroundRgb);
  cairo_paint(cr.get());
  Status drawn = document.Draw(cr.get(), view);
  DrawPointer(cr.get(), view);
  cr.reset();
  cairo_surface_flush(surface.get());
  return drawn;
}

}  // namespace va::vault::viewer
