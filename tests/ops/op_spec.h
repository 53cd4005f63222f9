// The op-spec list (in the manner of ggml's test-backend-ops): each op's cases defined once, as
// plain data, and run by tests/ops/spec_runner on every compiled backend against the CPU
// reference kernels; the backward rules are gradient-checked from the same specs.
//
// A family file tests/ops/<family>_specs.cpp returns its table from <family>_specs(); the list
// of families is all_op_specs() in tests/ops/op_specs.cpp (explicit, no static initializers).
// Inputs are concrete tensors, built when the table is built (random ones from a fixed seed), so
// every backend sees the same bytes.
#pragma once

#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "engine/ir/graph.h"

namespace mhub::test {

// The backends a spec runs on besides the CPU reference kernels (which every spec runs on).
enum Backends : uint32_t {
  cpu_fast = 1u << 0,     // the CPU with fast kernels allowed (KernelKind::fast vs reference)
  test_device = 1u << 1,  // tests/test_device.h (mirror_cpu) through a Session that prefers it
  cuda_device = 1u << 2,  // the CUDA backend, when built and a GPU is present
  all_backends = cpu_fast | test_device | cuda_device,
};

// How the non-finite elements of a backend's output may differ from the reference's.
enum class NonFinite : uint8_t {
  same,      // NaN exactly where the reference has NaN; infinities equal
  superset,  // every non-finite reference element is non-finite here too; more are allowed
             // (oneDNN multiplies padded zeros: 0 * NaN = NaN); finite pairs compared
};

struct Operand {
  ir::Tensor tensor;         // dtype undefined: an absent optional input ("")
  bool initializer = false;  // a graph initializer (constant for the session), not a fed input
};

struct OpSpec {
  std::string name;  // what failures print, e.g. "Conv grouped strided"
  std::string op;
  std::vector<ir::Attribute> attributes = {};
  std::vector<Operand> inputs = {};
  size_t outputs = 1;    // every one is compared
  int64_t opset = 21;
  std::string domain = "";  // ir::kInternalDomain for mhub's gradient ops
  double rtol = 1e-5;    // |backend - reference| <= atol + rtol * |reference| (floating outputs;
  double atol = 1e-6;    // integers, bools and strings are exact)
  // Known outputs of the reference kernel, by output index (dtype undefined: not checked), with
  // the same tolerance.
  std::vector<ir::Tensor> expect = {};
  // Not empty: every backend must throw mhub::Error whose message contains this.
  std::string error = "";
  // Bit i: input i (float, constant shape) is gradient-checked against finite differences
  // (tests/train/test_gradcheck.cpp); the op must have a backward rule.
  uint32_t grad = 0;
  uint32_t backends = all_backends;
  NonFinite nonfinite = NonFinite::same;
  int threads = 1;  // 2 exercises the kernels' threaded paths
};

// The whole list, family by family.
std::vector<OpSpec> all_op_specs();

// ---- Table helpers (what the family files write).

using ir::float_attr;
using ir::int_attr;
using ir::ints_attr;
using ir::string_attr;

inline ir::Attribute floats_attr(const std::string& name, std::vector<float> values) {
  ir::Attribute a;
  a.name = name;
  a.type = ir::AttributeType::floats;
  a.floats = std::move(values);
  return a;
}

inline ir::Attribute strings_attr(const std::string& name, std::vector<std::string> values) {
  ir::Attribute a;
  a.name = name;
  a.type = ir::AttributeType::strings;
  a.strings = std::move(values);
  return a;
}

template <typename T>
ir::Tensor tensor_of(ir::DataType dtype, std::vector<int64_t> dims, const std::vector<T>& values) {
  return ir::Tensor::from_bytes(dtype, std::move(dims), values.data(), values.size() * sizeof(T));
}
inline ir::Tensor f32(std::vector<int64_t> dims, const std::vector<float>& values) {
  return tensor_of(ir::DataType::float32, std::move(dims), values);
}
inline ir::Tensor i64(std::vector<int64_t> dims, const std::vector<int64_t>& values) {
  return tensor_of(ir::DataType::int64, std::move(dims), values);
}
inline ir::Tensor i32(std::vector<int64_t> dims, const std::vector<int32_t>& values) {
  return tensor_of(ir::DataType::int32, std::move(dims), values);
}
inline ir::Tensor boolean(std::vector<int64_t> dims, const std::vector<uint8_t>& values) {
  return tensor_of(ir::DataType::boolean, std::move(dims), values);
}
ir::Tensor f16(std::vector<int64_t> dims, const std::vector<float>& values);  // rounded to float16
ir::Tensor bf16(std::vector<int64_t> dims, const std::vector<float>& values);  // rounded to bfloat16
ir::Tensor strings(std::vector<int64_t> dims, std::vector<std::string> values);
inline ir::Tensor absent() { return ir::Tensor{}; }
// A tensor of `dtype` and `dims` whose value is never compared (only dtype and dims are).
inline ir::Tensor zeros(ir::DataType dtype, std::vector<int64_t> dims) { return ir::Tensor::zeros(dtype, std::move(dims)); }

inline Operand init(ir::Tensor t) { return {std::move(t), true}; }

// Random float32 inputs from a fixed seed (one generator per family table).
class Random {
 public:
  explicit Random(uint32_t seed) : gen_(seed) {}
  // Uniform in [lo, hi); odd sizes welcome.
  ir::Tensor uniform(std::vector<int64_t> dims, float lo = -1.0f, float hi = 1.0f);
  // uniform(), then NaN, +Inf, -Inf written at elements 0, 1, 2 (those that exist).
  ir::Tensor specials(std::vector<int64_t> dims, float lo = -2.0f, float hi = 2.0f);
  std::vector<float> values(size_t n, float lo = -1.0f, float hi = 1.0f);

 private:
  std::mt19937 gen_;
};

// 1000003 float32 values in [-2, 2) with NaN, +Inf, -Inf first: the size that makes device
// kernels loop over their grid. Built once per process from a multiplicative hash (cheap also
// under the sanitizers' -O0), shared by every spec that uses it.
const ir::Tensor& grid_size_specials();

// Family tables (tests/ops/<family>_specs.cpp), in all_op_specs() order.
std::vector<OpSpec> elementwise_specs();
std::vector<OpSpec> binary_specs();
std::vector<OpSpec> cast_specs();
std::vector<OpSpec> shape_ops_specs();
std::vector<OpSpec> layout_specs();
std::vector<OpSpec> indexing_specs();
std::vector<OpSpec> ordering_specs();
std::vector<OpSpec> activations_specs();
std::vector<OpSpec> matmul_specs();
std::vector<OpSpec> conv_specs();
std::vector<OpSpec> conv_grad_specs();
std::vector<OpSpec> pool_specs();
std::vector<OpSpec> norm_specs();
std::vector<OpSpec> softmax_specs();
std::vector<OpSpec> resize_specs();
std::vector<OpSpec> train_ops_specs();
std::vector<OpSpec> reduce_specs();
std::vector<OpSpec> rnn_specs();

}  // namespace mhub::test
