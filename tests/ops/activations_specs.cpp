// Op specs: parameterised activations (engine/cpu/activations.cpp).
#include "tests/ops/op_spec.h"

namespace mhub::test {

std::vector<OpSpec> activations_specs() {
  std::vector<OpSpec> specs;
  Random rng(8);
  const ir::Tensor& huge = grid_size_specials();
  for (int64_t n : {1, 7})
    specs.push_back({.name = "Gelu odd size " + std::to_string(n), .op = "Gelu", .inputs = {{rng.specials({n})}}, .atol = 1e-5});
  specs.push_back({.name = "Gelu 1000003 elements", .op = "Gelu", .inputs = {{huge}}, .atol = 1e-5, .backends = cuda_device});
  specs.push_back({.name = "LeakyRelu", .op = "LeakyRelu", .attributes = {float_attr("alpha", 0.2f)}, .inputs = {{rng.specials({3, 5, 7})}},
                   .atol = 1e-5});
  // The fast float32 kernels of the forms the load-time pass rewrites (activation_patterns.h).
  specs.push_back({.name = "HardSigmoid odd size", .op = "HardSigmoid",
                   .attributes = {float_attr("alpha", 1.0f / 6.0f), float_attr("beta", 0.5f)},
                   .inputs = {{rng.specials({3, 37}, -5.0f, 5.0f)}}, .atol = 1e-6});
  specs.push_back({.name = "HardSwish odd size", .op = "HardSwish", .inputs = {{rng.specials({5, 23}, -5.0f, 5.0f)}}, .opset = 14, .atol = 1e-6});
  specs.push_back({.name = "Swish alpha 1 (SiLU) odd size", .op = "Swish", .inputs = {{rng.specials({2, 41})}}, .opset = 24,
                   .atol = 1e-5});
  specs.push_back({.name = "Gelu tanh", .op = "Gelu", .attributes = {string_attr("approximate", "tanh")},
                   .inputs = {{rng.specials({1001})}}, .atol = 1e-5});

  // Backward rules, on values spread over [-3, 3] (past the kinks of the hard activations).
  struct Activation {
    const char* op;
    std::vector<ir::Attribute> attributes;
    int64_t opset;
  };
  const Activation activations[] = {
      {"HardSigmoid", {float_attr("alpha", 0.25f), float_attr("beta", 0.4f)}, 17},
      {"HardSwish", {}, 17},
      {"Elu", {float_attr("alpha", 0.7f)}, 17},
      {"Selu", {}, 17},
      {"Celu", {float_attr("alpha", 1.3f)}, 17},
      {"Softplus", {}, 17},
      {"Softsign", {}, 17},
      {"ThresholdedRelu", {float_attr("alpha", 0.8f)}, 17},
      {"Shrink", {float_attr("lambd", 0.4f), float_attr("bias", 0.3f)}, 17},
      {"LeakyRelu", {}, 17},
      {"Gelu", {}, 20},
      {"Gelu", {string_attr("approximate", "tanh")}, 20},
      {"Mish", {}, 18},
      {"Swish", {float_attr("alpha", 0.8f)}, 24},
  };
  for (const Activation& a : activations)
    specs.push_back({.name = std::string(a.op) + " gradient", .op = a.op, .attributes = a.attributes,
                     .inputs = {{rng.uniform({3, 6}, -3, 3)}}, .opset = a.opset, .atol = 1e-5, .grad = 1});
  specs.push_back({.name = "PRelu gradient, slope broadcast", .op = "PRelu",
                   .inputs = {{rng.uniform({3, 6}, -3, 3)}, {rng.uniform({6}, -0.1f, 0.5f)}}, .opset = 17, .grad = 3});
  return specs;
}

}  // namespace mhub::test
