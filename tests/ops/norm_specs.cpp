// Op specs: normalisations (engine/cpu/norm.cpp; CUDA: BatchNormalization, LayerNormalization) and
// the internal ConcatBatchNorm (engine/cpu/norm_concat.cpp, reference and fast).
#include <cmath>
#include <string>

#include "tests/ops/op_spec.h"

namespace mhub::test {

std::vector<OpSpec> norm_specs() {
  std::vector<OpSpec> specs;
  Random rng(13);
  const float k = 1.0f / std::sqrt(2.0f / 3.0f + 1e-5f);
  specs.push_back({.name = "LayerNormalization normalises the last axis", .op = "LayerNormalization",
                   .inputs = {{f32({2, 3}, {1, 2, 3, 10, 10, 10})}, init(f32({3}, {1, 1, 2})), init(f32({3}, {0, 1, 0}))}, .opset = 17,
                   .rtol = 1e-4, .atol = 1e-4, .expect = {f32({2, 3}, {-k, 1, 2 * k, 0, 1, 0})}, .threads = 2});
  specs.push_back({.name = "LayerNormalization wide rows", .op = "LayerNormalization",
                   .inputs = {{rng.uniform({4, 7, 769}, -2, 2)}, {rng.uniform({769}, -2, 2)}, {rng.uniform({769}, -2, 2)}}, .rtol = 1e-4,
                   .atol = 1e-4});
  specs.push_back({.name = "LayerNormalization axis 1", .op = "LayerNormalization", .attributes = {int_attr("axis", 1), float_attr("epsilon", 1e-3f)},
                   .inputs = {{rng.uniform({3, 5, 6}, -2, 2)}, {rng.uniform({5, 6}, -2, 2)}}, .rtol = 1e-4, .atol = 1e-4});
  specs.push_back({.name = "BatchNormalization inference, NaN/Inf", .op = "BatchNormalization", .attributes = {float_attr("epsilon", 1e-3f)},
                   .inputs = {{rng.specials({3, 5, 4, 7})}, {rng.uniform({5}, -2, 2)}, {rng.uniform({5}, -2, 2)}, {rng.uniform({5}, -2, 2)},
                              {rng.uniform({5}, 0.5f, 4.5f)}},
                   .atol = 1e-5});
  // The fast kernel's threaded planes (odd sizes) and rank 2 (inner size 1).
  for (std::vector<int64_t> dims : {std::vector<int64_t>{2, 17, 9, 11}, std::vector<int64_t>{7, 13}}) {
    const int64_t c = dims[1];
    specs.push_back({.name = "BatchNormalization inference rank " + std::to_string(dims.size()), .op = "BatchNormalization",
                     .inputs = {{rng.specials(dims)}, init(rng.uniform({c}, -2, 2)), init(rng.uniform({c}, -2, 2)),
                                init(rng.uniform({c}, -2, 2)), init(rng.uniform({c}, 0.5f, 4.5f))},
                     .atol = 1e-5, .threads = 2});
  }
  // A Relu fused into the inference BN (nn_fusion: DenseNet's pre-activation BN -> Relu): both
  // kernels apply it, NaN kept; odd channel counts for the channels-last pixel loop.
  specs.push_back({.name = "BatchNormalization inference with a fused Relu", .op = "BatchNormalization",
                   .attributes = {string_attr("mhub_activation", "Relu")},
                   .inputs = {{rng.specials({2, 19, 5, 6})}, init(rng.uniform({19}, -2, 2)), init(rng.uniform({19}, -2, 2)),
                              init(rng.uniform({19}, -2, 2)), init(rng.uniform({19}, 0.5f, 4.5f))},
                   .atol = 1e-5, .backends = cpu_fast | test_device, .threads = 2});
  specs.push_back({.name = "BatchNormalization parameter of the wrong length", .op = "BatchNormalization",
                   .inputs = {{rng.uniform({2, 5, 3, 3})}, init(rng.uniform({5})), init(rng.uniform({3})), init(rng.uniform({5})),
                              init(rng.uniform({5}, 0.5f, 1.5f))},
                   .error = "input 2 holds 3 values; X has 5 channels", .backends = cpu_fast});

  // The internal ConcatBatchNorm (passes/concat_batch_norm.h; cpu/norm_concat.cpp): Concat on
  // axis 1, then an inference BN, then the fused activation. One case by hand (k = {2, 0.5},
  // off = {0, 1}: channel 0 of {1, 2} gives {2, 4}, channel 1 of {3, -4} gives {2.5, -1}, Relu'd).
  const std::string internal(ir::kInternalDomain);
  const ir::Attribute axis1 = int_attr("axis", 1), relu = string_attr("mhub_activation", "Relu");
  specs.push_back({.name = "ConcatBatchNorm by hand", .op = "ConcatBatchNorm", .attributes = {axis1, float_attr("epsilon", 0.0f), relu},
                   .inputs = {{f32({1, 1, 1, 2}, {1, 2})}, {f32({1, 1, 1, 2}, {3, -4})}, init(f32({2}, {2, 1})), init(f32({2}, {0, 1})),
                              init(f32({2}, {0, 0})), init(f32({2}, {1, 4}))},
                   .domain = internal, .rtol = 0, .atol = 0, .expect = {f32({1, 2, 1, 2}, {2, 4, 2.5f, 0})},
                   .backends = cpu_fast | test_device});
  // Odd channel counts (the vector loops' tails), NaN and Inf in a part, DenseNet's sizes
  // (threaded pixels and planes), Relu, another activation (applied per tile) and none,
  // parameters fed (computed every run) or of one value, ranks 2 and 3 (NCHW only).
  struct CbnCase { std::vector<std::vector<int64_t>> parts; const char* act; bool fed, one_value; };
  for (const CbnCase& k : {CbnCase{{{2, 5, 9, 11}, {2, 7, 9, 11}, {2, 3, 9, 11}}, "Relu", false, false},
                           CbnCase{{{2, 64, 14, 14}, {2, 32, 14, 14}, {2, 32, 14, 14}}, "", false, false},
                           CbnCase{{{1, 33, 8, 7}, {1, 17, 8, 7}}, "HardSwish", true, false},
                           CbnCase{{{3, 4, 10}, {3, 6, 10}}, "Relu", false, true},
                           CbnCase{{{7, 3}, {7, 4}, {7, 1}}, "", true, false}}) {
    std::vector<Operand> inputs;
    int64_t c = 0;
    for (size_t j = 0; j < k.parts.size(); ++j) {
      inputs.push_back({j == 1 ? rng.specials(k.parts[j]) : rng.uniform(k.parts[j], -2, 2)});
      c += k.parts[j][1];
    }
    const int64_t count = k.one_value ? 1 : c;
    for (auto [lo, hi] : {std::pair{0.5f, 1.5f}, std::pair{-1.0f, 1.0f}, std::pair{-1.0f, 1.0f}, std::pair{0.5f, 4.5f}})
      inputs.push_back({rng.uniform({count}, lo, hi), !k.fed});
    std::vector<ir::Attribute> attrs = {axis1, float_attr("epsilon", 1e-3f)};
    if (*k.act) attrs.push_back(string_attr("mhub_activation", k.act));
    specs.push_back({.name = std::string("ConcatBatchNorm ") + std::to_string(k.parts.size()) + " parts rank " + std::to_string(k.parts[0].size()) +
                             " C " + std::to_string(c) + " " + k.act,
                     .op = "ConcatBatchNorm", .attributes = attrs, .inputs = inputs, .domain = internal, .rtol = 1e-6, .atol = 1e-6,
                     .backends = cpu_fast | test_device, .threads = 2});
  }
  specs.push_back({.name = "ConcatBatchNorm parts that differ off axis 1", .op = "ConcatBatchNorm", .attributes = {axis1},
                   .inputs = {{rng.uniform({1, 2, 3, 3})}, {rng.uniform({1, 2, 3, 4})}, init(rng.uniform({4})), init(rng.uniform({4})),
                              init(rng.uniform({4})), init(rng.uniform({4}, 0.5f, 1.5f))},
                   .domain = internal, .error = "differs from input 0", .backends = cpu_fast | test_device});
  specs.push_back({.name = "ConcatBatchNorm parameter of the wrong length", .op = "ConcatBatchNorm", .attributes = {axis1},
                   .inputs = {{rng.uniform({1, 2, 3, 3})}, {rng.uniform({1, 3, 3, 3})}, init(rng.uniform({5})), init(rng.uniform({4})),
                              init(rng.uniform({5})), init(rng.uniform({5}, 0.5f, 1.5f))},
                   .domain = internal, .error = "input 3 holds 4 values; Y has 5 channels", .backends = cpu_fast | test_device});

  // Backward rules.
  specs.push_back({.name = "LayerNormalization gradient", .op = "LayerNormalization", .attributes = {int_attr("axis", -1)},
                   .inputs = {{rng.uniform({2, 3, 4})}, {rng.uniform({4}, 0.7f, 1.3f)}, {rng.uniform({4})}}, .opset = 17, .grad = 7});
  specs.push_back({.name = "InstanceNormalization gradient", .op = "InstanceNormalization", .attributes = {float_attr("epsilon", 1e-3f)},
                   .inputs = {{rng.uniform({2, 3, 2, 2})}, {rng.uniform({3}, 0.7f, 1.3f)}, {rng.uniform({3})}}, .opset = 17, .grad = 7});
  return specs;
}

}  // namespace mhub::test
