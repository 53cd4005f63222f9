// The CUDA backend: the kernels of engine/cuda (table in cuda_kernels.cpp) on one device, its
// memory from a caching allocator, all work queued on one stream (so a buffer the session's pool
// hands out again is only reused after the kernels before it on the stream are done with it).
// Plain C++: no CUDA headers, so engine/devices.cpp and the CLI can include it.
#pragma once

#include "engine/core/backend.h"

namespace mhub::engine::cuda {

// The backend of CUDA device `index`, made on first use and kept for the process. Throws
// mhub::Error (unsupported) when the device cannot be used (no driver, no such device).
// Sessions on several threads may share it, but only one of them runs at a time.
const Backend& cuda_backend(int index);

}  // namespace mhub::engine::cuda
