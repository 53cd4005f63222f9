// The CPU backend: the kernel table of engine/cpu, host memory.
#pragma once

#include "engine/core/backend.h"

namespace mhub::engine::cpu {

// The one CPU backend object (stateless; lives for the whole program).
const Backend& cpu_backend();

}  // namespace mhub::engine::cpu
