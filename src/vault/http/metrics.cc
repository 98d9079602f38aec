#include "vault/http/metrics.h"

#include <fmt/format.h>

namespace va::vault::http {

Histogram::Histogram(std::vector<double> bounds)
    : bounds_(std::move(bounds)), buckets_(bounds_.size()) {}

void Histogram::Observe(std::chrono::nanoseconds value) {
  double seconds = std::chrono::duration<double>(value).count();
  for (size_t i = 0; i < bounds_.size(); ++i) {
    if (seconds <= bounds_[i]) {
      buckets_[i].fetch_add(1, std::memory_order_relaxed);
      break;
    }
  }
  count_.fetch_add(1, std::memory_order_relaxed);
  sum_nanos_.fetch_add(static_cast<uint64_t>(value.count() < 0 ? 0 : value.count()),
                       std::memory_order_relaxed);
}

void Histogram::Render(const std::string& name, std::string& out) const {
  uint64_t cumulative = 0;
  for (size_t i = 0; i < bounds_.size(); ++i) {
    cumulative += buckets_[i].load(std::memory_order_relaxed);
    out += fmt::format("{}_bucket{{le=\"{}\"}} {}\n", name, bounds_[i], cumulative);
  }
  uint64_t count = count_.load(std::memory_order_relaxed);
  out += fmt::format("{}_bucket{{le=\"+Inf\"}} {}\n", name, count);
  out += fmt::format("{}_sum {}\n", name,
                     static_cast<double>(sum_nanos_.load(std::memory_order_relaxed)) / 1e9);
  out += fmt::format("{}_count {}\n", name, count);
}

namespace {
std::vector<double> LatencyBounds() {
  return {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};
}
}  // namespace

Metrics::Metrics()
    : request_duration_(LatencyBounds()),
      session_start_(LatencyBounds()),
      session_terminate_(LatencyBounds()) {}

void Metrics::RecordRequest(int status, std::chrono::nanoseconds elapsed) {
  request_duration_.Observe(elapsed);
  std::lock_guard lock(mu_);
  ++requests_by_status_[status];
}

void Metrics::AddGauge(std::string name, std::string help, std::function<double()> read) {
  std::lock_guard lock(mu_);
  gauges_.push_back({std::move(name), std::move(help), std::move(read)});
}

std::string Metrics::Render() const {
  std::string out;
  out += "# HELP vault_http_requests_total HTTP responses sent, by status code.\n";
  out += "# TYPE vault_http_requests_total counter\n";
  std::vector<Gauge> gauges;
  {
    std::lock_guard lock(mu_);
    for (const auto& [status, n] : requests_by_status_) {
      out += fmt::format("vault_http_requests_total{{code=\"{}\"}} {}\n", status, n);
    }
    gauges = gauges_;
  }
  out += "# HELP vault_http_request_duration_seconds Time from request head to response sent.\n";
  out += "# TYPE vault_http_request_duration_seconds histogram\n";
  request_duration_.Render("vault_http_request_duration_seconds", out);
  out += "# HELP vault_session_start_seconds StartSession latency.\n";
  out += "# TYPE vault_session_start_seconds histogram\n";
  session_start_.Render("vault_session_start_seconds", out);
  out += "# HELP vault_session_terminate_seconds Session termination latency.\n";
  out += "# TYPE vault_session_terminate_seconds histogram\n";
  session_terminate_.Render("vault_session_terminate_seconds", out);
  out += "# HELP vault_notifications_sent_total WebSocket notifications delivered.\n";
  out += "# TYPE vault_notifications_sent_total counter\n";
  out += fmt::format("vault_notifications_sent_total {}\n", notifications_sent_.load());
  out += "# HELP vault_notifications_dropped_total Notifications dropped (slow consumers).\n";
  out += "# TYPE vault_notifications_dropped_total counter\n";
  out += fmt::format("vault_notifications_dropped_total {}\n", notifications_dropped_.load());
  for (const Gauge& g : gauges) {
    out += fmt::format("# HELP {} {}\n# TYPE {} gauge\n{} {}\n", g.name, g.help, g.name, g.name,
                       g.read());
  }
  return out;
}

}  // namespace va::vault::http
