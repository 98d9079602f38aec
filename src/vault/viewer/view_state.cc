// The input state machine; see view_state.h for the rules.
#include "vault/viewer/view_state.h"

#include <algorithm>
#include <cmath>

#include "vault/viewer/frame_shm.h"

namespace va::vault::viewer {
namespace {

int ClampRound(double v, int lo, int hi) {
  if (v <= lo) return lo;
  if (v >= hi) return hi;
  return static_cast<int>(std::lround(v));
}

}  // namespace

ViewState::ViewState(PageMetrics& metrics, int width, int height, int width_max, int height_max)
    : metrics_(metrics),
      width_max_(std::clamp(width_max, kMinWidth, kMaxWidth)),
      height_max_(std::clamp(height_max, kMinHeight, kMaxHeight)) {
  view_.width = std::clamp(width, kMinWidth, width_max_);
  view_.height = std::clamp(height, kMinHeight, height_max_);
  Relayout();
}

void ViewState::Relayout() {
  metrics_.Layout(view_.width, view_.height, view_.zoom);
  view_.page = std::clamp(view_.page, 1, std::max(1, metrics_.Pages()));
  view_.scroll = std::clamp(view_.scroll, 0, MaxScroll());
  view_.pointer_x = std::clamp(view_.pointer_x, 0, view_.width - 1);
  view_.pointer_y = std::clamp(view_.pointer_y, 0, view_.height - 1);
}

int ViewState::MaxScroll() const {
  const double excess = metrics_.ContentHeight(view_) - view_.height;
  if (!(excess > 0)) return 0;
  return excess >= 1e9 ? 1'000'000'000 : static_cast<int>(std::ceil(excess));
}

ApplyResult ViewState::Apply(const ServerMessage& message) {
  const View before = view_;
  if (const auto* m = std::get_if<ReleaseMessage>(&message)) {
    return m->slot == 0 || m->slot == 1 ? ApplyResult::kUnchanged : ApplyResult::kRejected;
  }
  if (const auto* m = std::get_if<ResizeMessage>(&message)) {
    view_.width = std::clamp(m->width, kMinWidth, width_max_);
    view_.height = std::clamp(m->height, kMinHeight, height_max_);
    if (view_.width != before.width || view_.height != before.height) Relayout();
  } else if (std::holds_alternative<NextPageMessage>(message)) {
    if (view_.page < metrics_.Pages()) {
      ++view_.page;
      view_.scroll = 0;
    }
  } else if (std::holds_alternative<PrevPageMessage>(message)) {
    if (view_.page > 1) {
      --view_.page;
      view_.scroll = 0;
    }
  } else if (const auto* m = std::get_if<GotoPageMessage>(&message)) {
    const int page = std::clamp(m->page, 1, std::max(1, metrics_.Pages()));
    if (page != view_.page) {
      view_.page = page;
      view_.scroll = 0;
    }
  } else if (const auto* m = std::get_if<ScrollMessage>(&message)) {
    view_.scroll = ClampRound(view_.scroll + m->dy, 0, MaxScroll());
  } else if (const auto* m = std::get_if<ZoomMessage>(&message)) {
    if (!(m->factor >= kMinZoom && m->factor <= kMaxZoom)) return ApplyResult::kRejected;
    const double zoom = std::clamp(view_.zoom * m->factor, kMinZoom, kMaxZoom);
    if (zoom != view_.zoom) {
      // Keep the same part of the page at the top of the viewport.
      const double ratio = zoom / view_.zoom;
      view_.zoom = zoom;
      view_.scroll = ClampRound(view_.scroll * ratio, 0, 1'000'000'000);
      Relayout();
    }
  } else if (const auto* m = std::get_if<PointerMessage>(&message)) {
    view_.pointer_visible = true;
    view_.pointer_x = ClampRound(m->x, 0, view_.width - 1);
    view_.pointer_y = ClampRound(m->y, 0, view_.height - 1);
    view_.buttons = m->buttons;
  }
  return view_ == before ? ApplyResult::kUnchanged : ApplyResult::kChanged;
}

}  // namespace va::vault::viewer
