// Test support: real documents made in memory for the viewer's tests — PDFs drawn with cairo's PDF
// surface (one solid colour per page), PNGs written by cairo and JPEGs compressed by libjpeg — and
// reading back the colour of a BGRx pixel. Aborts on a library failure (tests only).
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

namespace va::vault::viewer::testing {

// A PDF of one page per colour (0xRRGGBB), each filled with that colour, width x height points.
std::string MakePdf(const std::vector<uint32_t>& page_colours, double width = 612,
                    double height = 792);
// A one-page PDF: its upper half `top`, its lower half `bottom` (for scroll tests).
std::string MakeTwoBandPdf(uint32_t top, uint32_t bottom, double width = 612, double height = 792);
// A page of `lines` lines of text in DejaVu Sans (embedded), like a typical document page.
std::string MakeTextPdf(int lines = 60, double width = 612, double height = 792);
std::string MakePng(int width, int height, uint32_t rgb);
std::string MakeJpeg(int width, int height, uint32_t rgb, int quality = 95);

// 0xRRGGBB of pixel (x, y) of a BGRx buffer.
uint32_t PixelAt(std::span<const uint8_t> pixels, size_t stride, int x, int y);
// True when every channel of a and b differs by at most `tolerance`.
bool NearColour(uint32_t a, uint32_t b, int tolerance = 8);
// A 64-bit FNV-1a hash of the first `height` rows (`width` pixels each) of a BGRx buffer, x byte
// ignored: tells whether two frames show the same picture.
uint64_t HashPixels(std::span<const uint8_t> pixels, size_t stride, int width, int height);

}  // namespace va::vault::viewer::testing
