// Op specs: the Conv gradient ops (mhub-internal ConvGradInput / ConvGradWeight; reference loops
// in engine/cpu/conv_grad.cpp, oneDNN in conv_grad_dnnl.cpp and, bfloat16 or bf16-hinted,
// conv_grad_dnnl_bf16.cpp) on odd sizes, groups (depthwise
// too), strides, dilations, asymmetric pads, 1-D to 3-D, and NaN/Inf. Their reference kernels
// are checked against the forward Conv in conv_grad_test.cpp.
#include <limits>

#include "engine/ir/ops.h"
#include "tests/ops/conv_grad_cases.h"
#include "tests/ops/op_spec.h"

namespace mhub::test {

std::vector<OpSpec> conv_grad_specs() {
  std::vector<OpSpec> specs;
  Random rng(11);
  const std::string internal(ir::kInternalDomain);
  bool threaded = true;  // the first geometry also runs the kernels' threaded paths
  for (const ConvCase& c : conv_grad_cases()) {
    for (bool specials : {false, true}) {
      const int threads = threaded ? 2 : 1;
      threaded = false;
      auto dy = rng.uniform(c.y), w = rng.uniform(c.w), x = rng.uniform(c.x);
      if (specials) {  // a NaN in dY and an infinity in X and W reach the gradients
        reinterpret_cast<float*>(dy.storage->mutable_data())[1] = std::numeric_limits<float>::quiet_NaN();
        reinterpret_cast<float*>(x.storage->mutable_data())[0] = std::numeric_limits<float>::infinity();
        reinterpret_cast<float*>(w.storage->mutable_data())[0] = -std::numeric_limits<float>::infinity();
      }
      // Without padding both kernels agree element for element; with padding oneDNN also
      // multiplies the padded zeros (0 * NaN = NaN), so it may mark more elements non-finite.
      const NonFinite policy = specials && !c.pads.empty() ? NonFinite::superset : NonFinite::same;
      const std::string what = std::to_string(c.x.size() - 2) + "-D group " + std::to_string(c.group) + (specials ? ", NaN/Inf" : "");
      auto input_attrs = c.attributes();
      input_attrs.push_back(ints_attr("input_shape", c.x));
      specs.push_back({.name = "ConvGradInput " + what, .op = "ConvGradInput", .attributes = input_attrs, .inputs = {{dy}, {w}}, .opset = 17,
                       .domain = internal, .rtol = 1e-4, .atol = 1e-4, .nonfinite = policy, .threads = threads});
      auto weight_attrs = c.attributes();
      weight_attrs.push_back(ints_attr("weight_shape", c.w));
      specs.push_back({.name = "ConvGradWeight " + what, .op = "ConvGradWeight", .attributes = weight_attrs, .inputs = {{x}, {dy}},
                       .outputs = 2, .opset = 17, .domain = internal, .rtol = 1e-4, .atol = 1e-4, .nonfinite = policy, .threads = threads});
    }
  }
  // bfloat16 (the backward of a --precision bf16 graph): float32 accumulation, each gradient
  // rounded once to bfloat16 by both kernels (an ulp apart at most, 2^-8 relative).
  auto bf16_uniform = [&](const std::vector<int64_t>& dims) { return bf16(dims, rng.values(ir::element_count(dims), -1, 1)); };
  for (const ConvCase& c : conv_grad_cases()) {
    const std::string what = std::to_string(c.x.size() - 2) + "-D group " + std::to_string(c.group) + ", bfloat16";
    auto input_attrs = c.attributes();
    input_attrs.push_back(ints_attr("input_shape", c.x));
    specs.push_back({.name = "ConvGradInput " + what, .op = "ConvGradInput", .attributes = input_attrs,
                     .inputs = {{bf16_uniform(c.y)}, {bf16_uniform(c.w)}}, .opset = 17, .domain = internal, .rtol = 1e-2, .atol = 1e-3,
                     .backends = cpu_fast, .threads = 2});
    auto weight_attrs = c.attributes();
    weight_attrs.push_back(ints_attr("weight_shape", c.w));
    specs.push_back({.name = "ConvGradWeight " + what, .op = "ConvGradWeight", .attributes = weight_attrs,
                     .inputs = {{bf16_uniform(c.x)}, {bf16_uniform(c.y)}}, .outputs = 2, .opset = 17, .domain = internal, .rtol = 1e-2,
                     .atol = 1e-3, .backends = cpu_fast, .threads = 2});
  }
  // float32 under the session's bf16 compute hint (--precision bf16 training on the CPU): the fast
  // kernels round dY, W and X to bfloat16 (2^-9 relative each) and accumulate and write float32;
  // the reference ignores the hint. Over up to 2*5*13 = 130 products of values in [-2, 2] the
  // difference stays well inside atol 0.1.
  const ir::Attribute hint = string_attr("mhub_compute", "bf16");
  for (const ConvCase& c : conv_grad_cases()) {
    const std::string what = std::to_string(c.x.size() - 2) + "-D group " + std::to_string(c.group) + ", float32 bf16-compute hint";
    auto input_attrs = c.attributes();
    input_attrs.push_back(ints_attr("input_shape", c.x));
    input_attrs.push_back(hint);
    specs.push_back({.name = "ConvGradInput " + what, .op = "ConvGradInput", .attributes = input_attrs,
                     .inputs = {{rng.uniform(c.y, -2, 2)}, {rng.uniform(c.w, -2, 2)}}, .opset = 17, .domain = internal, .rtol = 2e-2,
                     .atol = 0.1, .backends = cpu_fast, .threads = 2});
    auto weight_attrs = c.attributes();
    weight_attrs.push_back(ints_attr("weight_shape", c.w));
    weight_attrs.push_back(hint);
    specs.push_back({.name = "ConvGradWeight " + what, .op = "ConvGradWeight", .attributes = weight_attrs,
                     .inputs = {{rng.uniform(c.x, -2, 2)}, {rng.uniform(c.y, -2, 2)}}, .outputs = 2, .opset = 17, .domain = internal,
                     .rtol = 2e-2, .atol = 0.1, .backends = cpu_fast, .threads = 2});
  }
  // A dY that does not fit the geometry.
  ConvCase c = conv_grad_cases()[0];
  auto attrs = c.attributes();
  attrs.push_back(ints_attr("input_shape", c.x));
  std::vector<int64_t> wrong = c.y;
  wrong[2] += 1;
  specs.push_back({.name = "ConvGradInput with a dY of the wrong size", .op = "ConvGradInput", .attributes = attrs,
                   .inputs = {{rng.uniform(wrong)}, {rng.uniform(c.w)}}, .opset = 17, .domain = internal, .error = "under_test"});
  return specs;
}

}  // namespace mhub::test
