// One-page images: PNG decoded by cairo from memory, JPEG by libjpeg-turbo's TurboJPEG API (which
// reports errors by return value, so no longjmp crosses C++ frames). Dimensions are checked before
// any pixel is decoded, so a small file cannot make the viewer allocate gigabytes.
#include <turbojpeg.h>

#include <cstring>

#include "vault/viewer/cairo_util.h"
#include "vault/viewer/paged_document.h"

namespace va::vault::viewer {
namespace {

constexpr int kMaxSide = 32767;  // cairo's image surface limit

class ImageDocument final : public PagedDocument {
 public:
  explicit ImageDocument(CairoSurface surface)
      : surface_(std::move(surface)),
        size_{static_cast<double>(cairo_image_surface_get_width(surface_.get())),
              static_cast<double>(cairo_image_surface_get_height(surface_.get()))} {}

  DocumentKind Kind() const override { return DocumentKind::kImage; }
  int Pages() const override { return 1; }

 protected:
  PageSize SizeOf(int /*page*/) const override { return size_; }
  Status DrawPage(cairo_t* cr, int /*page*/) const override {
    cairo_set_source_surface(cr, surface_.get(), 0, 0);
    cairo_pattern_set_filter(cairo_get_source(cr), CAIRO_FILTER_GOOD);
    cairo_paint(cr);
    return {};
  }

 private:
  CairoSurface surface_;
  PageSize size_;
};

Status CheckDimensions(int64_t w, int64_t h) {
  if (w <= 0 || h <= 0) return Fail(ErrorKind::kCorrupt, "the image has no pixels");
  if (w > kMaxSide || h > kMaxSide || static_cast<uint64_t>(w * h) > kMaxImagePixels) {
    return Fail(ErrorKind::kUnsupported,
                "the image is too large (" + std::to_string(w) + "x" + std::to_string(h) + ")");
  }
  return {};
}

uint32_t BigEndian32(const std::string& bytes, size_t at) {
  const auto* p = reinterpret_cast<const unsigned char*>(bytes.data() + at);
  return static_cast<uint32_t>(p[0]) << 24 | static_cast<uint32_t>(p[1]) << 16 |
         static_cast<uint32_t>(p[2]) << 8 | static_cast<uint32_t>(p[3]);
}

struct PngReader {
  const std::string* bytes;
  size_t at = 0;
};

cairo_status_t ReadPng(void* closure, unsigned char* data, unsigned int length) {
  auto* r = static_cast<PngReader*>(closure);
  if (r->bytes->size() - r->at < length) return CAIRO_STATUS_READ_ERROR;
  std::memcpy(data, r->bytes->data() + r->at, length);
  r->at += length;
  return CAIRO_STATUS_SUCCESS;
}

struct TjDeleter {
  void operator()(void* handle) const { tjDestroy(handle); }
};

}  // namespace

Result<std::unique_ptr<Document>> LoadPng(const std::string& bytes) {
  // Signature (8), IHDR length and type (8), width and height (8).
  if (bytes.size() < 24 || bytes.compare(12, 4, "IHDR") != 0) {
    return Fail(ErrorKind::kCorrupt, "the PNG image is damaged");
  }
  VA_TRY_STATUS(CheckDimensions(BigEndian32(bytes, 16), BigEndian32(bytes, 20)));
  PngReader reader{&bytes};
  CairoSurface surface(cairo_image_surface_create_from_png_stream(ReadPng, &reader));
  const cairo_status_t status = cairo_surface_status(surface.get());
  if (status != CAIRO_STATUS_SUCCESS) {
    return Fail(ErrorKind::kCorrupt,
                std::string("the PNG image cannot be decoded: ") + cairo_status_to_string(status));
  }
  return std::make_unique<ImageDocument>(std::move(surface));
}

Result<std::unique_ptr<Document>> LoadJpeg(const std::string& bytes) {
  std::unique_ptr<void, TjDeleter> tj(tjInitDecompress());
  if (!tj) return Fail(ErrorKind::kUnsupported, "JPEG decoder unavailable");
  const auto* data = reinterpret_cast<const unsigned char*>(bytes.data());
  const auto size = static_cast<unsigned long>(bytes.size());
  int w = 0;
  int h = 0;
  int subsampling = 0;
  int colorspace = 0;
  if (tjDecompressHeader3(tj.get(), data, size, &w, &h, &subsampling, &colorspace) != 0) {
    return Fail(ErrorKind::kCorrupt,
                std::string("the JPEG image is damaged: ") + tjGetErrorStr2(tj.get()));
  }
  VA_TRY_STATUS(CheckDimensions(w, h));
  CairoSurface surface(cairo_image_surface_create(CAIRO_FORMAT_RGB24, w, h));
  if (cairo_surface_status(surface.get()) != CAIRO_STATUS_SUCCESS) {
    return Fail(ErrorKind::kUnsupported, "no memory for the JPEG image");
  }
  cairo_surface_flush(surface.get());
  unsigned char* pixels = cairo_image_surface_get_data(surface.get());
  const int stride = cairo_image_surface_get_stride(surface.get());
  // A truncated or slightly damaged file decodes with a warning (the rest stays grey), as in
  // browsers; only fatal errors refuse the file.
  if (tjDecompress2(tj.get(), data, size, pixels, w, stride, h, TJPF_BGRX, 0) != 0 &&
      tjGetErrorCode(tj.get()) != TJERR_WARNING) {
    return Fail(ErrorKind::kCorrupt,
                std::string("the JPEG image cannot be decoded: ") + tjGetErrorStr2(tj.get()));
  }
  cairo_surface_mark_dirty(surface.get());
  return std::make_unique<ImageDocument>(std::move(surface));
}

}  // namespace va::vault::viewer
