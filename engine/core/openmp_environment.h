// How the engine's threads wait between parallel regions, and how a program's main sets it.
// The threads are libgomp's (engine/core/thread_pool.h), and libgomp reads its wait policy from
// the environment once, when it loads: a program sets the variable and re-executes itself.
// Header-only, so that test drivers linking no engine share the one setting.
#pragma once

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include <dirent.h>
#include <unistd.h>

namespace mhub::engine {

// GOMP_SPINCOUNT for the team: how many times an idle thread polls for the next region before it
// sleeps on a futex. One poll is a load and a pause instruction, about 20 ns on the 2-core Zen 5
// CI machine, so this is about 0.2 ms: longer than the gap between two consecutive nodes of a
// batch-1 inference (a few to tens of microseconds), short enough that a process between
// inferences soon gives its cores back. libgomp's default with no OMP_WAIT_POLICY is 300000
// (about 6 ms here); PASSIVE is 0: a futex wake-up and wait for every region, tens of
// microseconds each, hundreds per inference.
inline constexpr const char* kOpenMpSpinCount = "10000";

// Spinning pays only while the team's threads have cores to themselves. When other work keeps
// the cores busy, a polling thread burns the time slice its partner needs, and every region ends
// in a wait for a preempted thread: at load average 10 on 2 cores, batch-1 squeezenet1_1 and
// mobilenet_v2 took 4-14x the wall time and 3-5x the CPU time with this short spin that they
// took with sleeping threads (and only half the context switches were saved). So the spin is
// chosen only when fewer than this fraction of the online cores run other work at start;
// otherwise the threads sleep at once (OMP_WAIT_POLICY=PASSIVE). "Other work" is the kernel's
// count of runnable threads now (/proc/loadavg's fourth field, less this process and the rest of
// its pipeline), the least of a few samples a fraction of a millisecond apart, not the load
// average: that one trails the last minute, so a benchmark or a loop of inferences would count
// its own earlier runs as foreign load and turn its spin off.
inline constexpr double kOpenMpSpinMaxBusyPerCore = 0.5;

// The pipe inode behind file descriptor `fd` of process `pid` ("self" for the caller), or 0 when
// that descriptor is not a pipe or cannot be read (another user's process).
inline unsigned long pipe_inode_of(const char* pid, int fd) {
  char path[320], link[64];  // sized for any directory entry name, not just the digits of a pid
  std::snprintf(path, sizeof path, "/proc/%s/fd/%d", pid, fd);
  const ssize_t n = readlink(path, link, sizeof link - 1);
  if (n <= 0) return 0;
  link[n] = '\0';
  unsigned long inode = 0;
  return std::sscanf(link, "pipe:[%lu]", &inode) == 1 ? inode : 0;
}

// The processes at the other end of the caller's stdin or stdout pipe (the pipeline it was
// started in: `mhub bench --json | python3 ...`), found by the pipe's inode on their stdin /
// stdout, as their /proc entry names. Such a partner starts with the caller and is busy only while
// it starts (python3 takes about a third of a second here) or while it consumes what the caller
// writes: counted as other work, it made the wait-policy choice below sleep the team for the whole
// run, up to 45% slower at batch 1. Independent work never shares these pipes: ctest's parallel
// tests each have their own pipe to ctest, which reads it through another descriptor.
inline std::vector<std::string> pipeline_partners(int stdin_fd = 0, int stdout_fd = 1) {
  std::vector<std::string> partners;
  const unsigned long ours[2] = {pipe_inode_of("self", stdin_fd), pipe_inode_of("self", stdout_fd)};
  if (ours[0] == 0 && ours[1] == 0) return partners;
  char self[32];
  std::snprintf(self, sizeof self, "%ld", static_cast<long>(getpid()));
  DIR* proc = opendir("/proc");
  if (!proc) return partners;
  while (const dirent* entry = readdir(proc)) {
    const char* pid = entry->d_name;
    if (pid[0] < '1' || pid[0] > '9' || std::strcmp(pid, self) == 0) continue;
    for (int fd = 0; fd < 2; ++fd) {
      const unsigned long inode = pipe_inode_of(pid, fd);
      if (inode != 0 && (inode == ours[0] || inode == ours[1])) {
        partners.emplace_back(pid);
        break;
      }
    }
  }
  closedir(proc);
  return partners;
}

// Runnable threads of the processes `pids` (/proc entry names) now.
inline long runnable_threads_of(const std::vector<std::string>& pids) {
  long runnable = 0;
  for (const std::string& pid : pids) {
    char path[320];
    std::snprintf(path, sizeof path, "/proc/%s/task", pid.c_str());
    DIR* tasks = opendir(path);
    if (!tasks) continue;
    while (const dirent* task = readdir(tasks)) {
      if (task->d_name[0] < '1' || task->d_name[0] > '9') continue;
      char stat_path[560], line[512];
      std::snprintf(stat_path, sizeof stat_path, "/proc/%s/task/%s/stat", pid.c_str(), task->d_name);
      std::FILE* file = std::fopen(stat_path, "r");
      if (!file) continue;
      const bool read = std::fgets(line, sizeof line, file) != nullptr;
      std::fclose(file);
      const char* close = read ? std::strrchr(line, ')') : nullptr;  // the name may hold spaces
      if (close && close[1] == ' ' && close[2] == 'R') ++runnable;
    }
    closedir(tasks);
  }
  return runnable;
}

// Runnable threads on the machine now besides the caller and its pipeline partners (the least
// of a few samples), or -1 when /proc/loadavg cannot be read. The partners are looked up once,
// when a sample first finds other work, so a quiet machine pays for five reads of /proc/loadavg.
inline long other_runnable_threads() {
  long least = -1;
  std::vector<std::string> partners;
  bool partners_known = false;
  for (int sample = 0; sample < 5; ++sample) {
    if (sample > 0) usleep(200);
    std::FILE* file = std::fopen("/proc/loadavg", "r");
    if (!file) return -1;
    double one = 0, five = 0, fifteen = 0;
    long running = 0, total = 0;
    const bool read = std::fscanf(file, "%lf %lf %lf %ld/%ld", &one, &five, &fifteen, &running, &total) == 5;
    std::fclose(file);
    if (!read || running < 1) return -1;
    long others = running - 1;
    if (others > 0) {
      if (!partners_known) partners = pipeline_partners();
      partners_known = true;
      others = std::max(0L, others - runnable_threads_of(partners));
    }
    if (least < 0 || others < least) least = others;
    if (least == 0) break;
  }
  return least;
}

// For a program's main, before anything else: unless the user chose a wait policy
// (OMP_WAIT_POLICY or GOMP_SPINCOUNT in the environment), sets GOMP_SPINCOUNT=kOpenMpSpinCount on
// a machine with idle cores, else (or when that cannot be told) OMP_WAIT_POLICY=PASSIVE, and
// returns true; the caller then re-executes itself for libgomp to read it. Returns false when
// the environment is left as it was (then there is nothing to restart for).
inline bool set_openmp_spin_environment() {
  if (std::getenv("OMP_WAIT_POLICY") || std::getenv("GOMP_SPINCOUNT")) return false;
  const long others = other_runnable_threads();
  const long cores = sysconf(_SC_NPROCESSORS_ONLN);
  if (others >= 0 && cores > 0 && static_cast<double>(others) < kOpenMpSpinMaxBusyPerCore * static_cast<double>(cores))
    return setenv("GOMP_SPINCOUNT", kOpenMpSpinCount, 1) == 0;
  return setenv("OMP_WAIT_POLICY", "PASSIVE", 1) == 0;
}

// How the team's threads wait, as libgomp read it from the environment at load: "spin N" for
// GOMP_SPINCOUNT=N, "passive" or "active" for OMP_WAIT_POLICY (GOMP_SPINCOUNT wins where both are
// set, as in libgomp), "default" for neither (libgomp's 300000 polls). `mhub bench --json` reports
// it, so a slow benchmark row shows whether the threads slept between regions.
inline std::string openmp_wait_description() {
  if (const char* spin = std::getenv("GOMP_SPINCOUNT")) return std::string("spin ") + spin;
  if (const char* policy = std::getenv("OMP_WAIT_POLICY")) {
    std::string lower(policy);
    for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return lower;
  }
  return "default";
}

// Re-executes the running program with `argv` and the current environment, so that libgomp reads
// what set_openmp_spin_environment set. Executes the binary's own path (read from /proc/self/exe)
// rather than /proc/self/exe itself: the process is named after the file executed, and a process
// named "exe" is one `pgrep mhub`, `pkill mhub` and top's command column do not show as mhub.
// Returns only when the exec fails (the caller then runs on as it is).
inline void reexecute_self(char** argv) {
  char path[4096];
  const ssize_t n = readlink("/proc/self/exe", path, sizeof path - 1);
  if (n > 0) {
    path[n] = '\0';
    execv(path, argv);  // fails where the file was replaced or deleted meanwhile: then the link
  }
  execv("/proc/self/exe", argv);
}

}  // namespace mhub::engine
