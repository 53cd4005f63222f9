// What ONNX Runtime's CPU execution provider can compute in a low-precision float type: the
// table `mhub convert --dtype bf16` consults so that the models it writes run there.
//
// float16: every op. ORT's own graph transformer (InsertCastTransformer) runs a float16 node
// that has no float16 CPU kernel in float32 between Casts it inserts, so any valid float16
// model loads. bfloat16 gets no such help: a bfloat16 node without a kernel fails session
// creation ("Could not find an implementation for Relu(14)").
#pragma once

#include <cstdint>
#include <string>

#include "engine/ir/dtype.h"

namespace mhub::onnx_io {

// True when ORT (1.30) can run ai.onnx `op_type` at `opset` with its float inputs and outputs
// in `type` on the CPU (float32: always; float16: always, see above; bfloat16: the table in
// ort_cpu_kernels.cpp). Other domains give true: the table does not cover them.
bool ort_cpu_runs_in(const std::string& op_type, const std::string& domain, int64_t opset, ir::DataType type);

}  // namespace mhub::onnx_io
