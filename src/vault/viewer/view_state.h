// The viewer's input state machine: what is on screen (viewport size, page, scroll offset, zoom,
// pointer mark) and how each server message changes it. Pure logic over a Document's metrics, so
// it is tested without rendering.
//
// Rules: the size is clamped to 16…3840 × 16…2160 and to the frame buffer's maxima; pages are
// 1-based and clamped to [1, pages] (a resize may re-paginate text and so move the page); a page
// change scrolls to the top; the scroll offset stays within [0, content height − viewport
// height]; zoom is relative, the factor must lie in [0.25, 4] (else the message is rejected) and
// the resulting zoom is clamped to [0.25, 4]; the pointer is clamped into the viewport. Apply()
// says whether the picture changed, so that a frame is produced only when it did.
#pragma once

#include <cstdint>

#include "vault/viewer/protocol.h"

namespace va::vault::viewer {

inline constexpr double kMinZoom = 0.25;
inline constexpr double kMaxZoom = 4.0;

struct View {
  int width = 0;
  int height = 0;
  int page = 1;     // 1-based
  double zoom = 1;  // 1: the page fitted to the viewport's width
  int scroll = 0;   // pixels from the top of the page as drawn
  bool pointer_visible = false;
  int pointer_x = 0;
  int pointer_y = 0;
  uint32_t buttons = 0;
  bool operator==(const View&) const = default;
};

// What the state machine needs to know about a document.
class PageMetrics {
 public:
  virtual ~PageMetrics() = default;
  // Lays the document out for a viewport and zoom (text re-paginates; fixed pages do nothing).
  virtual void Layout(int width, int height, double zoom) = 0;
  virtual int Pages() const = 0;
  // Height in pixels of view.page as drawn for view (width, zoom).
  virtual double ContentHeight(const View& view) const = 0;
};

enum class ApplyResult {
  kChanged,    // the picture changed: render a frame
  kUnchanged,  // a valid input that changes nothing (or a release)
  kRejected,   // a value no clamp can make sense of (zoom factor out of range, bad slot)
};

class ViewState {
 public:
  // Starts on page 1 at zoom 1, fitted to the width, scrolled to the top, no pointer; lays the
  // document out for the clamped size.
  ViewState(PageMetrics& metrics, int width, int height, int width_max, int height_max);

  const View& Current() const { return view_; }
  ApplyResult Apply(const ServerMessage& message);

 private:
  void Relayout();
  int MaxScroll() const;

  PageMetrics& metrics_;
  int width_max_;
  int height_max_;
  View view_;
};

}  // namespace va::vault::viewer
