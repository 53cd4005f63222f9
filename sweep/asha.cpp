#include "sweep/asha.h"

#include <algorithm>
#include <vector>

namespace mhub::sweep {

namespace {

// The rung a pending trial waits at (-1: not at a rung).
int waiting_rung(const SweepState& state, const Trial& t) {
  if (t.status != "pending") return -1;
  const auto at = std::find(state.rungs.begin(), state.rungs.end(), t.epochs);
  return at == state.rungs.end() ? -1 : static_cast<int>(at - state.rungs.begin());
}

}  // namespace

std::optional<Job> asha_next_job(const SweepState& state, bool nothing_running) {
  const std::string& metric = state.config.metric;
  const bool unstarted = std::any_of(state.trials.begin(), state.trials.end(),
                                     [](const Trial& t) { return t.status == "pending" && t.epochs == 0; });
  const bool settle = nothing_running && !unstarted;  // no more results can arrive
  const size_t eta = static_cast<size_t>(std::max(2, state.config.halving));
  // A pending trial between rungs (not expected: segments end at rungs) first finishes its segment.
  for (size_t i = 0; i < state.trials.size(); ++i) {
    const Trial& t = state.trials[i];
    if (t.status != "pending" || t.epochs == 0 || waiting_rung(state, t) >= 0) continue;
    const auto next = std::upper_bound(state.rungs.begin(), state.rungs.end(), t.epochs);
    if (next != state.rungs.end()) return Job{i, *next};
  }
  for (int k = static_cast<int>(state.rungs.size()) - 2; k >= 0; --k) {
    const int rung = state.rungs[static_cast<size_t>(k)];
    std::vector<size_t> reached;
    for (size_t i = 0; i < state.trials.size(); ++i)
      if (state.trials[i].at_epoch(rung)) reached.push_back(i);
    std::stable_sort(reached.begin(), reached.end(), [&](size_t a, size_t b) {
      const double x = state.trials[a].at_epoch(rung)->metric(metric), y = state.trials[b].at_epoch(rung)->metric(metric);
      return higher_is_better(metric) ? x > y : x < y;
    });
    size_t quota = reached.size() / eta;
    if (settle) quota = std::max<size_t>(quota, 1);
    for (size_t r = 0; r < std::min(quota, reached.size()); ++r)
      if (waiting_rung(state, state.trials[reached[r]]) == k) return Job{reached[r], state.rungs[static_cast<size_t>(k) + 1]};
  }
  for (size_t i = 0; i < state.trials.size(); ++i)
    if (state.trials[i].status == "pending" && state.trials[i].epochs == 0) return Job{i, state.rungs.front()};
  return std::nullopt;
}

void mark_halted(SweepState& state) {
  for (Trial& t : state.trials) {
    if (t.status != "pending" || t.epochs == 0) continue;
    if (t.epochs >= state.rungs.back()) {
      t.status = "done";
    } else {
      t.status = "halted";
      t.halted_at = t.epochs;
    }
  }
}

}  // namespace mhub::sweep
