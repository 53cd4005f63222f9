#include "onnx_io/ort_cpu_kernels.h"

#include <string_view>
#include <unordered_map>

namespace mhub::onnx_io {

namespace {

// ai.onnx ops that ONNX Runtime 1.30's CPU execution provider runs with bfloat16 tensors, and
// the first opset at which it does.
//
// Source: onnxruntime/core/providers/cpu/cpu_execution_provider.cc registers its compute
// kernels (Relu, Add, MatMul, Conv, pooling, reductions, Softmax, Erf, Where, Expand, Pad, ...)
// for float/double (and MLFloat16 on some builds) only; bfloat16 comes with Cast, with the
// type-agnostic data-movement kernels (registered for all tensor types) and with a few typed
// ones listed below. Checked against the onnxruntime-node 1.30.0 library (the peer in
// ../shared/peers): a one-node model per op, bfloat16 inside float32 Casts, opsets 17 and 21;
// session creation succeeds for these ops and fails ("Could not find an implementation") for
// the others probed: Clip with min/max (ORT inlines its ONNX function, whose Less has no
// bfloat16 kernel; without min/max it loads), Abs Add ArgMax AveragePool BatchNormalization Ceil
// Conv CumSum DepthToSpace Div Dropout Equal Erf Exp Expand Floor Gelu Gemm GlobalAveragePool
// Greater Hardmax LeakyRelu Less Log LogSoftmax MatMul Max MaxPool Mean Min Mul Neg NonZero Pad
// PRelu Pow Reciprocal Reduce* Relu Resize Sigmoid Size Softmax SpaceToDepth Sqrt Sub Sum Tanh
// Tile Trilu Where. LayerNormalization loads too, through its ONNX function (float32 inside);
// it is left out with the others: anything not listed is treated as lacking a kernel (the safe
// side: it then computes in float32 behind Casts).
const std::unordered_map<std::string_view, int64_t>& bfloat16_kernels() {
  static const std::unordered_map<std::string_view, int64_t> ops = {
      {"Cast", 13},         {"Concat", 13},        {"ConstantOfShape", 9},
      {"Flatten", 13},      {"Gather", 13},        {"GatherElements", 13}, {"GatherND", 13},
      {"Identity", 13},     {"IsInf", 20},         {"IsNaN", 20},
      {"Reshape", 13},      {"ScatterElements", 13}, {"ScatterND", 13}, {"Shape", 13},
      {"Sign", 13},         {"Slice", 13},         {"Split", 13},     {"Squeeze", 13},
      {"Transpose", 13},    {"Unsqueeze", 13},
      // Not a kernel: ORT turns Constant nodes into initializers when it loads the model.
      {"Constant", 1},
  };
  return ops;
}

}  // namespace

bool ort_cpu_runs_in(const std::string& op_type, const std::string& domain, int64_t opset, ir::DataType type) {
  if (type != ir::DataType::bfloat16) return true;
  if (!domain.empty() && domain != "ai.onnx") return true;
  auto found = bfloat16_kernels().find(op_type);
  return found != bfloat16_kernels().end() && opset >= found->second;
}

}  // namespace mhub::onnx_io
