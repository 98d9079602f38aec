// Benchmark: authenticated GET throughput and latency of the real vaultd against a bare Boost.Beast
// "hello" server (http_hello_server) built in the same tree and measured in the same run, on the
// same machine, with the same thread count and the same wrk settings. The ratio of their
// throughputs is the result (goal: vaultd >= 50 % of the bare server).
//
// For each thread count: a fresh data directory; `vaultctl user add` makes an owner; vaultd and
// the hello server start on 127.0.0.1 port 0; the owner logs in and uploads a few small files;
// then wrk (`-t1 -c32 -d10s --latency`, the same Authorization header for both servers) runs
// against GET /api/owner/files and GET / alternately, several rounds, after a short warm-up. With
// one server thread, each server is pinned to CPU 0 and wrk to CPU 1 (when there are two CPUs),
// so that neither the server nor the client steals the other's core; with more threads nothing
// is pinned. Any non-2xx response or socket error fails the benchmark. Both servers are stopped
// with SIGTERM and must exit 0; the temporary directory is removed. Besides wrk's numbers, each
// row shows the server's CPU time per request (all its threads, from /proc/PID/task/*/schedstat),
// which other load on the machine disturbs far less than throughput.
//
// Usage: http_bench [--quick] [--threads 1,2] [--rounds N] [--duration SECONDS]
//                   [--connections N]
// --quick: one thread count (1), one 3-s round. Prints a table; JSON to $VA_BENCH_OUT.
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "base/asio.h"
#include "base/sys.h"
#include "bench_util.h"
#include "proc/process.h"
#include "proc/stop.h"
#include "support/child.h"
#include "support/test_env.h"

namespace {

namespace asio = va::asio;
namespace beast = boost::beast;
namespace bhttp = beast::http;
using tcp = asio::ip::tcp;
using std::chrono::seconds;

constexpr const char* kEmail = "bench@example.com";
constexpr const char* kPassword = "bench-password-0123456789";
constexpr int kFiles = 5;

[[noreturn]] void Fail(const std::string& what) { throw std::runtime_error(what); }

// ---------------------------------------------------------------------------------------------
// Options

struct Options {
  std::vector<unsigned> threads = {1, 2};
  int rounds = 3;
  int duration_s = 10;
  int connections = 32;
};

Options ParseOptions(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) Fail(a + " needs a value");
      return argv[++i];
    };
    if (a == "--quick") {
      o.threads = {1};
      o.rounds = 1;
      o.duration_s = 3;
    } else if (a == "--threads") {
      o.threads.clear();
      std::stringstream list(value());
      for (std::string item; std::getline(list, item, ',');) {
        o.threads.push_back(static_cast<unsigned>(std::stoul(item)));
      }
    } else if (a == "--rounds") {
      o.rounds = std::stoi(value());
    } else if (a == "--duration") {
      o.duration_s = std::stoi(value());
    } else if (a == "--connections") {
      o.connections = std::stoi(value());
    } else {
      Fail("unknown argument " + a +
           " (usage: http_bench [--quick] [--threads 1,2] [--rounds N] [--duration S] "
           "[--connections N])");
    }
  }
  if (o.threads.empty() || o.rounds < 1 || o.duration_s < 1 || o.connections < 1) {
    Fail("bad options");
  }
  return o;
}

std::string LoadAvg() {
  auto text = va::ReadSmallFile("/proc/loadavg");
  if (!text) return "?";
  std::istringstream in(*text);
  std::string one, five, fifteen;
  in >> one >> five >> fifteen;
  return one + " " + five + " " + fifteen;
}

// Sets the calling thread's CPU set for the life of the object; children spawned meanwhile
// inherit it. cpu < 0: leaves everything as it is.
class ScopedCpu {
 public:
  explicit ScopedCpu(int cpu) {
    if (cpu < 0) return;
    if (sched_getaffinity(0, sizeof(old_), &old_) != 0) return;
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(cpu, &set);
    active_ = sched_setaffinity(0, sizeof(set), &set) == 0;
  }
  ~ScopedCpu() {
    if (active_) sched_setaffinity(0, sizeof(old_), &old_);
  }
  ScopedCpu(const ScopedCpu&) = delete;
  ScopedCpu& operator=(const ScopedCpu&) = delete;

 private:
  cpu_set_t old_{};
  bool active_ = false;
};

// ---------------------------------------------------------------------------------------------
// A server process: started with its stderr in a log file, known by its readiness line, stopped
// with SIGTERM (and, should it hang, SIGKILL) when the object goes away.

class Server {
 public:
  Server(std::string name, std::vector<std::string> argv, const std::string& log_path, int cpu)
      : name_(std::move(name)), log_path_(log_path) {
    auto log = va::Open(log_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (!log) Fail("open " + log_path + ": " + log.error().message);
    va::SpawnOptions options;
    options.argv = std::move(argv);
    options.stdin_fd = va::SpawnOptions::kDevNull;
    options.stderr_fd = log->Get();
    options.parent_death_signal = SIGKILL;  // never outlive the benchmark
    ScopedCpu pin(cpu);
    auto child = va::testing::StartChild({}, options, std::chrono::seconds(30));
    if (!child) Fail(name_ + " did not start: " + child.error().message + "\n" + LogTail());
    process_.emplace(std::move(child->process));
    out_ = std::move(child->out);
    const std::string& line = child->line;
    auto colon = line.rfind(':');
    if (line.find(" listening on http://") == std::string::npos || colon == std::string::npos) {
      std::string stopped = Stop();
      Fail(name_ + ": unexpected first line '" + line + "' " + stopped);
    }
    port_ = static_cast<uint16_t>(std::stoul(line.substr(colon + 1)));
  }
  ~Server() {
    if (process_) (void)Stop();
  }
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  uint16_t Port() const { return port_; }
  // CPU time the server's threads have used so far (sum of /proc/PID/task/*/schedstat), in ns.
  uint64_t CpuNs() const {
    uint64_t total = 0;
    std::error_code ec;
    const std::string tasks = "/proc/" + std::to_string(process_->Pid()) + "/task";
    for (const auto& task : std::filesystem::directory_iterator(tasks, ec)) {
      auto text = va::ReadSmallFile(task.path().string() + "/schedstat");
      if (text) total += std::strtoull(text->c_str(), nullptr, 10);
    }
    return total;
  }
  std::string Url(const std::string& path) const {
    return "http://127.0.0.1:" + std::to_string(port_) + path;
  }
  std::string LogTail() const {
    auto text = va::ReadSmallFile(log_path_, 16 << 20);
    if (!text) return "";
    std::string_view t = *text;
    if (t.size() > 2000) t = t.substr(t.size() - 2000);
    return "--- " + name_ + " stderr (tail) ---\n" + std::string(t);
  }

  // SIGTERM, then waits up to 10 s. Empty on a clean exit 0; otherwise what went wrong.
  std::string Stop() {
    va::StopPolicy policy;
    policy.grace = seconds(10);
    auto r = va::StopProcess(*process_, policy);
    process_.reset();
    if (r.outcome == va::StopOutcome::kExitedGracefully && r.status &&
        *r.status == va::ExitStatus{false, 0}) {
      return "";
    }
    return name_ + " did not stop cleanly: " + std::string(va::StopOutcomeName(r.outcome)) +
           (r.status ? " (" + r.status->ToString() + ")" : "") + " " + r.detail;
  }

 private:
  std::string name_;
  std::string log_path_;
  std::optional<va::Process> process_;
  va::UniqueFd out_;
  uint16_t port_ = 0;
};

// ---------------------------------------------------------------------------------------------
// A one-shot HTTP client for the set-up requests (every request on a new connection, 30 s each).

struct Reply {
  int status = 0;
  std::string body;
};

asio::awaitable<Reply> Fetch(uint16_t port, bhttp::request<bhttp::string_body> req) {
  auto executor = co_await asio::this_coro::executor;
  beast::tcp_stream stream(executor);
  stream.expires_after(seconds(30));
  co_await stream.async_connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), port),
                                asio::use_awaitable);
  co_await bhttp::async_write(stream, req, asio::use_awaitable);
  beast::flat_buffer buffer;
  bhttp::response<bhttp::string_body> res;
  co_await bhttp::async_read(stream, buffer, res, asio::use_awaitable);
  boost::system::error_code ignored;
  stream.socket().shutdown(tcp::socket::shutdown_both, ignored);
  co_return Reply{static_cast<int>(res.result_int()), std::move(res.body())};
}

Reply Request(uint16_t port, bhttp::verb method, const std::string& target,
              const std::string& token = "", std::string body = "",
              const std::string& content_type = "") {
  bhttp::request<bhttp::string_body> req{method, target, 11};
  req.set(bhttp::field::host, "127.0.0.1:" + std::to_string(port));
  req.set(bhttp::field::user_agent, "http_bench");
  if (!token.empty()) req.set(bhttp::field::authorization, "Bearer " + token);
  if (!content_type.empty()) req.set(bhttp::field::content_type, content_type);
  req.body() = std::move(body);
  req.keep_alive(false);
  req.prepare_payload();
  asio::io_context io;
  std::optional<Reply> reply;
  std::string error;
  asio::co_spawn(io, Fetch(port, std::move(req)), [&](const std::exception_ptr& e, Reply r) {
    if (!e) {
      reply = std::move(r);
      return;
    }
    try {
      std::rethrow_exception(e);
    } catch (const std::exception& ex) {
      error = ex.what();
    }
  });
  io.run();
  if (!reply) Fail(std::string(bhttp::to_string(method)) + " " + target + ": " + error);
  return *reply;
}

// Logs in and uploads kFiles small files; returns the access token.
std::string PrepareVault(const Server& vaultd) {
  Reply login =
      Request(vaultd.Port(), bhttp::verb::post, "/api/auth/login", "",
              std::string(R"({"email":")") + kEmail + R"(","password":")" + kPassword + R"("})",
              "application/json");
  if (login.status != 200) {
    Fail("login: " + std::to_string(login.status) + " " + login.body);
  }
  boost::system::error_code ec;
  boost::json::value v = boost::json::parse(login.body, ec);
  const boost::json::value* token =
      ec || !v.is_object() ? nullptr : v.as_object().if_contains("access_token");
  if (!token || !token->is_string()) Fail("login: no access_token in " + login.body);
  std::string access(token->as_string().c_str());
  for (int i = 0; i < kFiles; ++i) {
    std::string name = "bench-" + std::to_string(i) + ".txt";
    Reply up = Request(vaultd.Port(), bhttp::verb::post, "/api/owner/files?name=" + name, access,
                       std::string(1024, static_cast<char>('a' + i)), "text/plain");
    if (up.status != 201) Fail("upload " + name + ": " + std::to_string(up.status) + " " + up.body);
  }
  Reply list = Request(vaultd.Port(), bhttp::verb::get, "/api/owner/files", access);
  if (list.status != 200 ||
      list.body.find("\"total_count\":" + std::to_string(kFiles)) == std::string::npos) {
    Fail("file list: " + std::to_string(list.status) + " " + list.body);
  }
  return access;
}

// ---------------------------------------------------------------------------------------------
// wrk

struct WrkResult {
  double req_per_s = 0;
  double p50_ms = 0, p75_ms = 0, p90_ms = 0, p99_ms = 0, max_ms = 0;
  uint64_t requests = 0;
  uint64_t non_2xx = 0;
  uint64_t socket_errors = 0;
  double server_cpu_us = 0;  // server CPU time per request, microseconds
};

// "215.32us", "1.20ms", "2.00s", "1.00m" → milliseconds; throws on anything else.
double ParseWrkTime(const std::string& text) {
  size_t pos = 0;
  double value = std::stod(text, &pos);
  std::string unit = text.substr(pos);
  if (unit == "us") return value / 1000;
  if (unit == "ms") return value;
  if (unit == "s") return value * 1000;
  if (unit == "m") return value * 60000;
  if (unit == "h") return value * 3600000;
  Fail("wrk time with unknown unit: " + text);
}

WrkResult ParseWrk(const std::string& out) {
  WrkResult r;
  bool have_rps = false, have_p99 = false;
  bool in_distribution = false;
  std::istringstream lines(out);
  for (std::string line; std::getline(lines, line);) {
    std::istringstream words(line);
    std::string first;
    words >> first;
    if (first == "Latency" && line.find("Distribution") != std::string::npos) {
      in_distribution = true;
      continue;
    }
    if (first == "Latency") {  // Thread Stats: avg stdev max +/-
      std::string avg, stdev, max;
      words >> avg >> stdev >> max;
      r.max_ms = ParseWrkTime(max);
      continue;
    }
    if (in_distribution && !first.empty() && first.back() == '%') {
      std::string value;
      words >> value;
      double ms = ParseWrkTime(value);
      if (first == "50%") r.p50_ms = ms;
      if (first == "75%") r.p75_ms = ms;
      if (first == "90%") r.p90_ms = ms;
      if (first == "99%") r.p99_ms = ms, have_p99 = true;
      continue;
    }
    in_distribution = false;
    if (first == "Requests/sec:") {
      words >> r.req_per_s;
      have_rps = true;
    } else if (line.find(" requests in ") != std::string::npos) {
      r.requests = std::stoull(first);
    } else if (first == "Non-2xx") {
      r.non_2xx = std::stoull(line.substr(line.rfind(':') + 1));
    } else if (first == "Socket") {  // Socket errors: connect 0, read 0, write 0, timeout 0
      std::string rest = line.substr(line.find(':') + 1);
      for (char& c : rest) {
        if (c == ',') c = ' ';
      }
      std::istringstream counts(rest);
      std::string kind;
      uint64_t n = 0;
      while (counts >> kind >> n) r.socket_errors += n;
    }
  }
  if (!have_rps || !have_p99) Fail("cannot read wrk's output:\n" + out);
  return r;
}

WrkResult RunWrk(const Options& o, const Server& server, const std::string& url,
                 const std::string& token, int duration_s, int cpu) {
  std::vector<std::string> argv = {"wrk",
                                   "-t1",
                                   "-c" + std::to_string(o.connections),
                                   "-d" + std::to_string(duration_s) + "s",
                                   "--latency",
                                   "-H",
                                   "Authorization: Bearer " + token,
                                   url};
  ScopedCpu pin(cpu);
  const uint64_t cpu_before = server.CpuNs();
  auto r = va::testing::RunCommand(argv, std::nullopt, {}, seconds(duration_s + 60));
  const uint64_t cpu_used = server.CpuNs() - cpu_before;
  if (!r) Fail("wrk: " + r.error().message);
  if (!r->status || r->status->signaled || r->status->code != 0) {
    Fail("wrk failed: " + r->Describe());
  }
  WrkResult w = ParseWrk(r->out);
  if (w.requests > 0) {
    w.server_cpu_us = static_cast<double>(cpu_used) / 1e3 / static_cast<double>(w.requests);
  }
  if (w.non_2xx != 0 || w.socket_errors != 0) {
    Fail("wrk against " + url + ": " + std::to_string(w.non_2xx) + " non-2xx responses, " +
         std::to_string(w.socket_errors) + " socket errors:\n" + r->out);
  }
  return w;
}

// ---------------------------------------------------------------------------------------------
// One thread count: both servers, warm-up, alternating rounds.

struct Measured {
  std::string server;  // "hello" or "vaultd"
  unsigned threads = 0;
  bool pinned = false;
  std::string load;  // /proc/loadavg before the first round
  std::vector<WrkResult> rounds;

  double Median(double WrkResult::*field) const {
    std::vector<double> v;
    for (const auto& r : rounds) v.push_back(r.*field);
    return va::bench::Quantile(v, 0.5);
  }
};

std::pair<Measured, Measured> MeasureThreads(const Options& o, unsigned threads,
                                             const std::string& bin) {
  va::testing::TempDir tmp;
  const std::string data = tmp.File("data");
  const bool pin = threads == 1 && sysconf(_SC_NPROCESSORS_ONLN) >= 2;
  const int server_cpu = pin ? 0 : -1;
  const int client_cpu = pin ? 1 : -1;

  auto add = va::testing::RunCommand({bin + "/vaultctl", "--data-dir", data, "user", "add",
                                      "--email", kEmail, "--role", "owner", "--password-stdin"},
                                     std::nullopt, std::string(kPassword) + "\n", seconds(60));
  if (!add) Fail("vaultctl: " + add.error().message);
  if (!add->status || add->status->signaled || add->status->code != 0) {
    Fail("vaultctl user add failed: " + add->Describe());
  }

  const std::string t = std::to_string(threads);
  Server hello("hello", {bin + "/http_hello_server", "--listen", "127.0.0.1:0", "--threads", t},
               tmp.File("hello.log"), server_cpu);
  Server vaultd("vaultd",
                {bin + "/vaultd", "--data-dir", data, "--listen", "127.0.0.1:0", "--threads", t,
                 "--access-token-ttl", "3600"},
                tmp.File("vaultd.log"), server_cpu);
  std::string token;
  try {
    token = PrepareVault(vaultd);
  } catch (const std::exception& e) {
    Fail(std::string(e.what()) + "\n" + vaultd.LogTail());
  }
  Reply hi = Request(hello.Port(), bhttp::verb::get, "/", token);
  if (hi.status != 200) Fail("hello: " + std::to_string(hi.status));

  const std::string vault_url = vaultd.Url("/api/owner/files");
  const std::string hello_url = hello.Url("/");
  std::fprintf(stderr, "http_bench: %u thread(s)%s: warm-up", threads,
               pin ? " (servers on CPU 0, wrk on CPU 1)" : "");
  RunWrk(o, hello, hello_url, token, 1, client_cpu);
  RunWrk(o, vaultd, vault_url, token, 1, client_cpu);
  Measured h{"hello", threads, pin, LoadAvg(), {}};
  Measured v{"vaultd", threads, pin, h.load, {}};
  for (int i = 0; i < o.rounds; ++i) {
    std::fprintf(stderr, ", round %d/%d", i + 1, o.rounds);
    h.rounds.push_back(RunWrk(o, hello, hello_url, token, o.duration_s, client_cpu));
    v.rounds.push_back(RunWrk(o, vaultd, vault_url, token, o.duration_s, client_cpu));
  }
  std::fprintf(stderr, "\n");
  std::string problems = hello.Stop();
  std::string vault_problem = vaultd.Stop();
  if (!vault_problem.empty()) problems += (problems.empty() ? "" : "; ") + vault_problem;
  if (!problems.empty()) Fail(problems + "\n" + vaultd.LogTail());
  return {std::move(h), std::move(v)};
}

std::string BinDir() {
  if (const char* dir = std::getenv("VA_BIN_DIR"); dir && *dir) return dir;
  return std::filesystem::path(va::testing::BinPath("http_bench")).parent_path();
}

}  // namespace

int main(int argc, char** argv) {
  try {
    Options o = ParseOptions(argc, argv);
    const std::string bin = BinDir();
    const std::string load_start = LoadAvg();
    std::vector<std::pair<Measured, Measured>> results;
    for (unsigned threads : o.threads) results.push_back(MeasureThreads(o, threads, bin));

    std::printf(
        "\nAuthenticated GET /api/owner/files (vaultd, %d files) vs GET / (bare Beast hello)\n"
        "wrk -t1 -c%d -d%ds --latency, same Authorization header; median of %d round(s); "
        "load at start %s\n",
        kFiles, o.connections, o.duration_s, o.rounds, load_start.c_str());
    std::printf("%-20s %7s %9s %8s %8s %8s %12s %7s  %s\n", "server", "threads", "req/s", "p50 ms",
                "p90 ms", "p99 ms", "cpu us/req", "ratio", "note");
    std::vector<va::bench::Row> rows;
    std::ostringstream extra;
    extra << ",\"tool\":\"wrk\",\"connections\":" << o.connections
          << ",\"duration_s\":" << o.duration_s << ",\"rounds\":" << o.rounds
          << ",\"files\":" << kFiles << ",\"load_start\":\"" << load_start << "\",\"results\":[";
    bool first = true;
    for (const auto& [h, v] : results) {
      double base = h.Median(&WrkResult::req_per_s);
      for (const Measured* m : {&h, &v}) {
        double rps = m->Median(&WrkResult::req_per_s);
        double ratio = base > 0 ? rps / base : 0;
        std::string name = (m->server == "hello" ? "hello (bare Beast)" : "vaultd (GET files)");
        std::string note = m->server == "hello" ? "baseline" : "goal: ratio >= 0.50";
        if (m->pinned) note += ", pinned";
        const double cpu_us = m->Median(&WrkResult::server_cpu_us);
        std::printf("%-20s %7u %9.0f %8.3f %8.3f %8.3f %12.1f %6.2fx  %s\n", name.c_str(),
                    m->threads, rps, m->Median(&WrkResult::p50_ms), m->Median(&WrkResult::p90_ms),
                    m->Median(&WrkResult::p99_ms), cpu_us, ratio, note.c_str());
        va::bench::Stats s;
        s.n = m->rounds.size();
        s.median = m->Median(&WrkResult::p50_ms);
        s.p90 = m->Median(&WrkResult::p90_ms);
        s.p99 = m->Median(&WrkResult::p99_ms);
        s.min = m->rounds.front().p50_ms;
        s.max = 0;
        for (const auto& r : m->rounds) {
          s.min = std::min(s.min, r.p50_ms);
          s.max = std::max(s.max, r.max_ms);
        }
        rows.push_back({m->server + " t" + std::to_string(m->threads), s, note});
        extra << (first ? "" : ",") << "{\"server\":\"" << m->server
              << "\",\"threads\":" << m->threads << ",\"pinned\":" << (m->pinned ? "true" : "false")
              << ",\"load\":\"" << m->load << "\",\"req_per_s\":" << rps
              << ",\"ratio_to_hello\":" << ratio << ",\"server_cpu_us_per_req\":" << cpu_us
              << ",\"req_per_s_rounds\":[";
        for (size_t i = 0; i < m->rounds.size(); ++i) {
          extra << (i ? "," : "") << m->rounds[i].req_per_s;
        }
        extra << "],\"p50_ms\":" << s.median << ",\"p99_ms\":" << s.p99 << "}";
        first = false;
      }
    }
    extra << "]";
    std::fflush(stdout);
    va::bench::WriteJson("http", rows, extra.str());
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "\nhttp_bench: %s\n", e.what());
    return 1;
  }
}
