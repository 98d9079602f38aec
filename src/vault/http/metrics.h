// Metrics: the counters and histograms vaultd exposes at /metrics in the Prometheus text format
// (version 0.0.4). Recording is lock-free on the hot path except for the per-status counter map.
// Gauges of later layers (sessions, sandboxes) are read through callbacks at render time.
#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <vector>

namespace va::vault::http {

class Histogram {
 public:
  // Upper bounds in seconds, ascending.
  explicit Histogram(std::vector<double> bounds);
  void Observe(std::chrono::nanoseconds value);
  // Appends "<name>_bucket{le=…} n", "_sum", "_count" lines.
  void Render(const std::string& name, std::string& out) const;

 private:
  std::vector<double> bounds_;
  std::vector<std::atomic<uint64_t>> buckets_;  // cumulative at render time
  std::atomic<uint64_t> count_{0};
  std::atomic<uint64_t> sum_nanos_{0};
};

class Metrics {
 public:
  Metrics();
  void RecordRequest(int status, std::chrono::nanoseconds elapsed);
  Histogram& SessionStartLatency() { return session_start_; }
  Histogram& SessionTerminateLatency() { return session_terminate_; }
  std::atomic<uint64_t>& NotificationsSent() { return notifications_sent_; }
  std::atomic<uint64_t>& NotificationsDropped() { return notifications_dropped_; }
  // A gauge read when /metrics renders.
  void AddGauge(std::string name, std::string help, std::function<double()> read);
  std::string Render() const;

 private:
  mutable std::mutex mu_;
  std::map<int, uint64_t> requests_by_status_;
  Histogram request_duration_;
  Histogram session_start_;
  Histogram session_terminate_;
  std::atomic<uint64_t> notifications_sent_{0};
  std::atomic<uint64_t> notifications_dropped_{0};
  struct Gauge {
    std::string name, help;
    std::function<double()> read;
  };
  std::vector<Gauge> gauges_;
};

}  // namespace va::vault::http
