// Output dimensions that kernels compute from input values (Tile's dims x repeats, Pad's padded
// sizes, Resize's scaled sizes, Range's element count): checked before they become int64.
#pragma once

#include <cstdint>

namespace mhub::engine {

class OpContext;

namespace cpu {

// `value`, computed in long double so nothing wraps, as a dimension: it must be finite, >= 0 and
// at most 2^62, else mhub::Error (format) naming the node and `what`. (int64 overflow and the
// conversion of inf/NaN to int64 are undefined behaviour, so they are checked before they happen.)
int64_t checked_dim(const OpContext& ctx, long double value, const char* what);

}  // namespace cpu
}  // namespace mhub::engine
