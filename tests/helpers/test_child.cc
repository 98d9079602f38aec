// va-test-child: a small, predictable process for tests of the process layer and of akon. The mode
// is chosen on the command line; every mode that keeps running first arranges its signal handling
// and then writes one readiness line ("ready\n", or the pid it reports) to stdout or to --ready-fd
// N, so a test waits for that line instead of sleeping. Exits 2 on a usage error.
//
//   va-test-child [--ready-fd N] MODE [ARGS]
//     exit-on-term    SIGTERM handler that _exits 0; ready; waits forever
//     ignore-term     SIGTERM ignored; ready; waits forever (only SIGKILL ends it)
//     block-term      SIGTERM blocked, so one sent stays pending (visible in /proc); ready; waits
//     pause           default dispositions; ready; waits forever
//     slow-term MS    on SIGTERM, exits 0 after MS milliseconds; ready; waits
//     hold-term       on SIGTERM writes "SIGTERM" to stdout, then exits 0 once stdin reaches end
//                     of file (so a test can hold it mid-stop); ready; waits
//     report-usr1     each SIGUSR1 writes "SIGUSR1" to stdout; SIGTERM exits 0; ready; waits
//     exit CODE       exits with CODE at once
//     echo WORDS...   writes the words, space-separated, and a newline to stdout; exits 0
//     fork N          forks N children (same process group and cgroup, default dispositions)
//                     that each wait forever; ready once all exist; waits forever
//     fork-ignore N   like fork, but the parent and every child ignore SIGTERM
//     zombie-parent   forks a child that exits at once and is never reaped; once it has exited
//                     writes its pid as the readiness line; waits forever
//     http-health PORT
//                     a tiny HTTP server on 0.0.0.0:PORT answering every request "200 OK" and
//                     printing "request" for each; after SIGUSR1, "503 Service Unavailable"
//     listen-silent ADDR PORT
//                     listens on IPv4 ADDR:PORT; ready; accepts every connection, writes
//                     "accepted" to stdout for each, and holds it open without ever reading or
//                     answering (a server that hangs a client's handshake); waits forever
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

namespace {

volatile sig_atomic_t g_term_received = 0;

void ExitZeroHandler(int) { _exit(0); }
void FlagHandler(int) { g_term_received = 1; }
void ReportUsr1Handler(int) {
  const int saved = errno;
  static constexpr char kLine[] = "SIGUSR1\n";
  (void)!write(STDOUT_FILENO, kLine, sizeof(kLine) - 1);  // one small write: atomic on a pipe
  errno = saved;
}

[[noreturn]] void Usage(const char* why) {
  std::fprintf(stderr, "va-test-child: %s\n", why);
  std::fprintf(stderr,
               "usage: va-test-child [--ready-fd N] exit-on-term|ignore-term|block-term|pause|"
               "slow-term MS|hold-term|report-usr1|exit CODE|echo WORDS...|fork N|fork-ignore N|"
               "zombie-parent|http-health PORT|listen-silent ADDR PORT\n");
  std::exit(2);
}

[[noreturn]] void Die(const char* what) {
  std::fprintf(stderr, "va-test-child: %s: %s\n", what, std::strerror(errno));
  std::exit(3);
}

long ParseNumber(const char* text) {
  char* end = nullptr;
  errno = 0;
  long value = std::strtol(text, &end, 10);
  if (errno != 0 || end == text || *end != '\0' || value < 0) Usage("expected a number");
  return value;
}

void WriteLine(int fd, std::string_view line) {
  std::string data(line);
  data += '\n';
  std::string_view rest = data;
  while (!rest.empty()) {
    ssize_t n = write(fd, rest.data(), rest.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) Die("write readiness line");
    rest.remove_prefix(static_cast<size_t>(n));
  }
}

void SetHandler(int sig, void (*handler)(int)) {
  struct sigaction sa {};
  sa.sa_handler = handler;
  sigemptyset(&sa.sa_mask);
  if (sigaction(sig, &sa, nullptr) != 0) Die("sigaction");
}

[[noreturn]] void WaitForever() {
  for (;;) pause();
}

void SleepMillis(long ms) {
  timespec left{ms / 1000, (ms % 1000) * 1000000L};
  while (nanosleep(&left, &left) != 0 && errno == EINTR) {
  }
}

[[noreturn]] void ForkAndWait(long children, int ready_fd) {
  for (long i = 0; i < children; ++i) {
    pid_t pid = fork();
    if (pid < 0) Die("fork");
    if (pid == 0) WaitForever();
  }
  WriteLine(ready_fd, "ready");
  WaitForever();
}

// A listening TCP socket on ADDR:PORT (IPv4); exits with a usage error or the failing call.
int Listen(const char* addr, long port) {
  if (port <= 0 || port > 65535) Usage("expected a port");
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_port = htons(static_cast<uint16_t>(port));
  if (inet_pton(AF_INET, addr, &sa.sin_addr) != 1) Usage("expected an IPv4 address");
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) Die("socket");
  int one = 1;
  if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) != 0) Die("setsockopt");
  if (bind(fd, reinterpret_cast<sockaddr*>(&sa), sizeof(sa)) != 0) Die("bind");
  if (listen(fd, 16) != 0) Die("listen");
  return fd;
}

[[noreturn]] void ListenSilent(const char* addr, long port, int ready_fd) {
  int fd = Listen(addr, port);
  WriteLine(ready_fd, "ready");
  std::vector<int> held;  // never read, never closed: the peer waits for an answer forever
  for (;;) {
    int conn = accept4(fd, nullptr, nullptr, SOCK_CLOEXEC);
    if (conn < 0) {
      if (errno == EINTR || errno == ECONNABORTED) continue;
      Die("accept");
    }
    held.push_back(conn);
    WriteLine(STDOUT_FILENO, "accepted");
  }
}

volatile sig_atomic_t g_unhealthy = 0;
void SetUnhealthy(int) { g_unhealthy = 1; }

[[noreturn]] void HttpHealth(long port, int ready_fd) {
  struct sigaction sa_usr1 {};
  sa_usr1.sa_handler = SetUnhealthy;
  sigaction(SIGUSR1, &sa_usr1, nullptr);
  int fd = Listen("0.0.0.0", port);
  WriteLine(ready_fd, "ready");
  for (;;) {
    int conn = accept4(fd, nullptr, nullptr, SOCK_CLOEXEC);
    if (conn < 0) {
      if (errno == EINTR || errno == ECONNABORTED) continue;
      Die("accept");
    }
    char buf[4096];
    ssize_t n = read(conn, buf, sizeof(buf));  // one request fits: headers of a GET
    if (n > 0) {
      const char* reply = g_unhealthy ? "HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\n"
                                        "Connection: close\r\n\r\n"
                                      : "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n"
                                        "Connection: close\r\n\r\n";
      ssize_t w = write(conn, reply, std::strlen(reply));
      (void)w;
      WriteLine(STDOUT_FILENO, g_unhealthy ? "request 503" : "request 200");
    }
    close(conn);
  }
}

}  // namespace

int main(int argc, char** argv) {
  int ready_fd = STDOUT_FILENO;
  int i = 1;
  if (i + 1 < argc && std::string_view(argv[i]) == "--ready-fd") {
    ready_fd = static_cast<int>(ParseNumber(argv[i + 1]));
    i += 2;
  }
  if (i >= argc) Usage("no mode");
  const std::string_view mode = argv[i++];
  const int rest = argc - i;
  // A parent may have left SIGCHLD ignored, which would make the kernel reap our children.
  SetHandler(SIGCHLD, SIG_DFL);

  if (mode == "exit-on-term" && rest == 0) {
    SetHandler(SIGTERM, ExitZeroHandler);
    WriteLine(ready_fd, "ready");
    WaitForever();
  }
  if (mode == "ignore-term" && rest == 0) {
    SetHandler(SIGTERM, SIG_IGN);
    WriteLine(ready_fd, "ready");
    WaitForever();
  }
  if (mode == "block-term" && rest == 0) {
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    if (sigprocmask(SIG_BLOCK, &set, nullptr) != 0) Die("sigprocmask");
    WriteLine(ready_fd, "ready");
    WaitForever();
  }
  if (mode == "pause" && rest == 0) {
    WriteLine(ready_fd, "ready");
    WaitForever();
  }
  if (mode == "slow-term" && rest == 1) {
    const long ms = ParseNumber(argv[i]);
    sigset_t term, old;
    sigemptyset(&term);
    sigaddset(&term, SIGTERM);
    if (sigprocmask(SIG_BLOCK, &term, &old) != 0) Die("sigprocmask");
    SetHandler(SIGTERM, FlagHandler);
    WriteLine(ready_fd, "ready");
    while (!g_term_received) sigsuspend(&old);
    SleepMillis(ms);
    _exit(0);
  }
  if (mode == "hold-term" && rest == 0) {
    sigset_t term, old;
    sigemptyset(&term);
    sigaddset(&term, SIGTERM);
    if (sigprocmask(SIG_BLOCK, &term, &old) != 0) Die("sigprocmask");
    SetHandler(SIGTERM, FlagHandler);
    WriteLine(ready_fd, "ready");
    while (!g_term_received) sigsuspend(&old);
    WriteLine(STDOUT_FILENO, "SIGTERM");
    char buf[256];
    for (;;) {
      ssize_t n = read(STDIN_FILENO, buf, sizeof(buf));
      if (n == 0 || (n < 0 && errno != EINTR)) break;
    }
    _exit(0);
  }
  if (mode == "report-usr1" && rest == 0) {
    SetHandler(SIGUSR1, ReportUsr1Handler);
    SetHandler(SIGTERM, ExitZeroHandler);
    WriteLine(ready_fd, "ready");
    WaitForever();
  }
  if (mode == "exit" && rest == 1) {
    return static_cast<int>(ParseNumber(argv[i]));
  }
  if (mode == "echo") {
    std::string line;
    for (int j = i; j < argc; ++j) {
      if (j > i) line += ' ';
      line += argv[j];
    }
    WriteLine(STDOUT_FILENO, line);
    return 0;
  }
  if (mode == "fork" && rest == 1) ForkAndWait(ParseNumber(argv[i]), ready_fd);
  if (mode == "fork-ignore" && rest == 1) {
    SetHandler(SIGTERM, SIG_IGN);
    ForkAndWait(ParseNumber(argv[i]), ready_fd);
  }
  if (mode == "zombie-parent" && rest == 0) {
    pid_t child = fork();
    if (child < 0) Die("fork");
    if (child == 0) _exit(0);
    // Wait until the child has exited but leave it unreaped (WNOWAIT): it stays a zombie.
    siginfo_t info{};
    while (waitid(P_PID, static_cast<id_t>(child), &info, WEXITED | WNOWAIT) != 0) {
      if (errno != EINTR) Die("waitid");
    }
    WriteLine(ready_fd, std::to_string(child));
    WaitForever();
  }
  if (mode == "http-health" && rest == 1) HttpHealth(ParseNumber(argv[i]), ready_fd);
  if (mode == "listen-silent" && rest == 2)
    ListenSilent(argv[i], ParseNumber(argv[i + 1]), ready_fd);
  Usage("unknown mode or wrong number of arguments");
}
