// User-facing messages (spec §2): one short line each, prefixed ✓ success, ℹ information,
// ⚠ warning, ❌ error; an error line is followed by what to do about it. Commands write through a
// Ui so tests can capture exactly what a user would see.
#pragma once

#include <iostream>
#include <string_view>

namespace va::akon {

class Ui {
 public:
  Ui(std::ostream& out, std::ostream& err) : out_(out), err_(err) {}
  static Ui& Std();

  void Success(std::string_view msg) { Line(out_, "✓ ", msg); }
  void Info(std::string_view msg) { Line(out_, "ℹ ", msg); }
  void Warn(std::string_view msg) { Line(err_, "⚠ ", msg); }
  // `what_to_do` goes on a second line, indented.
  void Error(std::string_view msg, std::string_view what_to_do = {}) {
    Line(err_, "❌ ", msg);
    if (!what_to_do.empty()) Line(err_, "  ", what_to_do);
  }
  void Plain(std::string_view msg) { Line(out_, "", msg); }
  std::ostream& Out() { return out_; }

 private:
  static void Line(std::ostream& s, std::string_view prefix, std::string_view msg) {
    s << prefix << msg << '\n' << std::flush;
  }
  std::ostream& out_;
  std::ostream& err_;
};

inline Ui& Ui::Std() {
  static Ui ui(std::cout, std::cerr);
  return ui;
}

}  // namespace va::akon
