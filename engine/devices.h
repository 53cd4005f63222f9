// The one place that knows which backends this build has: the host backend every Session is
// built with (the CPU) and the backend a `--device` string names.
#pragma once

#include <string>
#include <string_view>

#include "engine/core/backend.h"

namespace mhub::engine {

// The CPU backend: host memory, every op the engine has. What a Session's `host` argument gets
// (engine/core/session.h); lives for the whole program.
const Backend& host_backend();

// The backend a Session should prefer for a `--device` string:
//   "cpu"               -> nullptr (the host backend runs everything)
//   "cuda", "cuda:N"    -> the CUDA backend of device N (0 when not given)
// Throws mhub::Error: usage for a string that is neither; unsupported when this build has no
// CUDA backend or the machine has no such device (the message says what to do instead).
const Backend* backend_for_device(std::string_view spec);

// Whether this build has the CUDA backend compiled in.
bool cuda_built();

// One line per usable device for `--help` / `mhub devices`-style listings: "cpu" and, when
// built with CUDA, "cuda:N <name> (<GiB> GiB, sm_XY)" or why there is none.
std::string describe_devices();

}  // namespace mhub::engine
