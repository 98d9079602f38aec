// The input state machine over fake page metrics: which inputs change the picture and how values
// are clamped.
#include "vault/viewer/view_state.h"

#include <gtest/gtest.h>

namespace va::vault::viewer {
namespace {

// Pages of a fixed aspect (height = aspect x width at zoom 1); text-like documents re-paginate.
class FakeMetrics : public PageMetrics {
 public:
  FakeMetrics(int pages, double aspect) : pages_(pages), aspect_(aspect) {}
  void Layout(int width, int height, double zoom) override {
    ++layouts;
    if (lines_ > 0) pages_ = std::max(1, static_cast<int>(lines_ * zoom * 20 / height) + 1);
    (void)width;
  }
  int Pages() const override { return pages_; }
  double ContentHeight(const View& view) const override {
    return lines_ > 0 ? view.height : view.width * aspect_ * view.zoom;
  }
  void BeText(int lines) { lines_ = lines; }
  int layouts = 0;

 private:
  int pages_;
  double aspect_;
  int lines_ = 0;
};

TEST(ViewStateTest, StartsAtTheTopOfPageOneFittedToTheWidth) {
  FakeMetrics m(3, 1.5);
  ViewState s(m, 1280, 720, 1920, 1080);
  EXPECT_EQ(s.Current(), (View{.width = 1280, .height = 720, .page = 1, .zoom = 1, .scroll = 0}));
  EXPECT_EQ(m.layouts, 1);
}

TEST(ViewStateTest, PagesMoveWithinRange) {
  FakeMetrics m(2, 1.5);
  ViewState s(m, 640, 480, 640, 480);
  EXPECT_EQ(s.Apply(PrevPageMessage{}), ApplyResult::kUnchanged);
  EXPECT_EQ(s.Apply(NextPageMessage{}), ApplyResult::kChanged);
  EXPECT_EQ(s.Current().page, 2);
  EXPECT_EQ(s.Apply(NextPageMessage{}), ApplyResult::kUnchanged);
  EXPECT_EQ(s.Apply(GotoPageMessage{1}), ApplyResult::kChanged);
  EXPECT_EQ(s.Apply(GotoPageMessage{-7}), ApplyResult::kUnchanged);  // clamped to 1
  EXPECT_EQ(s.Apply(GotoPageMessage{99}), ApplyResult::kChanged);    // clamped to 2
  EXPECT_EQ(s.Current().page, 2);
}

TEST(ViewStateTest, PageChangeScrollsToTheTop) {
  FakeMetrics m(2, 1.5);
  ViewState s(m, 640, 480, 640, 480);
  EXPECT_EQ(s.Apply(ScrollMessage{100}), ApplyResult::kChanged);
  EXPECT_EQ(s.Current().scroll, 100);
  EXPECT_EQ(s.Apply(NextPageMessage{}), ApplyResult::kChanged);
  EXPECT_EQ(s.Current().scroll, 0);
}

TEST(ViewStateTest, ScrollIsClampedToThePage) {
  FakeMetrics m(1, 1.5);  // 640 wide: 960 high, 480 of scroll
  ViewState s(m, 640, 480, 640, 480);
  EXPECT_EQ(s.Apply(ScrollMessage{-10}), ApplyResult::kUnchanged);
  EXPECT_EQ(s.Apply(ScrollMessage{10000}), ApplyResult::kChanged);
  EXPECT_EQ(s.Current().scroll, 480);
  EXPECT_EQ(s.Apply(ScrollMessage{1}), ApplyResult::kUnchanged);
  EXPECT_EQ(s.Apply(ScrollMessage{-80.4}), ApplyResult::kChanged);
  EXPECT_EQ(s.Current().scroll, 400);

  FakeMetrics landscape(1, 0.5);  // shorter than the viewport: nothing to scroll
  ViewState l(landscape, 640, 480, 640, 480);
  EXPECT_EQ(l.Apply(ScrollMessage{50}), ApplyResult::kUnchanged);
}

TEST(ViewStateTest, ZoomIsRelativeAndClamped) {
  FakeMetrics m(1, 1.5);
  ViewState s(m, 640, 480, 640, 480);
  EXPECT_EQ(s.Apply(ZoomMessage{2}), ApplyResult::kChanged);
  EXPECT_DOUBLE_EQ(s.Current().zoom, 2);
  EXPECT_EQ(s.Apply(ZoomMessage{4}), ApplyResult::kChanged);
  EXPECT_DOUBLE_EQ(s.Current().zoom, kMaxZoom);
  EXPECT_EQ(s.Apply(ZoomMessage{1.5}), ApplyResult::kUnchanged);
  EXPECT_EQ(s.Apply(ZoomMessage{1}), ApplyResult::kUnchanged);
  EXPECT_EQ(s.Apply(ZoomMessage{0}), ApplyResult::kRejected);
  EXPECT_EQ(s.Apply(ZoomMessage{-2}), ApplyResult::kRejected);
  EXPECT_EQ(s.Apply(ZoomMessage{100}), ApplyResult::kRejected);
  EXPECT_EQ(s.Apply(ZoomMessage{0.25}), ApplyResult::kChanged);
  EXPECT_DOUBLE_EQ(s.Current().zoom, 1);
}

TEST(ViewStateTest, ZoomKeepsTheSamePartOfThePageAtTheTop) {
  FakeMetrics m(1, 1.5);
  ViewState s(m, 640, 480, 640, 480);
  ASSERT_EQ(s.Apply(ScrollMessage{200}), ApplyResult::kChanged);
  ASSERT_EQ(s.Apply(ZoomMessage{2}), ApplyResult::kChanged);
  EXPECT_EQ(s.Current().scroll, 400);
  ASSERT_EQ(s.Apply(ZoomMessage{0.25}), ApplyResult::kChanged);  // 0.5: page fits, no scroll
  EXPECT_EQ(s.Current().scroll, 0);
}

TEST(ViewStateTest, ResizeIsClampedToTheLimitsAndTheBuffer) {
  FakeMetrics m(1, 1.5);
  ViewState s(m, 5000, 1, 1920, 1080);
  EXPECT_EQ(s.Current().width, 1920);
  EXPECT_EQ(s.Current().height, 16);
  EXPECT_EQ(s.Apply(ResizeMessage{800, 600}), ApplyResult::kChanged);
  EXPECT_EQ(s.Apply(ResizeMessage{800, 600}), ApplyResult::kUnchanged);
  EXPECT_EQ(s.Apply(ResizeMessage{-1, 99999}), ApplyResult::kChanged);
  EXPECT_EQ(s.Current().width, 16);
  EXPECT_EQ(s.Current().height, 1080);
}

TEST(ViewStateTest, ResizeRepaginatesTextAndKeepsThePageInRange) {
  FakeMetrics m(1, 1);
  m.BeText(200);  // 200 lines of 20 px
  ViewState s(m, 640, 400, 1920, 1080);
  EXPECT_EQ(m.Pages(), 11);
  ASSERT_EQ(s.Apply(GotoPageMessage{11}), ApplyResult::kChanged);
  ASSERT_EQ(s.Apply(ResizeMessage{640, 1000}), ApplyResult::kChanged);
  EXPECT_EQ(m.Pages(), 5);
  EXPECT_EQ(s.Current().page, 5);
  EXPECT_EQ(s.Apply(ScrollMessage{100}), ApplyResult::kUnchanged);  // text pages fill the screen
}

TEST(ViewStateTest, PointerIsShownAndClamped) {
  FakeMetrics m(1, 1.5);
  ViewState s(m, 640, 480, 640, 480);
  EXPECT_EQ(s.Apply(PointerMessage{10, 20, 0}), ApplyResult::kChanged);
  EXPECT_TRUE(s.Current().pointer_visible);
  EXPECT_EQ(s.Apply(PointerMessage{10.2, 19.8, 0}), ApplyResult::kUnchanged);
  EXPECT_EQ(s.Apply(PointerMessage{10, 20, 1}), ApplyResult::kChanged);
  EXPECT_EQ(s.Apply(PointerMessage{-50, 1e9, 1}), ApplyResult::kChanged);
  EXPECT_EQ(s.Current().pointer_x, 0);
  EXPECT_EQ(s.Current().pointer_y, 479);
}

TEST(ViewStateTest, ReleaseChangesNothingAndABadSlotIsRejected) {
  FakeMetrics m(1, 1.5);
  ViewState s(m, 640, 480, 640, 480);
  EXPECT_EQ(s.Apply(ReleaseMessage{0}), ApplyResult::kUnchanged);
  EXPECT_EQ(s.Apply(ReleaseMessage{1}), ApplyResult::kUnchanged);
  EXPECT_EQ(s.Apply(ReleaseMessage{2}), ApplyResult::kRejected);
}

}  // namespace
}  // namespace va::vault::viewer
