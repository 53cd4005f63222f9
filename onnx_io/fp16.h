// float32 -> float16 / bfloat16 conversion of ONNX models, and the hook that measures the
// numerical error of the result with an inference engine.
//
// What changes: every float32 value of the main graph (initializers, Constant values, Cast
// targets, graph inputs/outputs, value_info) becomes the target type, except around the nodes
// kept in float32: their low-precision inputs get a Cast to float32 and their outputs a Cast
// back, so they compute in float32 (a kept node reading another kept node's output reads its
// float32 result directly). Nodes are kept for one of three reasons:
//   precision: `keep_fp32_ops` (reductions, normalizations, Softmax by default). Initializers
//              used only by such nodes stay float32.
//   schema:    the op's ONNX schema has no type for the target (Conv and bfloat16 at opset 17).
//   runtime:   with `runtime == ort_cpu`, ONNX Runtime's CPU provider has no kernel for the op
//              in the target type (ort_cpu_kernels.h: for bfloat16 all compute ops), so that
//              ORT loads the result.
// Initializers of schema- and runtime-kept nodes are stored in the target type all the same
// (the file shrinks) and read through a Cast to float32. Types of intermediate values come from
// ONNX shape inference on the float32 model (libonnx, opsets up to 17).
//
// Never clamps silently: finite float32 values beyond float16's range (|x| > 65504) are counted
// per tensor, and the conversion throws mhub::Error (format) unless `allow_clamp` (then they
// become ±65504 and are still reported). bfloat16 has float32's range: nothing to clamp.
#pragma once

#include <filesystem>
#include <functional>
#include <set>
#include <string>
#include <vector>

#include "engine/ir/float16.h"
#include "engine/ir/graph.h"

namespace mhub::onnx_io {

// ReduceMean, ReduceSum, ..., LayerNormalization, BatchNormalization, Softmax, ...
const std::set<std::string>& default_fp32_ops();

// Whose kernels decide which ops may compute in the target type, besides the ONNX schema.
enum class LowPrecisionRuntime {
  ort_cpu,  // ONNX Runtime's CPU execution provider (the default: what most consumers run)
  any,      // only the ONNX schema: for runtimes with full bfloat16 kernels (e.g. GPUs)
};

struct LowPrecisionOptions {
  ir::DataType target = ir::DataType::float16;  // float16 or bfloat16
  bool keep_io_types = false;   // graph inputs/outputs stay float32 (Casts at the edges)
  std::set<std::string> keep_fp32_ops = default_fp32_ops();
  bool allow_clamp = false;     // clamp out-of-range values instead of failing
  LowPrecisionRuntime runtime = LowPrecisionRuntime::ort_cpu;
};

struct LowPrecisionReport {
  size_t converted_tensors = 0;        // initializers and Constant values converted
  uint64_t converted_elements = 0;
  uint64_t out_of_range = 0;           // finite values beyond the target's range (clamped if allowed)
  uint64_t flushed_to_zero = 0;        // non-zero values that became zero (informational)
  std::vector<std::pair<std::string, uint64_t>> out_of_range_tensors;  // name, count
  size_t kept_fp32_nodes = 0;          // all reasons together
  size_t kept_for_runtime = 0;         // of which: the runtime has no kernel in the target type
  std::set<std::string> runtime_fp32_ops;  // their op types
  size_t casts_inserted = 0;
  std::vector<std::string> kept_fp32_initializers;
};

// Converts `model` in place. `base_dir` is where its external data lies (for shape inference).
// Throws mhub::Error: usage (bad target type), unsupported (subgraphs, types shape inference
// cannot find), format (out-of-range values without allow_clamp; the model is then unchanged).
LowPrecisionReport convert_to_low_precision(ir::Model& model, const LowPrecisionOptions& options,
                                            const std::filesystem::path& base_dir);

// One element conversion (engine/ir/float16.h): round to nearest even; NaN stays NaN, ±inf
// stays ±inf.
using ir::bfloat16_to_float;
using ir::float_to_bfloat16;
using ir::float_to_half;
using ir::half_to_float;

// --- measuring the error against the float32 model (needs an engine) ---------------------

// Runs `model` on `inputs` (in the model's input order) and returns its outputs in order.
using ModelRunner =
    std::function<std::vector<ir::Tensor>(const ir::Model& model, const std::vector<ir::Tensor>& inputs)>;

struct OutputError {
  std::string output;
  double max_abs_error = 0;
  double max_rel_error = 0;  // |a-b| / max(|a|, 1e-6), per element: large where outputs are near 0
  double max_error_vs_largest = 0;  // max |a-b| / max |a|: the error on the output's own scale
  uint64_t elements = 0;
};

// Runs both models on the same float32 `inputs` (cast to what `converted` expects) and compares
// each output as doubles. Throws mhub::Error (usage) when `run` is empty, (format) when the
// models' outputs differ in count or shape.
std::vector<OutputError> measure_precision_error(const ir::Model& reference, const ir::Model& converted,
                                                 const std::vector<ir::Tensor>& inputs, const ModelRunner& run);

// Element-wise comparison of two float tensors of the same shape (float32/16/bf16/64).
OutputError compare_outputs(const std::string& name, const ir::Tensor& expected, const ir::Tensor& actual);

// `tensor` converted to another float type (float32/float16/bfloat16/float64), values rounded
// to nearest even; out-of-range values become ±inf (this is for engine inputs/outputs, not
// weights: weights go through convert_to_low_precision's counting).
ir::Tensor cast_float_tensor(const ir::Tensor& tensor, ir::DataType target);

}  // namespace mhub::onnx_io
