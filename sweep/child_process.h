// Starting `mhub finetune` trials as child processes and waiting for them (POSIX).
#pragma once

#include <sys/types.h>

#include <filesystem>
#include <string>
#include <vector>

namespace mhub::sweep {

// Starts argv[0] with `argv`, stdout written to `stdout_file` (truncated) and stderr appended to
// `stderr_file`. The child stays in the caller's process group and is killed (SIGKILL) when the
// caller dies, so a killed sweep leaves no trial writing behind it. Throws mhub::Error (io).
pid_t start_child(const std::vector<std::string>& argv, const std::filesystem::path& stdout_file,
                  const std::filesystem::path& stderr_file);

struct ChildExit {
  pid_t pid = -1;
  int exit_code = 0;   // valid when !signaled
  bool signaled = false;
  int signal = 0;
  bool ok() const { return !signaled && exit_code == 0; }
  std::string describe() const;  // "exit code 3", "killed by signal 9 (Killed)"
};

// Blocks until one child ends. Throws mhub::Error (internal) when there is none.
ChildExit wait_for_child();

}  // namespace mhub::sweep
