// Op specs: pooling (engine/cpu/pool.cpp reference, pool_fast.cpp 2-D MaxPool, conv_dnnl.cpp
// oneDNN pooling, pool_train.cpp MaxPool with indices; CUDA: cuDNN) and the internal
// SqueezeExcitation (pool.cpp reference, pool_squeeze_excitation.cpp fast).
#include <limits>

#include "tests/ops/op_spec.h"

namespace mhub::test {

std::vector<OpSpec> pool_specs() {
  std::vector<OpSpec> specs;
  Random rng(12);
  const float inf = std::numeric_limits<float>::infinity(), nan = std::numeric_limits<float>::quiet_NaN();
  specs.push_back({.name = "MaxPool ignores padding", .op = "MaxPool", .attributes = {ints_attr("kernel_shape", {2, 2}), ints_attr("pads", {1, 1, 0, 0})},
                   .inputs = {{f32({1, 1, 3, 3}, {1, 2, 3, 4, -inf, 6, 7, 8, 9})}}, .opset = 17, .rtol = 1e-4, .atol = 1e-5,
                   .expect = {f32({1, 1, 3, 3}, {1, 2, 3, 4, 4, 6, 7, 8, 9})}, .threads = 2});
  specs.push_back({.name = "AveragePool count_include_pad", .op = "AveragePool",
                   .attributes = {ints_attr("kernel_shape", {2, 2}), ints_attr("pads", {1, 1, 0, 0}), int_attr("count_include_pad", 1)},
                   .inputs = {{f32({1, 1, 3, 3}, {1, 2, 3, 4, 5, 6, 7, 8, 9})}}, .opset = 17, .rtol = 1e-4, .atol = 1e-5,
                   .expect = {f32({1, 1, 3, 3}, {0.25f, 0.75f, 1.25f, 1.25f, 3, 4, 2.75f, 6, 7})}, .threads = 2});
  // oneDNN pooling against the reference: strides, asymmetric pads, ceil_mode, count_include_pad.
  const ir::Tensor x = rng.uniform({2, 3, 9, 7});
  for (const char* op : {"MaxPool", "AveragePool"})
    for (int64_t ceil_mode : {0, 1})
      for (int64_t include_pad : {0, 1})
        specs.push_back({.name = std::string(op) + " ceil_mode " + std::to_string(ceil_mode) + " count_include_pad " + std::to_string(include_pad),
                         .op = op,
                         .attributes = {ints_attr("kernel_shape", {3, 2}), ints_attr("strides", {2, 2}), ints_attr("pads", {1, 0, 1, 1}),
                                        int_attr("ceil_mode", ceil_mode), int_attr("count_include_pad", include_pad)},
                         .inputs = {{x}}, .opset = 17, .rtol = 1e-4, .atol = 1e-5, .threads = 2});
  // The fast 2-D MaxPool: interior and border windows, dilations, NaN and Inf, exactly.
  auto xv = rng.values(2 * 3 * 13 * 11);
  xv[0] = nan;    // first of a corner window
  xv[50] = nan;   // inside interior windows
  xv[200] = inf;
  xv[300] = -inf;
  const ir::Tensor image = f32({2, 3, 13, 11}, xv);
  struct Shape { std::vector<int64_t> kernel, strides, pads, dilations; int64_t ceil_mode; };
  // Also stride 1 (googlenet's inception pools, 3x3 pad 1), 2x2 and 5x3 windows, and dense NaN /
  // Inf (the channels-last runs of these specs take pool_fast.cpp's channels-last kernel).
  for (const Shape& sh : {Shape{{3, 3}, {2, 2}, {1, 1, 1, 1}, {1, 1}, 0}, Shape{{2, 3}, {1, 2}, {0, 1, 1, 0}, {2, 1}, 1},
                          Shape{{3, 2}, {3, 1}, {0, 0, 0, 0}, {1, 2}, 0}, Shape{{1, 1}, {1, 1}, {0, 0, 0, 0}, {1, 1}, 0},
                          Shape{{3, 3}, {1, 1}, {1, 1, 1, 1}, {1, 1}, 1}, Shape{{2, 2}, {1, 1}, {0, 0, 1, 1}, {1, 1}, 0},
                          Shape{{5, 3}, {1, 1}, {2, 1, 1, 0}, {1, 1}, 0}})
    specs.push_back({.name = "MaxPool fast 2-D", .op = "MaxPool",
                     .attributes = {ints_attr("kernel_shape", sh.kernel), ints_attr("strides", sh.strides), ints_attr("pads", sh.pads),
                                    ints_attr("dilations", sh.dilations), int_attr("ceil_mode", sh.ceil_mode)},
                     .inputs = {{image}}, .opset = 12, .rtol = 0, .atol = 0, .threads = 2});
  // Dense specials: NaN at the start of a window's later row followed by greater values (what a
  // row-by-row, separable fold of the reference's comparison gets wrong), infinities, signed zeros.
  auto dense = rng.values(2 * 19 * 9 * 8);
  for (size_t i = 0; i < dense.size(); ++i) {
    if (i % 5 == 1) dense[i] = nan;
    else if (i % 7 == 3) dense[i] = inf;
    else if (i % 11 == 4) dense[i] = -inf;
    else if (i % 6 == 0) dense[i] = -0.0f;
  }
  specs.push_back({.name = "MaxPool fast 2-D 3x3 stride 1, dense NaN / Inf", .op = "MaxPool",
                   .attributes = {ints_attr("kernel_shape", {3, 3}), ints_attr("strides", {1, 1}), ints_attr("pads", {1, 1, 1, 1})},
                   .inputs = {{f32({2, 19, 9, 8}, dense)}}, .opset = 12, .rtol = 0, .atol = 0, .threads = 2});
  // MaxPool with Indices: the fast 2-D kernel (pool_train.cpp) against the reference, exactly.
  struct Indexed { std::vector<int64_t> dims, kernel, strides, pads, dilations; int64_t ceil; };
  for (const Indexed& cs : {Indexed{{2, 3, 7, 9}, {3, 3}, {2, 2}, {1, 1, 1, 1}, {1, 1}, 0},
                            Indexed{{1, 2, 8, 5}, {2, 3}, {1, 2}, {0, 1, 1, 0}, {2, 1}, 0},
                            Indexed{{3, 1, 9, 9}, {3, 2}, {2, 3}, {1, 0, 0, 1}, {1, 1}, 1},
                            Indexed{{1, 4, 5, 5}, {5, 5}, {1, 1}, {0, 0, 0, 0}, {1, 1}, 0}}) {
    auto v = rng.values(ir::element_count(cs.dims));
    v[4] = nan;
    v.back() = inf;
    specs.push_back({.name = "MaxPool with indices", .op = "MaxPool",
                     .attributes = {ints_attr("kernel_shape", cs.kernel), ints_attr("strides", cs.strides), ints_attr("pads", cs.pads),
                                    ints_attr("dilations", cs.dilations), int_attr("ceil_mode", cs.ceil)},
                     .inputs = {{f32(cs.dims, v)}}, .outputs = 2, .opset = 17, .rtol = 0, .atol = 0, .threads = 2});
  }

  // The CUDA backend's cases.
  specs.push_back({.name = "MaxPool padded strided, NaN/Inf", .op = "MaxPool",
                   .attributes = {ints_attr("kernel_shape", {3, 3}), ints_attr("strides", {2, 2}), ints_attr("pads", {1, 1, 1, 1})},
                   .inputs = {{rng.specials({2, 3, 15, 13})}}, .atol = 1e-5});
  specs.push_back({.name = "AveragePool padded", .op = "AveragePool", .attributes = {ints_attr("kernel_shape", {2, 3}), ints_attr("pads", {1, 1, 1, 1})},
                   .inputs = {{rng.uniform({2, 3, 9, 8}, -2, 2)}}, .atol = 1e-5});
  specs.push_back({.name = "AveragePool count_include_pad 3x3", .op = "AveragePool",
                   .attributes = {ints_attr("kernel_shape", {3, 3}), ints_attr("pads", {1, 1, 1, 1}), int_attr("count_include_pad", 1)},
                   .inputs = {{rng.uniform({1, 2, 7, 7}, -2, 2)}}, .atol = 1e-5});
  specs.push_back({.name = "GlobalAveragePool", .op = "GlobalAveragePool", .inputs = {{rng.uniform({3, 7, 5, 9}, -2, 2)}}, .atol = 1e-5});
  specs.push_back({.name = "GlobalMaxPool, NaN/Inf", .op = "GlobalMaxPool", .inputs = {{rng.specials({2, 3, 5, 3})}}});

  // Backward rules.
  specs.push_back({.name = "MaxPool gradient", .op = "MaxPool", .attributes = {ints_attr("kernel_shape", {2, 2}), ints_attr("strides", {2, 2})},
                   .inputs = {{rng.uniform({2, 3, 4, 4})}}, .opset = 17, .grad = 1});
  specs.push_back({.name = "AveragePool gradient, count_include_pad 0", .op = "AveragePool",
                   .attributes = {ints_attr("kernel_shape", {3, 3}), ints_attr("strides", {2, 2}), ints_attr("pads", {1, 1, 1, 1}),
                                  int_attr("count_include_pad", 0)},
                   .inputs = {{rng.uniform({2, 2, 5, 5})}}, .opset = 17, .grad = 1});
  specs.push_back({.name = "AveragePool gradient, count_include_pad 1, ceil_mode", .op = "AveragePool",
                   .attributes = {ints_attr("kernel_shape", {2, 3}), ints_attr("strides", {2, 1}), ints_attr("pads", {0, 1, 1, 0}),
                                  int_attr("count_include_pad", 1), int_attr("ceil_mode", 1)},
                   .inputs = {{rng.uniform({2, 2, 5, 5})}}, .opset = 17, .grad = 1});
  specs.push_back({.name = "GlobalMaxPool gradient", .op = "GlobalMaxPool", .inputs = {{rng.uniform({2, 2, 5, 5})}}, .opset = 17, .grad = 1});
  specs.push_back({.name = "GlobalAveragePool gradient", .op = "GlobalAveragePool", .inputs = {{rng.uniform({2, 4, 2, 2})}}, .opset = 17, .grad = 1});
  // The internal SqueezeExcitation: X * act(W2 act(W1 mean(X) + B1) + B2). One case by hand
  // (means {2, 4}, hidden Relu(0.5 * 2 + 0.25 * 4) = 2, gate HardSigmoid(0.25 x + 0.5) of {2, -2}).
  const std::string internal(ir::kInternalDomain);
  const std::vector<ir::Attribute> relu_hard_sigmoid = {string_attr("mhub_hidden_activation", "Relu"), string_attr("mhub_activation", "HardSigmoid"),
                                                        float_attr("mhub_activation_alpha", 0.25f), float_attr("mhub_activation_beta", 0.5f)};
  specs.push_back({.name = "SqueezeExcitation by hand", .op = "SqueezeExcitation", .attributes = relu_hard_sigmoid,
                   .inputs = {{f32({1, 2, 1, 2}, {1, 3, 2, 6})}, {init(f32({1, 2, 1, 1}, {0.5f, 0.25f}))}, {init(f32({1}, {0}))},
                              {init(f32({2, 1, 1, 1}, {1, -1}))}, {absent()}},
                   .domain = internal, .rtol = 0, .atol = 0, .expect = {f32({1, 2, 1, 2}, {1, 3, 0, 0})}, .backends = cpu_fast | test_device});
  // Odd channel counts, N = 1 and N > 1, with and without biases, every activation pair the
  // exporters write; NaN and Inf in X (a NaN spreads over its image as in the unfused graph);
  // large enough to be threaded (the scale pass; the two products at C 1000).
  struct SeCase { int64_t n, c, r, h, w; const char* hidden; const char* gate; bool biases; };
  for (const SeCase& k : {SeCase{1, 13, 5, 7, 9, "Relu", "HardSigmoid", true}, SeCase{3, 7, 3, 5, 4, "Silu", "Sigmoid", false},
                          SeCase{2, 67, 17, 16, 15, "HardSwish", "Sigmoid", true}, SeCase{1, 96, 24, 28, 28, "Relu", "HardSigmoid", true},
                          // both products threaded, one block of outputs per thread, ragged last blocks
                          SeCase{2, 1000, 250, 2, 3, "Relu", "HardSigmoid", true}}) {
    std::vector<ir::Attribute> attrs = {string_attr("mhub_hidden_activation", k.hidden), string_attr("mhub_activation", k.gate)};
    if (std::string(k.gate) == "HardSigmoid")
      for (ir::Attribute a : {float_attr("mhub_activation_alpha", 1.0f / 6), float_attr("mhub_activation_beta", 0.5f)}) attrs.push_back(a);
    const Operand b1 = k.biases ? init(rng.uniform({k.r})) : Operand{absent()};
    const Operand b2 = k.biases ? init(rng.uniform({k.c})) : Operand{absent()};
    const ir::Tensor x = k.n == 3 ? rng.specials({k.n, k.c, k.h, k.w}) : rng.uniform({k.n, k.c, k.h, k.w}, -3.0f, 3.0f);
    specs.push_back({.name = std::string("SqueezeExcitation ") + k.hidden + " " + k.gate + " N " + std::to_string(k.n) + " C " + std::to_string(k.c),
                     .op = "SqueezeExcitation", .attributes = attrs,
                     // N = 3: weights fed (transposed every run, never cached).
                     .inputs = {{x}, {rng.uniform({k.r, k.c, 1, 1}), k.n != 3}, b1, {rng.uniform({k.c, k.r, 1, 1}), k.n != 3}, b2},
                     .domain = internal, .rtol = 1e-5, .atol = 1e-6, .backends = cpu_fast | test_device, .threads = 2});
  }
  specs.push_back({.name = "SqueezeExcitation weights that do not fit X", .op = "SqueezeExcitation", .attributes = relu_hard_sigmoid,
                   .inputs = {{f32({1, 2, 1, 2}, {1, 3, 2, 6})}, {init(f32({1, 3, 1, 1}, {0.5f, 0.25f, 1}))}, {absent()},
                              {init(f32({2, 1, 1, 1}, {1, -1}))}, {absent()}},
                   .domain = internal, .error = "W1 must be", .backends = cpu_fast | test_device});
  return specs;
}

}  // namespace mhub::test
