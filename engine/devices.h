// What a `--device` string names: the backend a Session should prefer.
//
//   "cpu"               -> nullptr (the CPU runs everything)
//   "cuda", "cuda:N"    -> the CUDA backend of device N (0 when not given)
//
// Throws mhub::Error: usage for a string that is neither; unsupported when this build has no
// CUDA backend or the machine has no such device (the message says what to do instead).
#pragma once

#include <string>
#include <string_view>

#include "engine/core/backend.h"

namespace mhub::engine {

const Backend* backend_for_device(std::string_view spec);

// Whether this build has the CUDA backend compiled in.
bool cuda_built();

// One line per usable device for `--help` / `mhub devices`-style listings: "cpu" and, when
// built with CUDA, "cuda:N <name> (<GiB> GiB, sm_XY)" or why there is none.
std::string describe_devices();

}  // namespace mhub::engine
