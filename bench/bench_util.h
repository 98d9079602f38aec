// Small helpers shared by the benchmarks: sample statistics, a fixed-width table on stdout, and
// a JSON result file (under $VA_BENCH_OUT, default ./bench-results).
#pragma once

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

namespace va::bench {

struct Stats {
  size_t n = 0;
  double median = 0, p90 = 0, p99 = 0, min = 0, max = 0;  // in the unit of the samples
};

inline double Quantile(std::vector<double> v, double q) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  size_t i = static_cast<size_t>(q * static_cast<double>(v.size() - 1) + 0.5);
  return v[std::min(i, v.size() - 1)];
}

inline Stats Summarize(const std::vector<double>& v) {
  Stats s;
  s.n = v.size();
  if (v.empty()) return s;
  s.median = Quantile(v, 0.5);
  s.p90 = Quantile(v, 0.9);
  s.p99 = Quantile(v, 0.99);
  s.min = *std::min_element(v.begin(), v.end());
  s.max = *std::max_element(v.begin(), v.end());
  return s;
}

struct Row {
  std::string name;
  Stats stats;
  std::string note;
};

// Prints rows as a table of milliseconds with a ratio column against `baseline` (a row index).
inline void PrintTable(const std::string& title, const std::vector<Row>& rows, size_t baseline) {
  std::printf("\n%s\n", title.c_str());
  std::printf("%-34s %6s %11s %11s %11s %11s %9s\n", "method", "n", "median ms", "p90 ms", "p99 ms",
              "max ms", "ratio");
  for (const auto& r : rows) {
    double base = rows[baseline].stats.median;
    double ratio = r.stats.median > 0 ? base / r.stats.median : 0;
    std::printf("%-34s %6zu %11.3f %11.3f %11.3f %11.3f %8.1fx  %s\n", r.name.c_str(), r.stats.n,
                r.stats.median, r.stats.p90, r.stats.p99, r.stats.max, ratio, r.note.c_str());
  }
  std::fflush(stdout);
}

inline std::string OutDir() {
  const char* d = std::getenv("VA_BENCH_OUT");
  std::string dir = d && *d ? d : "bench-results";
  std::filesystem::create_directories(dir);
  return dir;
}

inline void WriteJson(const std::string& name, const std::vector<Row>& rows,
                      const std::string& extra_fields = "") {
  std::string path = OutDir() + "/" + name + ".json";
  std::ofstream out(path);
  out << "{\"benchmark\":\"" << name << "\",\"unit\":\"ms\"" << extra_fields << ",\"rows\":[";
  for (size_t i = 0; i < rows.size(); ++i) {
    const auto& s = rows[i].stats;
    out << (i ? "," : "") << "{\"method\":\"" << rows[i].name << "\",\"n\":" << s.n
        << ",\"median\":" << s.median << ",\"p90\":" << s.p90 << ",\"p99\":" << s.p99
        << ",\"min\":" << s.min << ",\"max\":" << s.max << "}";
  }
  out << "]}\n";
  std::printf("results written to %s\n", path.c_str());
}

}  // namespace va::bench
