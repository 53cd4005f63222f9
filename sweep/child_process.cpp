#include "sweep/child_process.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "common/error.h"

namespace mhub::sweep {

pid_t start_child(const std::vector<std::string>& argv, const std::filesystem::path& stdout_file,
                  const std::filesystem::path& stderr_file) {
  // Everything the child needs is prepared before fork: after it only async-signal-safe calls.
  const int out = ::open(stdout_file.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (out < 0) throw Error(ErrorCategory::io, stdout_file.string() + ": cannot open: " + std::strerror(errno));
  const int err = ::open(stderr_file.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (err < 0) {
    ::close(out);
    throw Error(ErrorCategory::io, stderr_file.string() + ": cannot open: " + std::strerror(errno));
  }
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  const pid_t parent = ::getpid();
  const pid_t pid = ::fork();
  if (pid == 0) {
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (::getppid() != parent) ::_exit(127);  // the parent died before prctl took effect
    ::dup2(out, STDOUT_FILENO);
    ::dup2(err, STDERR_FILENO);
    ::execv(args[0], args.data());
    ::_exit(127);
  }
  const int fork_errno = errno;
  ::close(out);
  ::close(err);
  if (pid < 0) throw Error(ErrorCategory::io, std::string("cannot start a trial process: ") + std::strerror(fork_errno));
  return pid;
}

std::string ChildExit::describe() const {
  if (signaled) return "killed by signal " + std::to_string(signal) + " (" + strsignal(signal) + ")";
  if (exit_code == 127) return "exit code 127 (the mhub binary could not be started)";
  return "exit code " + std::to_string(exit_code);
}

ChildExit wait_for_child() {
  int status = 0;
  pid_t pid;
  do {
    pid = ::waitpid(-1, &status, 0);
  } while (pid < 0 && errno == EINTR);
  if (pid < 0) throw Error(ErrorCategory::internal, std::string("waitpid: ") + std::strerror(errno));
  ChildExit e;
  e.pid = pid;
  if (WIFSIGNALED(status)) {
    e.signaled = true;
    e.signal = WTERMSIG(status);
  } else {
    e.exit_code = WEXITSTATUS(status);
  }
  return e;
}

}  // namespace mhub::sweep
