// Asynchronous successive halving (ASHA, Li et al. 2020) for `mhub sweep --halving ETA --async`:
// instead of waiting for every trial to reach a rung before deciding, a free worker is given the
// next job at once. The rule is a pure function of the state file, so a resumed sweep takes up
// the same decisions without keeping any of its own.
//
// A pending trial whose completed epochs equal rung k waits there. It is promotable (to rung k+1)
// when it is among the top floor(n_k / eta) of the n_k trials that reached rung k (every trial
// with a recorded metric at rungs[k] epochs, whatever it did afterwards), on the sweep's metric,
// ties to the earlier trial. The next job is the promotable trial of the highest rung (best
// first), else a trial not started yet (to rung 0), else nothing. Once no more results can arrive
// (`nothing_running` and no trial is left to start) floor(n_k / eta) is relaxed to
// max(1, floor(n_k / eta)), as synchronous halving keeps at least one trial per rung, so a sweep
// always carries a trial to the last rung. Trials left waiting when the sweep ends are halted at
// their rung (mark_halted).
#pragma once

#include <cstddef>
#include <optional>

#include "sweep/sweep_state.h"

namespace mhub::sweep {

struct Job {
  size_t trial = 0;  // index into state.trials
  int target = 0;    // epochs to reach (a rung)
};

std::optional<Job> asha_next_job(const SweepState& state, bool nothing_running);

// At the end of an asynchronous sweep: pending trials that stopped below the last rung are halted
// where they stopped.
void mark_halted(SweepState& state);

}  // namespace mhub::sweep
