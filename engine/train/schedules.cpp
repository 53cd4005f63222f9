#include "engine/train/schedules.h"

#include <algorithm>
#include <cmath>

#include "common/error.h"

namespace mhub::train {
namespace {

const double kPi = 3.14159265358979323846;

double cosine_between(double start, double end, double fraction) {
  return end + (start - end) / 2 * (std::cos(kPi * fraction) + 1);
}

}  // namespace

double Schedule::lr_at(int64_t step) const {
  if (kind == ScheduleKind::onecycle) {
    const double initial = base_lr / div_factor, final_lr = initial / final_div_factor;
    const double up_end = pct_start * static_cast<double>(total_steps) - 1;
    const double s = static_cast<double>(step);
    if (s <= up_end) return cosine_between(initial, base_lr, up_end > 0 ? s / up_end : 1);
    const double down = static_cast<double>(total_steps - 1) - up_end;
    return cosine_between(base_lr, final_lr, down > 0 ? std::min(1.0, (s - up_end) / down) : 1);
  }
  if (step < warmup_steps) return base_lr * static_cast<double>(step + 1) / static_cast<double>(warmup_steps);
  const int64_t t = step - warmup_steps;
  const int64_t span = std::max<int64_t>(1, total_steps - warmup_steps);
  switch (kind) {
    case ScheduleKind::cosine:
      return cosine_between(base_lr, min_lr, std::min(1.0, static_cast<double>(t) / static_cast<double>(span)));
    case ScheduleKind::step:
      return base_lr * std::pow(gamma, static_cast<double>(t / std::max<int64_t>(1, step_size)));
    default:
      return base_lr;
  }
}

ScheduleKind parse_schedule_kind(const std::string& name) {
  if (name == "constant") return ScheduleKind::constant;
  if (name == "cosine") return ScheduleKind::cosine;
  if (name == "step") return ScheduleKind::step;
  if (name == "onecycle" || name == "one-cycle") return ScheduleKind::onecycle;
  throw Error(ErrorCategory::usage, "unknown schedule '" + name + "'; choose constant, cosine, step or onecycle");
}

}  // namespace mhub::train
