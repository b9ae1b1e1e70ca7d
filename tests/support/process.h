// Test helpers: child processes with captured stdout, free loopback ports, temp dirs, and
// waiting on conditions with deadlines (never fixed sleeps).
#pragma once

#include <sys/types.h>

#include <chrono>
#include <functional>
#include <string>
#include <vector>

namespace mooncake::testing {

// A child process started with fork/exec. Its stdout is readable line by line; stderr goes to
// the test's stderr. The destructor kills (SIGKILL) and reaps it if still running.
class ChildProcess {
 public:
  // `stderr_path`, when set, receives the child's stderr instead of the test's.
  ChildProcess(const std::string& program, const std::vector<std::string>& args,
               const std::vector<std::string>& extra_env = {}, const std::string& stderr_path = "");
  ~ChildProcess();
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;

  pid_t pid() const { return pid_; }
  // Next stdout line, or "" on EOF/timeout.
  std::string readLine(std::chrono::milliseconds timeout);
  // Sends a signal; kill(SIGKILL) then wait() is "kill -9". SIGSTOP returns once the process
  // is stopped.
  void signal(int sig);
  // Waits for exit; returns the exit status (or 128+signal), -1 on timeout.
  int wait(std::chrono::milliseconds timeout);
  // Closes the child's stdin (children that wait for EOF then exit).
  void closeStdin();
  int stdinFd() const { return stdin_fd_; }

 private:
  pid_t pid_ = -1;
  int stdout_fd_ = -1;
  int stdin_fd_ = -1;
  std::string buffered_;
  bool reaped_ = false;
};

// A port on 127.0.0.1 that was free a moment ago, below the ephemeral range when it can be.
uint16_t freeLoopbackPort();

// A fresh directory under $TMPDIR, removed with its contents by the destructor.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

// Polls `condition` until it returns true or `timeout` passes.
bool waitFor(const std::function<bool()>& condition, std::chrono::milliseconds timeout);

// Absolute path of a binary built next to the test executables (tests/support/...).
std::string builtBinary(const std::string& relative_to_build_dir);

}  // namespace mooncake::testing
