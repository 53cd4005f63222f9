// Learning-rate schedules: the rate for a 0-based optimizer step out of `total_steps`.
//   constant  base
//   cosine    base -> min_lr along half a cosine (torch CosineAnnealingLR with T_max = total)
//   step      base * gamma^floor(step / step_size) (torch StepLR)
//   onecycle  torch OneCycleLR (cos anneal, pct_start 0.3, div 25, final_div 1e4): base is max_lr
// A linear warm-up (warmup_steps > 0) ramps from base/warmup to base over the first steps and
// the schedule proper then runs over the remaining steps (not used with onecycle).
#pragma once

#include <cstdint>
#include <string>

namespace mhub::train {

enum class ScheduleKind { constant, cosine, step, onecycle };

struct Schedule {
  ScheduleKind kind = ScheduleKind::constant;
  double base_lr = 1e-3;
  int64_t total_steps = 1;
  int64_t warmup_steps = 0;
  double min_lr = 0;        // cosine
  int64_t step_size = 1;    // step
  double gamma = 0.1;       // step
  double pct_start = 0.3;   // onecycle
  double div_factor = 25, final_div_factor = 1e4;

  double lr_at(int64_t step) const;
};

// "constant" | "cosine" | "step" | "onecycle"; throws mhub::Error (usage) naming the choices.
ScheduleKind parse_schedule_kind(const std::string& name);

}  // namespace mhub::train
