// PDF pages through poppler-glib: the document is opened from memory, pages are fetched and
// measured on demand, and drawn with poppler_page_render (annotations included, no forms UI).
#include <poppler.h>

#include <optional>
#include <vector>

#include "vault/viewer/cairo_util.h"
#include "vault/viewer/paged_document.h"

namespace va::vault::viewer {
namespace {

constexpr int kMaxPages = 100000;

class PdfDocument final : public PagedDocument {
 public:
  PdfDocument(GBytesPtr gbytes, GObjectPtr<PopplerDocument> doc, int pages)
      : gbytes_(std::move(gbytes)), doc_(std::move(doc)), sizes_(static_cast<size_t>(pages)) {}

  DocumentKind Kind() const override { return DocumentKind::kPdf; }
  int Pages() const override { return static_cast<int>(sizes_.size()); }

 protected:
  PageSize SizeOf(int page) const override {
    auto& cached = sizes_[static_cast<size_t>(page - 1)];
    if (!cached) {
      PageSize size{612, 792};  // US Letter when the page cannot be read
      GObjectPtr<PopplerPage> p(poppler_document_get_page(doc_.get(), page - 1));
      if (p) {
        double w = 0;
        double h = 0;
        poppler_page_get_size(p.get(), &w, &h);
        if (w >= 1 && h >= 1 && w < 1e6 && h < 1e6) size = {w, h};
      }
      cached = size;
    }
    return *cached;
  }

  Status DrawPage(cairo_t* cr, int page) const override {
    GObjectPtr<PopplerPage> p(poppler_document_get_page(doc_.get(), page - 1));
    if (!p) return Fail(ErrorKind::kCorrupt, "page " + std::to_string(page) + " is unreadable");
    poppler_page_render(p.get(), cr);
    return {};
  }

 private:
  GBytesPtr gbytes_;  // the file's bytes, which poppler reads for the document's life
  GObjectPtr<PopplerDocument> doc_;
  mutable std::vector<std::optional<PageSize>> sizes_;
};

}  // namespace

Result<std::unique_ptr<Document>> LoadPdf(std::string bytes) {
  // The GBytes owns the string (whose buffer never moves while it lives on the heap).
  auto owned = std::make_unique<std::string>(std::move(bytes));
  const char* data = owned->data();
  const size_t size = owned->size();
  GBytesPtr gbytes(g_bytes_new_with_free_func(
      data, size, [](gpointer s) { delete static_cast<std::string*>(s); }, owned.release()));
  GError* raw_error = nullptr;
  GObjectPtr<PopplerDocument> doc(
      poppler_document_new_from_bytes(gbytes.get(), nullptr, &raw_error));
  GErrorPtr error(raw_error);
  if (!doc) {
    if (error && error->domain == POPPLER_ERROR && error->code == POPPLER_ERROR_ENCRYPTED) {
      return Fail(ErrorKind::kUnsupported, "the PDF is encrypted");
    }
    return Fail(ErrorKind::kCorrupt, std::string("the PDF cannot be opened") + (error ? ": " : "") +
                                         (error ? error->message : ""));
  }
  const int pages = poppler_document_get_n_pages(doc.get());
  if (pages <= 0) return Fail(ErrorKind::kCorrupt, "the PDF has no pages");
  if (pages > kMaxPages) return Fail(ErrorKind::kUnsupported, "the PDF has too many pages");
  return std::make_unique<PdfDocument>(std::move(gbytes), std::move(doc), pages);
}

}  // namespace va::vault::viewer
