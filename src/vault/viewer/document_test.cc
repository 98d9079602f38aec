// Loading and rendering real documents made in the test (cairo PDFs and PNGs, libjpeg JPEGs,
// text): the right kind and page count, the page's colour where the page is, the background
// around it, scroll/zoom/pointer changing the pixels, refusals of damaged files, and a loop of
// random and truncated files that must never crash the loader or the renderer.
#include "vault/viewer/document.h"

#include <gtest/gtest.h>

#include <random>
#include <vector>

#include "vault/viewer/test_documents.h"

namespace va::vault::viewer {
namespace {

using testing::HashPixels;
using testing::MakeJpeg;
using testing::MakePdf;
using testing::MakePng;
using testing::MakeTwoBandPdf;
using testing::NearColour;
using testing::PixelAt;

constexpr uint32_t kRed = 0xd02020;
constexpr uint32_t kBlue = 0x2040c0;

struct Frame {
  int width;
  int height;
  size_t stride;
  std::vector<uint8_t> pixels;

  Frame(int w, int h) : width(w), height(h), stride(static_cast<size_t>(w) * 4) {
    pixels.resize(stride * static_cast<size_t>(h));
  }
  uint32_t At(int x, int y) const { return PixelAt(pixels, stride, x, y); }
  uint32_t Centre() const { return At(width / 2, height / 2); }
  uint64_t Hash() const { return HashPixels(pixels, stride, width, height); }
};

Frame Render(const Document& doc, const View& view) {
  Frame f(view.width, view.height);
  auto status = RenderView(doc, view, f.pixels, f.stride);
  EXPECT_TRUE(status) << status.error().message;
  return f;
}

View ViewOf(Document& doc, int w, int h) {
  doc.Layout(w, h, 1);
  return View{.width = w, .height = h};
}

TEST(DocumentTest, DetectsTheKindFromTheBytes) {
  EXPECT_EQ(DetectKind("%PDF-1.7\n"), DocumentKind::kPdf);
  EXPECT_EQ(DetectKind(MakePng(2, 2, 0)), DocumentKind::kImage);
  EXPECT_EQ(DetectKind("\xff\xd8\xff\xe0"), DocumentKind::kImage);
  EXPECT_EQ(DetectKind("hello"), DocumentKind::kText);
  EXPECT_EQ(DetectKind(" %PDF-1.7"), DocumentKind::kText);
}

TEST(DocumentTest, OneColourPdfFillsTheWidth) {
  auto doc = LoadDocument(MakePdf({kRed}));
  ASSERT_TRUE(doc) << doc.error().message;
  EXPECT_EQ((*doc)->Kind(), DocumentKind::kPdf);
  EXPECT_EQ((*doc)->Pages(), 1);
  Frame f = Render(**doc, ViewOf(**doc, 640, 360));
  EXPECT_TRUE(NearColour(f.Centre(), kRed)) << std::hex << f.Centre();
  EXPECT_TRUE(NearColour(f.At(1, 1), kRed)) << std::hex << f.At(1, 1);
}

TEST(DocumentTest, TwoPagePdfHasTwoColours) {
  auto doc = LoadDocument(MakePdf({kRed, kBlue}));
  ASSERT_TRUE(doc) << doc.error().message;
  EXPECT_EQ((*doc)->Pages(), 2);
  View v = ViewOf(**doc, 320, 240);
  v.page = 2;
  EXPECT_TRUE(NearColour(Render(**doc, v).Centre(), kBlue));
}

TEST(DocumentTest, LandscapePageIsLetterboxed) {
  auto doc = LoadDocument(MakePdf({kRed}, 800, 200));
  ASSERT_TRUE(doc);
  Frame f = Render(**doc, ViewOf(**doc, 400, 400));  // page drawn 400x100 in the middle
  EXPECT_TRUE(NearColour(f.Centre(), kRed));
  EXPECT_EQ(f.At(200, 10), kBackgroundRgb);
  EXPECT_EQ(f.At(200, 390), kBackgroundRgb);
}

TEST(DocumentTest, ScrollAndZoomMoveThePicture) {
  auto doc = LoadDocument(MakeTwoBandPdf(kRed, kBlue, 400, 1200));
  ASSERT_TRUE(doc);
  View v = ViewOf(**doc, 400, 300);  // the page is 400x1200 px: red above 600, blue below
  EXPECT_DOUBLE_EQ((*doc)->ContentHeight(v), 1200);
  EXPECT_TRUE(NearColour(Render(**doc, v).Centre(), kRed));
  v.scroll = 900;
  EXPECT_TRUE(NearColour(Render(**doc, v).Centre(), kBlue));
  v.scroll = 0;
  v.zoom = 0.25;  // 100x300: fits; background at the sides
  Frame small = Render(**doc, v);
  EXPECT_EQ(small.At(10, 150), kBackgroundRgb);
  EXPECT_TRUE(NearColour(small.At(200, 100), kRed));
  EXPECT_TRUE(NearColour(small.At(200, 200), kBlue));
}

TEST(DocumentTest, PointerMarkChangesThePixels) {
  auto doc = LoadDocument(MakePdf({kRed}));
  ASSERT_TRUE(doc);
  View v = ViewOf(**doc, 320, 240);
  const uint64_t plain = Render(**doc, v).Hash();
  v.pointer_visible = true;
  v.pointer_x = 100;
  v.pointer_y = 100;
  const uint64_t marked = Render(**doc, v).Hash();
  v.buttons = 1;
  const uint64_t pressed = Render(**doc, v).Hash();
  EXPECT_NE(plain, marked);
  EXPECT_NE(marked, pressed);
}

TEST(DocumentTest, PngAndJpegShowTheirColour) {
  for (const std::string& bytes : {MakePng(300, 200, kBlue), MakeJpeg(300, 200, kBlue)}) {
    auto doc = LoadDocument(bytes);
    ASSERT_TRUE(doc) << doc.error().message;
    EXPECT_EQ((*doc)->Kind(), DocumentKind::kImage);
    EXPECT_EQ((*doc)->Pages(), 1);
    Frame f = Render(**doc, ViewOf(**doc, 600, 600));  // drawn 600x400, letterboxed
    EXPECT_TRUE(NearColour(f.Centre(), kBlue, 12)) << std::hex << f.Centre();
    EXPECT_EQ(f.At(300, 20), kBackgroundRgb);
  }
}

TEST(DocumentTest, TextIsDrawnAndPagedByTheScreenHeight) {
  auto one = LoadDocument("Hello, vault.\n\tindented\n");
  ASSERT_TRUE(one) << one.error().message;
  EXPECT_EQ((*one)->Kind(), DocumentKind::kText);
  View v = ViewOf(**one, 400, 200);
  EXPECT_EQ((*one)->Pages(), 1);
  Frame f = Render(**one, v);
  int dark = 0;
  for (int y = 0; y < 60; ++y) {
    for (int x = 0; x < 200; ++x) dark += (f.At(x, y) & 0xff) < 0x80 ? 1 : 0;
  }
  EXPECT_GT(dark, 50) << "no glyphs drawn";
  EXPECT_EQ(f.At(390, 190), 0xffffffu);

  std::string many;
  for (int i = 0; i < 300; ++i) many += "line " + std::to_string(i) + "\n";
  auto doc = LoadDocument(many);
  ASSERT_TRUE(doc);
  (*doc)->Layout(400, 200, 1);
  const int small_screen = (*doc)->Pages();
  (*doc)->Layout(400, 800, 1);
  const int big_screen = (*doc)->Pages();
  (*doc)->Layout(400, 800, 2);
  const int zoomed = (*doc)->Pages();
  EXPECT_GT(small_screen, big_screen);
  EXPECT_GT(big_screen, 1);
  EXPECT_GT(zoomed, big_screen);
  View last{.width = 400, .height = 800, .page = zoomed, .zoom = 2};
  Render(**doc, last);
  // Long lines wrap instead of running off the page.
  auto wide = LoadDocument(std::string(500, 'x'));
  ASSERT_TRUE(wide);
  (*wide)->Layout(200, 2000, 1);
  EXPECT_EQ((*wide)->Pages(), 1);
  (*wide)->Layout(200, 100, 1);
  EXPECT_GT((*wide)->Pages(), 5);
}

TEST(DocumentTest, LargestTextIsPagedAndDrawn) {
  // Paging is linear in the text and drawing touches only one page, so the largest text allowed
  // loads, re-pages on resize and draws its last page without laying out the rest.
  std::string text;
  while (text.size() + 64 < kMaxTextBytes) text += "a line of text\twith a tab and wörds to wrap\n";
  auto doc = LoadDocument(text);
  ASSERT_TRUE(doc) << doc.error().message;
  View v = ViewOf(**doc, 1280, 720);
  const int pages = (*doc)->Pages();
  EXPECT_GT(pages, 1000);
  (*doc)->Layout(200, 720, 1);  // narrower: every line wraps
  EXPECT_GT((*doc)->Pages(), pages);
  (*doc)->Layout(1280, 720, 1);
  v.page = (*doc)->Pages();
  Render(**doc, v);
}

TEST(DocumentTest, EmptyTextIsOneBlankPage) {
  auto doc = LoadDocument("");
  ASSERT_TRUE(doc);
  View v = ViewOf(**doc, 100, 100);
  EXPECT_EQ((*doc)->Pages(), 1);
  EXPECT_EQ(Render(**doc, v).Centre(), 0xffffffu);
}

TEST(DocumentTest, RefusesDamagedFiles) {
  const std::string png = MakePng(50, 50, kRed);
  const std::string jpeg = MakeJpeg(50, 50, kRed);
  std::string huge_png = png;
  huge_png[16] = 0x7f;  // width 0x7f000032
  for (const std::string& bad : {
           std::string("%PDF-1.4\nthis is not a pdf\n%%EOF\n"),
           MakePdf({kRed}).substr(0, 40),
           png.substr(0, 30),
           huge_png,
           jpeg.substr(0, 8),
           std::string("caf\xc3"),           // truncated UTF-8
           std::string("a\0b", 3),           // NUL
           std::string("\xff\xfe\x00h", 4),  // UTF-16
           std::string(kMaxTextBytes + 1, 'a'),
       }) {
    EXPECT_FALSE(LoadDocument(bad)) << bad.substr(0, 20);
  }
}

TEST(DocumentTest, RandomAndTruncatedFilesNeverCrash) {
  std::mt19937 rng(42);
  const std::vector<std::string> seeds = {MakePdf({kRed, kBlue}), MakePng(40, 30, kRed),
                                          MakeJpeg(40, 30, kBlue), "plain text\n"};
  int loaded = 0;
  for (int i = 0; i < 400; ++i) {
    std::string bytes = seeds[static_cast<size_t>(i) % seeds.size()];
    if (i % 2 == 0) {
      bytes.resize(rng() % (bytes.size() + 1));
    } else {
      for (int e = 0; e < 1 + static_cast<int>(rng() % 8); ++e) {
        if (bytes.size() > 8) bytes[8 + rng() % (bytes.size() - 8)] = static_cast<char>(rng());
      }
    }
    auto doc = LoadDocument(bytes);
    if (!doc) continue;
    ++loaded;
    View v = ViewOf(**doc, 64, 48);
    for (int page = 1; page <= (*doc)->Pages() && page <= 3; ++page) {
      v.page = page;
      Frame f(64, 48);
      (void)RenderView(**doc, v, f.pixels, f.stride);
    }
  }
  EXPECT_GT(loaded, 0);
}

}  // namespace
}  // namespace va::vault::viewer
