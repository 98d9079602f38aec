// UTF-8 text in a monospace font (DejaVu Sans Mono, through pango) whose size follows the zoom.
// Because the font is monospace, wrapping and paging are computed from column counts alone
// (a wide East Asian character takes two columns, a combining mark none), in one linear pass, so a
// 2 MiB file is paged in milliseconds; pango lays out only the rows of the page being drawn.
// Lines wrap at the last space that fits, else at the column limit. Tabs are expanded to stops
// every 8 columns and control characters shown as U+FFFD when the file is loaded. Each page fills
// the viewport, so text never scrolls; a resize or zoom re-pages it.
#include <glib.h>
#include <pango/pangocairo.h>

#include <algorithm>
#include <cmath>
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
using FontDescription = std::unique_ptr<PangoFontDescription, PangoFontDescriptionDeleter>;

int Columns(gunichar c) {
  if (g_unichar_iszerowidth(c)) return 0;
  return g_unichar_iswide(c) ? 2 : 1;
}

// The text as it will be shown: tabs expanded, CR dropped, other control characters replaced.
std::string Clean(const std::string& text) {
  std::string out;
  out.reserve(text.size());
  int column = 0;
  for (const char* p = text.data(); p < text.data() + text.size(); p = g_utf8_next_char(p)) {
    const gunichar c = g_utf8_get_char(p);
    if (c == '\n') {
      out += '\n';
      column = 0;
    } else if (c == '\t') {
      const int spaces = kTabColumns - column % kTabColumns;
      out.append(static_cast<size_t>(spaces), ' ');
      column += spaces;
    } else if (c == '\r') {
      continue;
    } else if (c < 0x20 || (c >= 0x7f && c < 0xa0)) {
      out += "\xEF\xBF\xBD";
      ++column;
    } else {
      out.append(p, static_cast<size_t>(g_utf8_next_char(p) - p));
      column += Columns(c);
    }
  }
  return out;
}

struct Row {
  uint32_t begin = 0;  // byte offsets into the cleaned text
  uint32_t end = 0;
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
  }

  DocumentKind Kind() const override { return DocumentKind::kText; }
  int Pages() const override {
    return std::max<int>(1, static_cast<int>((rows_.size() + rows_per_page_ - 1) / rows_per_page_));
  }
  double ContentHeight(const View& view) const override { return view.height; }

  void Layout(int width, int height, double zoom) override {
    if (width == width_ && height == height_ && zoom == zoom_) return;
    width_ = width;
    height_ = height;
    if (zoom != zoom_) {
      zoom_ = zoom;
      FontDescription font(pango_font_description_from_string("DejaVu Sans Mono, Monospace"));
      pango_font_description_set_absolute_size(font.get(), kFontPixels * zoom * PANGO_SCALE);
      pango_layout_set_font_description(layout_.get(), font.get());
      // The advance of one column and the height of one row, from ten columns of text.
      pango_layout_set_text(layout_.get(), "MMMMMMMMMM", 10);
      PangoRectangle logical{};
      pango_layout_get_extents(layout_.get(), nullptr, &logical);
      advance_ = std::max(1.0, pango_units_to_double(logical.width) / 10);
      row_height_ = std::max(1.0, std::ceil(pango_units_to_double(logical.height)));
    }
    const int columns = std::max(1, static_cast<int>((width - 2 * kMargin) / advance_));
    rows_per_page_ =
        static_cast<size_t>(std::max(1, static_cast<int>((height - 2 * kMargin) / row_height_)));
    Wrap(columns);
  }

  Status Draw(cairo_t* cr, const View& view) const override {
    cairo_save(cr);
    cairo_set_source_rgb(cr, 1, 1, 1);
    cairo_paint(cr);
    cairo_rectangle(cr, kMargin, kMargin, view.width - 2 * kMargin, view.height - 2 * kMargin);
    cairo_clip(cr);
    cairo_set_source_rgb(cr, 0.1, 0.1, 0.1);
    const size_t first = static_cast<size_t>(view.page - 1) * rows_per_page_;
    const size_t end = std::min(rows_.size(), first + rows_per_page_);
    for (size_t i = first; i < end; ++i) {
      const Row& row = rows_[i];
      if (row.end == row.begin) continue;
      pango_layout_set_text(layout_.get(), text_.data() + row.begin,
                            static_cast<int>(row.end - row.begin));
      cairo_move_to(cr, kMargin, kMargin + row_height_ * static_cast<double>(i - first));
      pango_cairo_show_layout(cr, layout_.get());
    }
    cairo_restore(cr);
    return {};
  }

 private:
  // Cuts the text into rows of at most `columns` columns.
  void Wrap(int columns) {
    rows_.clear();
    const char* base = text_.data();
    const char* end = base + text_.size();
    const char* row_start = base;
    const char* last_space = nullptr;  // just after the last space in the current row
    int width = 0;
    int width_at_space = 0;
    auto offset = [base](const char* p) { return static_cast<uint32_t>(p - base); };
    for (const char* p = base; p < end;) {
      const gunichar c = g_utf8_get_char(p);
      const char* next = g_utf8_next_char(p);
      if (c == '\n') {
        rows_.push_back({offset(row_start), offset(p)});
        row_start = next;
        last_space = nullptr;
        width = 0;
      } else {
        const int w = Columns(c);
        if (width + w > columns && width > 0) {
          if (last_space != nullptr && last_space > row_start) {
            // Break after the last space; the rest of the word starts the next row.
            rows_.push_back({offset(row_start), offset(last_space)});
            row_start = last_space;
            width -= width_at_space;
          } else {
            rows_.push_back({offset(row_start), offset(p)});
            row_start = p;
            width = 0;
          }
          last_space = nullptr;
        }
        width += w;
        if (c == ' ') {
          last_space = next;
          width_at_space = width;
        }
      }
      p = next;
    }
    rows_.push_back({offset(row_start), offset(end)});
  }

  std::string text_;
  GObjectPtr<PangoContext> context_;
  GObjectPtr<PangoLayout> layout_;  // reused for each row drawn
  int width_ = 0;
  int height_ = 0;
  double zoom_ = 0;
  double advance_ = 8;
  double row_height_ = 16;
  size_t rows_per_page_ = 1;
  std::vector<Row> rows_{Row{}};
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
  return std::make_unique<TextDocument>(Clean(bytes));
}

}  // namespace va::vault::viewer
