// How the engine's threads wait between parallel regions, and how a program's main sets it.
// The threads are libgomp's (engine/core/thread_pool.h), and libgomp reads its wait policy from
// the environment once, when it loads: a program sets the variable and re-executes itself.
// Header-only, so that test drivers linking no engine share the one setting.
#pragma once

#include <cstdio>
#include <cstdlib>

#include <unistd.h>

namespace mhub::engine {

// GOMP_SPINCOUNT for the team: how many times an idle thread polls for the next region before it
// sleeps on a futex. One poll is a load and a pause instruction, about 20 ns on the 2-core Zen 4
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
// count of runnable threads now (/proc/loadavg's fourth field, less this process), the least of
// a few samples a fraction of a millisecond apart, not the load average: that one trails the
// last minute, so a benchmark or a loop of inferences would count its own earlier runs as
// foreign load and turn its spin off.
inline constexpr double kOpenMpSpinMaxBusyPerCore = 0.5;

// Runnable threads on the machine now besides the caller (the least of a few samples), or -1
// when /proc/loadavg cannot be read.
inline long other_runnable_threads() {
  long least = -1;
  for (int sample = 0; sample < 5; ++sample) {
    if (sample > 0) usleep(200);
    std::FILE* file = std::fopen("/proc/loadavg", "r");
    if (!file) return -1;
    double one = 0, five = 0, fifteen = 0;
    long running = 0, total = 0;
    const bool read = std::fscanf(file, "%lf %lf %lf %ld/%ld", &one, &five, &fifteen, &running, &total) == 5;
    std::fclose(file);
    if (!read || running < 1) return -1;
    if (least < 0 || running - 1 < least) least = running - 1;
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

}  // namespace mhub::engine
