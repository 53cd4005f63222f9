// Op specs: normalisations (engine/cpu/norm.cpp; CUDA: BatchNormalization, LayerNormalization).
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

  // Backward rules.
  specs.push_back({.name = "LayerNormalization gradient", .op = "LayerNormalization", .attributes = {int_attr("axis", -1)},
                   .inputs = {{rng.uniform({2, 3, 4})}, {rng.uniform({4}, 0.7f, 1.3f)}, {rng.uniform({4})}}, .opset = 17, .grad = 7});
  specs.push_back({.name = "InstanceNormalization gradient", .op = "InstanceNormalization", .attributes = {float_attr("epsilon", 1e-3f)},
                   .inputs = {{rng.uniform({2, 3, 2, 2})}, {rng.uniform({3}, 0.7f, 1.3f)}, {rng.uniform({3})}}, .opset = 17, .grad = 7});
  return specs;
}

}  // namespace mhub::test
