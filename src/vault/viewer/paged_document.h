// Internal: the loaders of each kind, and PagedDocument, the common base of documents made of
// fixed-size pages (PDF, images) that are fitted to the viewport's width, zoomed and scrolled.
#pragma once

#include <memory>
#include <string>

#include "base/result.h"
#include "vault/viewer/document.h"

namespace va::vault::viewer {

struct PageSize {
  double width = 0;  // points or pixels, > 0
  double height = 0;
};

class PagedDocument : public Document {
 public:
  void Layout(int /*width*/, int /*height*/, double /*zoom*/) override {}
  double ContentHeight(const View& view) const override;
  Status Draw(cairo_t* cr, const View& view) const override;

 protected:
  // page is 1-based and within [1, Pages()].
  virtual PageSize SizeOf(int page) const = 0;
  // Draws the page in its own units, origin at its top left, on a white page already painted.
  virtual Status DrawPage(cairo_t* cr, int page) const = 0;
};

Result<std::unique_ptr<Document>> LoadPdf(std::string bytes);
Result<std::unique_ptr<Document>> LoadPng(const std::string& bytes);
Result<std::unique_ptr<Document>> LoadJpeg(const std::string& bytes);
Result<std::unique_ptr<Document>> LoadText(std::string bytes);

}  // namespace va::vault::viewer
