// Test documents made with cairo and libjpeg; see test_documents.h.
#include "vault/viewer/test_documents.h"

#include <cairo-pdf.h>
#include <cairo.h>
// jpeglib.h needs size_t and FILE declared first.
#include <jpeglib.h>

#include <cstdio>
#include <cstdlib>

namespace va::vault::viewer::testing {
namespace {

cairo_status_t Append(void* closure, const unsigned char* data, unsigned int length) {
  static_cast<std::string*>(closure)->append(reinterpret_cast<const char*>(data), length);
  return CAIRO_STATUS_SUCCESS;
}

void SetRgb(cairo_t* cr, uint32_t rgb) {
  cairo_set_source_rgb(cr, ((rgb >> 16) & 0xff) / 255.0, ((rgb >> 8) & 0xff) / 255.0,
                       (rgb & 0xff) / 255.0);
}

void Require(bool ok, const char* what) {
  if (!ok) {
    std::fprintf(stderr, "test_documents: %s failed\n", what);
    std::abort();
  }
}

}  // namespace

std::string MakePdf(const std::vector<uint32_t>& page_colours, double width, double height) {
  std::string out;
  cairo_surface_t* surface = cairo_pdf_surface_create_for_stream(Append, &out, width, height);
  cairo_t* cr = cairo_create(surface);
  for (uint32_t rgb : page_colours) {
    SetRgb(cr, rgb);
    cairo_paint(cr);
    cairo_show_page(cr);
  }
  cairo_destroy(cr);
  cairo_surface_finish(surface);
  Require(cairo_surface_status(surface) == CAIRO_STATUS_SUCCESS, "cairo PDF surface");
  cairo_surface_destroy(surface);
  return out;
}

std::string MakeTwoBandPdf(uint32_t top, uint32_t bottom, double width, double height) {
  std::string out;
  cairo_surface_t* surface = cairo_pdf_surface_create_for_stream(Append, &out, width, height);
  cairo_t* cr = cairo_create(surface);
  SetRgb(cr, top);
  cairo_rectangle(cr, 0, 0, width, height / 2);
  cairo_fill(cr);
  SetRgb(cr, bottom);
  cairo_rectangle(cr, 0, height / 2, width, height / 2);
  cairo_fill(cr);
  cairo_show_page(cr);
  cairo_destroy(cr);
  cairo_surface_finish(surface);
  Require(cairo_surface_status(surface) == CAIRO_STATUS_SUCCESS, "cairo PDF surface");
  cairo_surface_destroy(surface);
  return out;
}

std::string MakeTextPdf(int lines, double width, double height) {
  std::string out;
  cairo_surface_t* surface = cairo_pdf_surface_create_for_stream(Append, &out, width, height);
  cairo_t* cr = cairo_create(surface);
  cairo_select_font_face(cr, "DejaVu Sans", CAIRO_FONT_SLANT_NORMAL, CAIRO_FONT_WEIGHT_NORMAL);
  cairo_set_font_size(cr, 10);
  cairo_set_source_rgb(cr, 0, 0, 0);
  const double step = (height - 72) / lines;
  for (int i = 0; i < lines; ++i) {
    cairo_move_to(cr, 36, 36 + step * (i + 1));
    const std::string line = "Line " + std::to_string(i + 1) +
                             ": The quick brown fox jumps over the lazy dog, 0123456789 times.";
    cairo_show_text(cr, line.c_str());
  }
  cairo_show_page(cr);
  cairo_destroy(cr);
  cairo_surface_finish(surface);
  Require(cairo_surface_status(surface) == CAIRO_STATUS_SUCCESS, "cairo PDF surface");
  cairo_surface_destroy(surface);
  return out;
}

std::string MakePng(int width, int height, uint32_t rgb) {
  cairo_surface_t* surface = cairo_image_surface_create(CAIRO_FORMAT_RGB24, width, height);
  cairo_t* cr = cairo_create(surface);
  SetRgb(cr, rgb);
  cairo_paint(cr);
  cairo_destroy(cr);
  std::string out;
  Require(cairo_surface_write_to_png_stream(surface, Append, &out) == CAIRO_STATUS_SUCCESS,
          "PNG encoding");
  cairo_surface_destroy(surface);
  return out;
}

std::string MakeJpeg(int width, int height, uint32_t rgb, int quality) {
  jpeg_compress_struct cinfo{};
  jpeg_error_mgr jerr{};
  cinfo.err = jpeg_std_error(&jerr);
  jpeg_create_compress(&cinfo);
  unsigned char* buffer = nullptr;
  unsigned long size = 0;
  jpeg_mem_dest(&cinfo, &buffer, &size);
  cinfo.image_width = static_cast<JDIMENSION>(width);
  cinfo.image_height = static_cast<JDIMENSION>(height);
  cinfo.input_components = 3;
  cinfo.in_color_space = JCS_RGB;
  jpeg_set_defaults(&cinfo);
  jpeg_set_quality(&cinfo, quality, TRUE);
  jpeg_start_compress(&cinfo, TRUE);
  std::vector<unsigned char> row(static_cast<size_t>(width) * 3);
  for (size_t i = 0; i < row.size(); i += 3) {
    row[i] = static_cast<unsigned char>(rgb >> 16);
    row[i + 1] = static_cast<unsigned char>(rgb >> 8);
    row[i + 2] = static_cast<unsigned char>(rgb);
  }
  while (cinfo.next_scanline < cinfo.image_height) {
    JSAMPROW rows[1] = {row.data()};
    jpeg_write_scanlines(&cinfo, rows, 1);
  }
  jpeg_finish_compress(&cinfo);
  jpeg_destroy_compress(&cinfo);
  std::string out(reinterpret_cast<const char*>(buffer), size);
  std::free(buffer);  // NOLINT(cppcoreguidelines-no-malloc): jpeg_mem_dest allocates with malloc
  return out;
}

uint32_t PixelAt(std::span<const uint8_t> pixels, size_t stride, int x, int y) {
  const uint8_t* p = pixels.data() + stride * static_cast<size_t>(y) + static_cast<size_t>(x) * 4;
  return static_cast<uint32_t>(p[2]) << 16 | static_cast<uint32_t>(p[1]) << 8 | p[0];
}

bool NearColour(uint32_t a, uint32_t b, int tolerance) {
  for (int shift = 0; shift <= 16; shift += 8) {
    const int ca = static_cast<int>((a >> shift) & 0xff);
    const int cb = static_cast<int>((b >> shift) & 0xff);
    if (ca - cb > tolerance || cb - ca > tolerance) return false;
  }
  return true;
}

uint64_t HashPixels(std::span<const uint8_t> pixels, size_t stride, int width, int height) {
  uint64_t h = 1469598103934665603ULL;
  for (int y = 0; y < height; ++y) {
    const uint8_t* row = pixels.data() + stride * static_cast<size_t>(y);
    for (int x = 0; x < width; ++x) {
      for (int c = 0; c < 3; ++c) {
        h ^= row[x * 4 + c];
        h *= 1099511628211ULL;
      }
    }
  }
  return h;
}

}  // namespace va::vault::viewer::testing
