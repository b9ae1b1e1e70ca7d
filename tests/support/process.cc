#include "support/process.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <random>
#include <set>
#include <stdexcept>
#include <thread>

namespace mooncake::testing {

ChildProcess::ChildProcess(const std::string& program, const std::vector<std::string>& args,
                           const std::vector<std::string>& extra_env,
                           const std::string& stderr_path) {
  int out_pipe[2];
  int in_pipe[2];
  if (::pipe2(out_pipe, O_CLOEXEC) != 0 || ::pipe2(in_pipe, O_CLOEXEC) != 0) {
    throw std::runtime_error("pipe failed");
  }
  pid_ = ::fork();
  if (pid_ == 0) {
    // Die with the test: a crashed or timed-out test must not leave servers behind.
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    ::dup2(out_pipe[1], STDOUT_FILENO);
    ::dup2(in_pipe[0], STDIN_FILENO);
    if (!stderr_path.empty()) {
      int log = ::open(stderr_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
      if (log >= 0) ::dup2(log, STDERR_FILENO);
    }
    for (const std::string& kv : extra_env) ::putenv(const_cast<char*>(kv.c_str()));
    std::vector<char*> argv;
    argv.push_back(const_cast<char*>(program.c_str()));
    for (const std::string& a : args) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    ::execvp(program.c_str(), argv.data());
    std::fprintf(stderr, "exec %s: %s\n", program.c_str(), std::strerror(errno));
    ::_exit(127);
  }
  ::close(out_pipe[1]);
  ::close(in_pipe[0]);
  stdout_fd_ = out_pipe[0];
  stdin_fd_ = in_pipe[1];
}

ChildProcess::~ChildProcess() {
  if (!reaped_ && pid_ > 0) {
    ::kill(pid_, SIGKILL);
    ::waitpid(pid_, nullptr, 0);
  }
  if (stdout_fd_ >= 0) ::close(stdout_fd_);
  if (stdin_fd_ >= 0) ::close(stdin_fd_);
}

std::string ChildProcess::readLine(std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (true) {
    size_t newline = buffered_.find('\n');
    if (newline != std::string::npos) {
      std::string line = buffered_.substr(0, newline);
      buffered_.erase(0, newline + 1);
      return line;
    }
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return "";
    struct pollfd pfd {
      stdout_fd_, POLLIN, 0
    };
    if (::poll(&pfd, 1, static_cast<int>(left.count())) <= 0) return "";
    char chunk[4096];
    ssize_t got = ::read(stdout_fd_, chunk, sizeof(chunk));
    if (got <= 0) return "";
    buffered_.append(chunk, static_cast<size_t>(got));
  }
}

void ChildProcess::signal(int sig) {
  if (reaped_) return;
  ::kill(pid_, sig);
  if (sig != SIGSTOP) return;
  // SIGSTOP lands asynchronously; tests rely on the process being stopped when this returns.
  waitFor(
      [this] {
        std::ifstream stat("/proc/" + std::to_string(pid_) + "/stat");
        std::string pid, name, state;
        stat >> pid >> name >> state;
        return state == "T" || state == "t";
      },
      std::chrono::seconds(5));
}

int ChildProcess::wait(std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!reaped_) {
    int status = 0;
    pid_t done = ::waitpid(pid_, &status, WNOHANG);
    if (done == pid_) {
      reaped_ = true;
      return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    }
    if (std::chrono::steady_clock::now() > deadline) return -1;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return 0;
}

void ChildProcess::closeStdin() {
  if (stdin_fd_ >= 0) ::close(stdin_fd_);
  stdin_fd_ = -1;
}

namespace {

// Whether `port` on 127.0.0.1 can be bound right now (closed again at once).
bool bindable(uint16_t port) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return false;
  struct sockaddr_in addr {};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(port);
  bool ok = ::bind(fd, reinterpret_cast<struct sockaddr*>(&addr), sizeof(addr)) == 0;
  ::close(fd);
  return ok;
}

// The lowest port the kernel hands out to outgoing connections (ip_local_port_range).
int firstEphemeralPort() {
  std::ifstream range("/proc/sys/net/ipv4/ip_local_port_range");
  int low = 32768;
  if (!(range >> low)) low = 32768;
  return low;
}

}  // namespace

// Below the ephemeral range: a port the kernel gave us for bind(0) could be handed to another
// test's outgoing connection before our server binds it (seen as "address already in use" under
// ctest -j2). Random ports below that range collide only with another test's pick.
// A port is handed out once per process: two picks of one test (a master's rpc and metrics
// ports) are both still unbound when the second is made, so bindable() cannot tell them apart.
uint16_t freeLoopbackPort() {
  static thread_local std::mt19937 random(std::random_device{}() ^
                                          static_cast<unsigned>(::getpid()));
  static std::mutex given_mutex;
  static std::set<uint16_t> given;
  const int high = firstEphemeralPort() - 1;
  constexpr int kLow = 10000;
  if (high > kLow) {
    std::uniform_int_distribution<int> pick(kLow, high);
    for (int attempt = 0; attempt < 200; ++attempt) {
      auto port = static_cast<uint16_t>(pick(random));
      std::lock_guard lock(given_mutex);
      if (!given.contains(port) && bindable(port)) {
        given.insert(port);
        return port;
      }
    }
  }
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in addr {};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  ::bind(fd, reinterpret_cast<struct sockaddr*>(&addr), sizeof(addr));
  socklen_t len = sizeof(addr);
  ::getsockname(fd, reinterpret_cast<struct sockaddr*>(&addr), &len);
  ::close(fd);
  return ntohs(addr.sin_port);
}

TempDir::TempDir() {
  std::string base = std::filesystem::temp_directory_path() / "mooncake-test-XXXXXX";
  std::vector<char> buffer(base.begin(), base.end());
  buffer.push_back('\0');
  if (::mkdtemp(buffer.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
  path_ = buffer.data();
}

TempDir::~TempDir() {
  std::error_code ignored;
  std::filesystem::remove_all(path_, ignored);
}

bool waitFor(const std::function<bool()>& condition, std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (condition()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return condition();
}

std::string builtBinary(const std::string& relative_to_build_dir) {
  return std::string(MC_BUILD_DIR) + "/" + relative_to_build_dir;
}

}  // namespace mooncake::testing
