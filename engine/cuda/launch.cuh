// Launch geometry shared by the elementwise-style kernels: 256 threads per block and a grid
// capped so grid-stride loops cover any element count (more blocks only add scheduling work).
#pragma once

#include <cstdint>

namespace mhub::engine::cuda {

constexpr int kThreadsPerBlock = 256;

inline unsigned grid_for(int64_t elements) {
  const int64_t blocks = (elements + kThreadsPerBlock - 1) / kThreadsPerBlock;
  return static_cast<unsigned>(blocks < 65535 * 8 ? blocks : 65535 * 8);
}

}  // namespace mhub::engine::cuda
