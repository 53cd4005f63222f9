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
// took with sleeping threads (and only half the context switches were saved). So the
// spin is chosen only when the 1-minute load average at start is below this fraction of the
// online cores; otherwise the threads sleep at once (OMP_WAIT_POLICY=PASSIVE).
inline constexpr double kOpenMpSpinMaxLoadPerCore = 0.5;

// For a program's main, before anything else: unless the user chose a wait policy
// (OMP_WAIT_POLICY or GOMP_SPINCOUNT in the environment), sets GOMP_SPINCOUNT=kOpenMpSpinCount on
// a machine with idle cores, else OMP_WAIT_POLICY=PASSIVE, and returns true; the caller then
// re-executes itself for libgomp to read it. Returns false when the environment is left as it
// was (then there is nothing to restart for).
inline bool set_openmp_spin_environment() {
  if (std::getenv("OMP_WAIT_POLICY") || std::getenv("GOMP_SPINCOUNT")) return false;
  double load = 1e9;  // unknown: as if busy
  if (std::FILE* file = std::fopen("/proc/loadavg", "r")) {
    if (std::fscanf(file, "%lf", &load) != 1) load = 1e9;
    std::fclose(file);
  }
  const long cores = sysconf(_SC_NPROCESSORS_ONLN);
  if (cores > 0 && load < kOpenMpSpinMaxLoadPerCore * static_cast<double>(cores))
    return setenv("GOMP_SPINCOUNT", kOpenMpSpinCount, 1) == 0;
  return setenv("OMP_WAIT_POLICY", "PASSIVE", 1) == 0;
}

}  // namespace mhub::engine
