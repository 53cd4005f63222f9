#include "engine/cpu/checked_dims.h"

#include <cstdio>
#include <string>

#include "common/error.h"
#include "engine/core/op_context.h"

namespace mhub::engine::cpu {

int64_t checked_dim(const OpContext& ctx, long double value, const char* what) {
  constexpr long double kLimit = static_cast<long double>(uint64_t{1} << 62);
  if (!(value >= 0 && value <= kLimit)) {
    char text[64];
    std::snprintf(text, sizeof text, "%Lg", value);
    throw_error(ErrorCategory::format, ctx.describe() + ": " + what + " " + text +
                                           " is negative, not finite or larger than 2^62");
  }
  return static_cast<int64_t>(value);
}

}  // namespace mhub::engine::cpu
