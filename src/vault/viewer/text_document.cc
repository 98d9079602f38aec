// UTF-8 text through pango: one layout of the whole text in a monospace font whose size follows
// the zoom, wrapped (at words, else characters) to the viewport's width less the margins, cut into
// pages of whole lines that fit the viewport's height. Re-laid out when the size or zoom changes,
// so the page count can change; each page fills the viewport, so text never scrolls.
#include <glib.h>
#include <pango/pangocairo.h>

#include <algorithm>
#include <vector>

#include "vault/viewer/cairo_util.h"
#include "vault/viewer/paged_document.h"

namespace va::vault::viewer {
namespace {

constexpr double kFontPixels = 14;
constexpr int kMargin = 16;
constexpr int kTabColumns = 8;

struct PangoFontDescriptionDeleter {
  void operator()(PangoFontDescription* d) const { pango_font_description_free(d); }
};
struct PangoTabArrayDeleter {
  void operator()(PangoTabArray* t) const { pango_tab_array_free(t); }
};

struct Line {
  int baseline = 0;  // pango units from the layout's top
  int x = 0;         // pango units: where the line starts
};
struct Page {
  int first_line = 0;
  int end_line = 0;  // one past the last
  int top = 0;       // pango units: the layout's y shown at the page's top margin
};

class TextDocument final : public Document {
 public:
  explicit TextDocument(std::string text) : text_(std::move(text)) {
    PangoFontMap* map = pango_cairo_font_map_get_default();  // owned by pango
    context_.reset(pango_font_map_create_context(map));
    cairo_font_options_t* options = cairo_font_options_create();
    cairo_font_options_set_hint_metrics(options, CAIRO_HINT_METRICS_ON);
    cairo_font_options_set_antialias(options, CAIRO_ANTIALIAS_GRAY);
    pango_cairo_context_set_font_options(context_.get(), options);
    cairo_font_options_destroy(options);
    layout_.reset(pango_layout_new(context_.get()));
    pango_layout_set_text(layout_.get(), text_.data(), static_cast<int>(text_.size()));
    pango_layout_set_wrap(layout_.get(), PANGO_WRAP_WORD_CHAR);
  }

  DocumentKind Kind() const override { return DocumentKind::kText; }
  int Pages() const override { return static_cast<int>(pages_.size()); }
  double ContentHeight(const View& view) const override { return view.height; }

  void Layout(int width, int height, double zoom) override {
    if (width == width_ && height == height_ && zoom == zoom_) return;
    width_ = width;
    height_ = height;
    zoom_ = zoom;
    std::unique_ptr<PangoFontDescription, PangoFontDescriptionDeleter> font(
        pango_font_description_from_string("DejaVu Sans Mono, Monospace"));
    pango_font_description_set_absolute_size(font.get(), kFontPixels * zoom * PANGO_SCALE);
    pango_layout_set_font_description(layout_.get(), font.get());
    // Tab stops every kTabColumns character widths.
    PangoRectangle space{};
    pango_layout_set_text(layout_.get(), " ", 1);
    pango_layout_get_extents(layout_.get(), nullptr, &space);
    std::unique_ptr<PangoTabArray, PangoTabArrayDeleter> tabs(
        pango_tab_array_new_with_positions(1, FALSE, PANGO_TAB_LEFT, space.width * kTabColumns));
    pango_layout_set_tabs(layout_.get(), tabs.get());
    pango_layout_set_text(layout_.get(), text_.data(), static_cast<int>(text_.size()));
    pango_layout_set_width(layout_.get(), std::max(1, width - 2 * kMargin) * PANGO_SCALE);
    Paginate(std::max(1, height - 2 * kMargin) * PANGO_SCALE);
  }

  Status Draw(cairo_t* cr, const View& view) const override {
    cairo_save(cr);
    cairo_set_source_rgb(cr, 1, 1, 1);
    cairo_paint(cr);
    const Page& page = pages_[static_cast<size_t>(view.page - 1)];
    cairo_rectangle(cr, kMargin, kMargin, view.width - 2 * kMargin, view.height - 2 * kMargin);
    cairo_clip(cr);
    cairo_set_source_rgb(cr, 0.1, 0.1, 0.1);
    for (int i = page.first_line; i < page.end_line; ++i) {
      const Line& line = lines_[static_cast<size_t>(i)];
      cairo_move_to(cr, kMargin + pango_units_to_double(line.x),
                    kMargin + pango_units_to_double(line.baseline - page.top));
      pango_cairo_show_layout_line(cr, pango_layout_get_line_readonly(layout_.get(), i));
    }
    cairo_restore(cr);
    return {};
  }

 private:
  void Paginate(int page_height) {
    lines_.clear();
    pages_.clear();
    Page current;
    PangoLayoutIter* iter = pango_layout_get_iter(layout_.get());
    int index = 0;
    do {
      PangoRectangle logical{};
      pango_layout_iter_get_line_extents(iter, nullptr, &logical);
      lines_.push_back({pango_layout_iter_get_baseline(iter), logical.x});
      // A line that would cross the page's bottom starts the next page (a page always holds at
      // least one line, however tall).
      if (index > current.first_line && logical.y + logical.height - current.top > page_height) {
        current.end_line = index;
        pages_.push_back(current);
        current = Page{index, index, logical.y};
      }
      ++index;
    } while (pango_layout_iter_next_line(iter));
    pango_layout_iter_free(iter);
    current.end_line = index;
    pages_.push_back(current);
  }

  std::string text_;
  GObjectPtr<PangoContext> context_;
  GObjectPtr<PangoLayout> layout_;
  int width_ = 0;
  int height_ = 0;
  double zoom_ = 0;
  std::vector<Line> lines_;
  std::vector<Page> pages_{Page{}};
};

}  // namespace

Result<std::unique_ptr<Document>> LoadText(std::string bytes) {
  if (bytes.size() > kMaxTextBytes) {
    return Fail(ErrorKind::kUnsupported, "the text file is larger than 2 MiB");
  }
  // g_utf8_validate_len rejects invalid sequences and NUL bytes: binary files are refused here.
  if (!g_utf8_validate_len(bytes.data(), bytes.size(), nullptr)) {
    return Fail(ErrorKind::kCorrupt, "the file is neither a PDF, a PNG, a JPEG nor UTF-8 text");
  }
  // A UTF-8 byte order mark is not text to show.
  if (bytes.starts_with("\xEF\xBB\xBF")) bytes.erase(0, 3);
  return std::make_unique<TextDocument>(std::move(bytes));
}

}  // namespace va::vault::viewer
