// Op specs: Conv and ConvTranspose (engine/cpu/conv.cpp reference loops, conv_dnnl.cpp oneDNN;
// CUDA: cuDNN), CausalConvWithState (conv.cpp; CUDA: conv.cu).
#include <limits>
#include <string>

#include "tests/ops/op_spec.h"

namespace mhub::test {

std::vector<OpSpec> conv_specs() {
  std::vector<OpSpec> specs;
  Random rng(10);
  // oneDNN against the reference: odd shapes, groups, dilations, pads; weights as constants.
  struct Case { int64_t n, c, h, w, m, k, group, stride, dilation, pad; };
  for (Case cs : {Case{1, 3, 7, 9, 5, 3, 1, 1, 1, 1}, Case{2, 4, 11, 6, 6, 3, 2, 2, 1, 0}, Case{1, 6, 9, 9, 6, 3, 6, 1, 2, 2},
                  Case{3, 5, 5, 13, 7, 1, 1, 2, 1, 0}})
    specs.push_back({.name = "Conv groups " + std::to_string(cs.group) + " stride " + std::to_string(cs.stride), .op = "Conv",
                     .attributes = {int_attr("group", cs.group), ints_attr("strides", {cs.stride, cs.stride}),
                                    ints_attr("dilations", {cs.dilation, cs.dilation}), ints_attr("pads", {cs.pad, cs.pad, cs.pad, cs.pad})},
                     .inputs = {{rng.uniform({cs.n, cs.c, cs.h, cs.w})}, init(rng.uniform({cs.m, cs.c / cs.group, cs.k, cs.k})),
                                init(rng.uniform({cs.m}))},
                     .opset = 17, .rtol = 1e-4, .atol = 1e-5, .threads = 2});
  // 3x3 stride 1 with 64+ channels over 392+ pixels: oneDNN's Winograd kernel where the CPU has
  // it (cpu/dnnl_common.h, winograd_preferred), its direct kernel elsewhere, with bias, with and
  // without padding. Each output sums 648 products (outputs O(10)): atol 2e-4 (float32 summation
  // order alone moved an output near zero by 1.9e-5 on the AVX2 direct kernel).
  for (int64_t pad : {1, 0})
    specs.push_back({.name = "Conv 3x3 72 -> 80 channels, 2 x 20 x 20, pads " + std::to_string(pad) + " (Winograd)", .op = "Conv",
                     .attributes = {ints_attr("pads", {pad, pad, pad, pad})},
                     .inputs = {{rng.uniform({2, 72, 20, 20})}, init(rng.uniform({80, 72, 3, 3})), init(rng.uniform({80}))},
                     .opset = 17, .rtol = 1e-4, .atol = 2e-4, .threads = 2});
  // bfloat16 (what --precision bf16 gives Conv): oneDNN's bf16 convolution against the reference
  // kernel's float32 loops; both round the float32 sum once, so they differ by an ulp at most
  // (2^-8 relative). Odd sizes, groups, strides, dilations, pads, bias in bfloat16 or float32.
  auto bf16_uniform = [&](std::vector<int64_t> dims) {
    const std::vector<float> v = rng.values(ir::element_count(dims), -2, 2);
    return bf16(std::move(dims), v);
  };
  for (Case cs : {Case{1, 3, 7, 9, 5, 3, 1, 1, 1, 1}, Case{2, 4, 11, 6, 6, 3, 2, 2, 1, 0}, Case{1, 6, 9, 9, 6, 3, 6, 1, 2, 2},
                  Case{3, 5, 5, 13, 7, 1, 1, 2, 1, 0}, Case{2, 16, 15, 15, 24, 3, 1, 1, 1, 1}})
    for (bool f32_bias : {false, true}) {
      ir::Tensor bias = f32_bias ? rng.uniform({cs.m}) : bf16_uniform({cs.m});
      specs.push_back({.name = "Conv bfloat16 groups " + std::to_string(cs.group) + " stride " + std::to_string(cs.stride) +
                               (f32_bias ? " float32 bias" : ""),
                       .op = "Conv",
                       .attributes = {int_attr("group", cs.group), ints_attr("strides", {cs.stride, cs.stride}),
                                      ints_attr("dilations", {cs.dilation, cs.dilation}), ints_attr("pads", {cs.pad, cs.pad, cs.pad, cs.pad})},
                       .inputs = {{bf16_uniform({cs.n, cs.c, cs.h, cs.w})}, {bf16_uniform({cs.m, cs.c / cs.group, cs.k, cs.k})}, {bias}},
                       .opset = 17, .rtol = 1e-2, .atol = 1e-3, .backends = cpu_fast, .threads = 2});
    }
  specs.push_back({.name = "Conv bfloat16 1-D without bias, fused Relu", .op = "Conv",
                   .attributes = {ints_attr("pads", {2, 2}), string_attr("mhub_activation", "Relu")},
                   .inputs = {{bf16_uniform({2, 3, 31})}, {bf16_uniform({4, 3, 5})}}, .rtol = 1e-2, .atol = 1e-3, .backends = cpu_fast});
  // float32 Conv / ConvTranspose under the session's bf16 compute hint (--precision bf16 on
  // run/bench/eval): the fast kernel computes from bfloat16 copies of X and W (2^-9 relative each)
  // with float32 accumulation, the reference ignores the hint; over K = C*k*k products of values in
  // [-2, 2] the difference stays well inside atol 0.2 (outputs are O(10)).
  const ir::Attribute hint = string_attr("mhub_compute", "bf16");
  for (Case cs : {Case{1, 3, 7, 9, 5, 3, 1, 1, 1, 1}, Case{2, 4, 11, 6, 6, 3, 2, 2, 1, 0}, Case{1, 6, 9, 9, 6, 3, 6, 1, 2, 2},
                  Case{2, 16, 15, 15, 24, 3, 1, 1, 1, 1}})
    specs.push_back({.name = "Conv float32 bf16-compute hint groups " + std::to_string(cs.group) + " stride " + std::to_string(cs.stride),
                     .op = "Conv",
                     .attributes = {int_attr("group", cs.group), ints_attr("strides", {cs.stride, cs.stride}),
                                    ints_attr("dilations", {cs.dilation, cs.dilation}), ints_attr("pads", {cs.pad, cs.pad, cs.pad, cs.pad}), hint},
                     .inputs = {{rng.uniform({cs.n, cs.c, cs.h, cs.w}, -2, 2)}, init(rng.uniform({cs.m, cs.c / cs.group, cs.k, cs.k}, -2, 2)),
                                init(rng.uniform({cs.m}))},
                     .opset = 17, .rtol = 2e-2, .atol = 0.2, .backends = cpu_fast, .threads = 2});
  specs.push_back({.name = "Conv float32 bf16-compute hint, fused Relu, fed weights", .op = "Conv",
                   .attributes = {ints_attr("pads", {1, 1, 1, 1}), string_attr("mhub_activation", "Relu"), hint},
                   .inputs = {{rng.uniform({2, 5, 9, 8}, -2, 2)}, {rng.uniform({7, 5, 3, 3}, -2, 2)}}, .rtol = 2e-2, .atol = 0.2,
                   .backends = cpu_fast});
  specs.push_back({.name = "ConvTranspose float32 bf16-compute hint", .op = "ConvTranspose",
                   .attributes = {ints_attr("strides", {2, 2}), ints_attr("pads", {1, 1, 1, 1}), hint},
                   .inputs = {{rng.uniform({1, 6, 5, 7}, -2, 2)}, init(rng.uniform({6, 4, 3, 3}, -2, 2)), init(rng.uniform({4}))},
                   .rtol = 2e-2, .atol = 0.2, .backends = cpu_fast});
  // bfloat16 storage between hinted Convs (passes/compute_precision.h): X and the fused residual
  // in bfloat16, float32 weights and bias, the output bfloat16 where the node is marked
  // mhub_storage_out (float32 otherwise). Plain layout only: the layout pass replaces marks
  // written here and stores no bfloat16-typed value channels-last. Where the CPU has no bf16
  // units both sides run the reference (no bfloat16 output, X widened).
  const ir::Attribute stored = string_attr("mhub_storage_out", "bf16");
  for (bool marked : {false, true}) {
    std::vector<ir::Attribute> attrs = {ints_attr("pads", {1, 1, 1, 1}), string_attr("mhub_activation", "Relu"), hint};
    if (marked) attrs.push_back(stored);
    specs.push_back({.name = std::string("Conv bfloat16 storage: bfloat16 X and residual, ") + (marked ? "bfloat16" : "float32") + " output",
                     .op = "Conv", .attributes = attrs,
                     .inputs = {{bf16_uniform({2, 16, 9, 7})}, init(rng.uniform({24, 16, 3, 3}, -2, 2)), init(rng.uniform({24})),
                                {bf16_uniform({2, 24, 9, 7})}},
                     .opset = 17, .rtol = 2e-2, .atol = 0.3, .backends = cpu_fast, .threads = 2});
  }
  specs.push_back({.name = "Conv bfloat16 storage: float32 X, float32 residual, bfloat16 output 1x1 stride 2", .op = "Conv",
                   .attributes = {ints_attr("strides", {2, 2}), hint, stored},
                   .inputs = {{rng.uniform({3, 32, 8, 8}, -2, 2)}, init(rng.uniform({16, 32, 1, 1}, -2, 2)), init(rng.uniform({16})),
                              {rng.uniform({3, 16, 4, 4}, -2, 2)}},
                   .opset = 17, .rtol = 2e-2, .atol = 0.3, .backends = cpu_fast, .threads = 2});
  const float nan = std::numeric_limits<float>::quiet_NaN();
  specs.push_back({.name = "Conv 1-D known value, NaN propagates", .op = "Conv", .inputs = {{f32({1, 1, 4}, {1, 2, nan, 4})}, init(f32({1, 1, 2}, {1, 10}))},
                   .opset = 17, .rtol = 1e-5, .atol = 1e-5, .expect = {f32({1, 1, 3}, {21, nan, nan})}, .threads = 2});

  // The CUDA backend's cases: padding, strides, dilations, groups, depthwise, 1-D, fused Relu.
  specs.push_back({.name = "Conv padded with bias", .op = "Conv", .attributes = {ints_attr("pads", {1, 1, 1, 1})},
                   .inputs = {{rng.uniform({2, 3, 13, 11}, -2, 2)}, {rng.uniform({5, 3, 3, 3}, -2, 2)}, {rng.uniform({5}, -2, 2)}},
                   .rtol = 1e-4, .atol = 1e-4});
  specs.push_back({.name = "Conv strided dilated", .op = "Conv", .attributes = {ints_attr("strides", {2, 2}), ints_attr("dilations", {2, 1})},
                   .inputs = {{rng.uniform({1, 4, 17, 15}, -2, 2)}, {rng.uniform({6, 4, 3, 5}, -2, 2)}}, .rtol = 1e-4, .atol = 1e-4});
  specs.push_back({.name = "Conv grouped SAME_UPPER", .op = "Conv", .attributes = {int_attr("group", 2), string_attr("auto_pad", "SAME_UPPER")},
                   .inputs = {{rng.uniform({3, 4, 9, 9}, -2, 2)}, {rng.uniform({6, 2, 3, 3}, -2, 2)}}, .rtol = 1e-4, .atol = 1e-4});
  specs.push_back({.name = "Conv depthwise", .op = "Conv", .attributes = {int_attr("group", 8), ints_attr("pads", {1, 1, 1, 1})},
                   .inputs = {{rng.uniform({2, 8, 10, 7}, -2, 2)}, {rng.uniform({8, 1, 3, 3}, -2, 2)}}, .rtol = 1e-4, .atol = 1e-4});
  specs.push_back({.name = "Conv 1-D", .op = "Conv", .attributes = {ints_attr("pads", {2, 2})},
                   .inputs = {{rng.uniform({2, 3, 31}, -2, 2)}, {rng.uniform({4, 3, 5}, -2, 2)}}, .rtol = 1e-4, .atol = 1e-4});
  specs.push_back({.name = "Conv with a fused Relu", .op = "Conv", .attributes = {string_attr("mhub_activation", "Relu")},
                   .inputs = {{rng.uniform({1, 2, 6, 6}, -2, 2)}, {rng.uniform({3, 2, 1, 1}, -2, 2)}, {rng.uniform({3}, -2, 2)}},
                   .rtol = 1e-4, .atol = 1e-4});
  // Every fused activation of the load-time passes (engine/ops/fused_activation.h): the reference
  // kernel's epilogue against oneDNN's post-ops; odd sizes, NaN and Inf in X (the 3x3 window
  // spreads them; oneDNN's zero padding makes 0 * Inf = NaN where the reference skips the pad).
  // oneDNN's relu (alpha 0) and clip map NaN to the lower bound (max(x, lo) first), so fused Relu,
  // Clip and HardSigmoid get finite inputs only: a NaN entering them on the fast Conv leaves as
  // 0 / min (as before the activations were generalised; the reference kernels keep NaN).
  struct Fused { const char* act; float alpha, beta; };
  for (Fused f : {Fused{"Relu", 0, 0}, Fused{"LeakyRelu", 0.15f, 0}, Fused{"Sigmoid", 0, 0}, Fused{"Silu", 0, 0}, Fused{"HardSigmoid", 0.3f, 0.4f},
                  Fused{"HardSwish", 0, 0}, Fused{"Tanh", 0, 0}, Fused{"Gelu", 0, 0}, Fused{"Clip", -0.5f, 0.75f}}) {
    std::vector<ir::Attribute> attrs = {string_attr("mhub_activation", f.act), ints_attr("pads", {1, 1, 1, 1})};
    const std::string act = f.act;
    const bool clamps = act == "Relu" || act == "Clip" || act == "HardSigmoid";
    if (std::string(f.act) == "Clip") {
      attrs.push_back(float_attr("mhub_clip_min", f.alpha));
      attrs.push_back(float_attr("mhub_clip_max", f.beta));
    } else if (f.alpha != 0) {
      attrs.push_back(float_attr("mhub_activation_alpha", f.alpha));
      if (f.beta != 0) attrs.push_back(float_attr("mhub_activation_beta", f.beta));
    }
    specs.push_back({.name = std::string("Conv with a fused ") + f.act, .op = "Conv", .attributes = attrs,
                     .inputs = {{clamps ? rng.uniform({2, 3, 7, 9}, -6, 6) : rng.specials({2, 3, 7, 9}, -6, 6)},
                                init(rng.uniform({5, 3, 3, 3})), init(rng.uniform({5}))},
                     .opset = 17, .rtol = 1e-4, .atol = 1e-5, .nonfinite = NonFinite::superset, .threads = 2});
  }
  // A residual fused into the Conv (nn_fusion's Conv + Add, input 3; CPU kernels only): oneDNN's
  // sum post-op before the activation, and a broadcasting residual on the reference path.
  specs.push_back({.name = "Conv with a fused residual and Relu", .op = "Conv",
                   .attributes = {string_attr("mhub_activation", "Relu"), ints_attr("pads", {1, 1, 1, 1})},
                   .inputs = {{rng.uniform({2, 3, 7, 9})}, init(rng.uniform({5, 3, 3, 3})), init(rng.uniform({5})),
                              {rng.uniform({2, 5, 7, 9})}},
                   .opset = 17, .rtol = 1e-4, .atol = 1e-5, .backends = cpu_fast, .threads = 2});
  // The network shapes whose channels-last Convs take their own oneDNN kernels (conv_dnnl.cpp):
  // a MobileNet depthwise 3x3 stride 2 with ReLU6 (jit_dw on constant weights), ResNeXt's groups
  // of 8 channels (the nhwc jit kernel instead of nChw8c), a ResNet 1x1 with the fused residual
  // (brgconv_1x1's sum post-op). Their own generator: the specs above keep their values.
  {
    Random nets(41);
    specs.push_back({.name = "Conv depthwise 3x3 stride 2, fused Clip 0..6", .op = "Conv",
                     .attributes = {int_attr("group", 24), ints_attr("strides", {2, 2}), ints_attr("pads", {1, 1, 1, 1}),
                                    string_attr("mhub_activation", "Clip"), float_attr("mhub_clip_min", 0), float_attr("mhub_clip_max", 6)},
                     .inputs = {{nets.uniform({1, 24, 15, 13}, -8, 8)}, init(nets.uniform({24, 1, 3, 3})), init(nets.uniform({24}))},
                     .opset = 17, .rtol = 1e-4, .atol = 1e-5, .threads = 2});
    specs.push_back({.name = "Conv grouped, groups of 8 channels", .op = "Conv",
                     .attributes = {int_attr("group", 4), ints_attr("pads", {1, 1, 1, 1})},
                     .inputs = {{nets.uniform({2, 32, 9, 9})}, init(nets.uniform({32, 8, 3, 3})), init(nets.uniform({32}))},
                     .opset = 17, .rtol = 1e-4, .atol = 1e-4, .threads = 2});
    specs.push_back({.name = "Conv 1x1 with a fused residual and Relu, 64 channels", .op = "Conv",
                     .attributes = {string_attr("mhub_activation", "Relu")},
                     .inputs = {{nets.uniform({1, 32, 14, 14})}, init(nets.uniform({64, 32, 1, 1})), init(nets.uniform({64})),
                                {nets.uniform({1, 64, 14, 14})}},
                     .opset = 17, .rtol = 1e-4, .atol = 1e-4, .backends = cpu_fast, .threads = 2});
    // Over 6144 pixels with 16 input channels: oneDNN's direct jit kernel instead of brgconv_1x1
    // (pointwise_prefers_direct_jit), with and without the fused residual.
    for (bool residual : {false, true}) {
      std::vector<Operand> inputs = {{nets.uniform({1, 16, 80, 80})}, init(nets.uniform({40, 16, 1, 1})), init(nets.uniform({40}))};
      if (residual) inputs.push_back({nets.uniform({1, 40, 80, 80})});
      specs.push_back({.name = std::string("Conv 1x1 over 6400 pixels, 16 -> 40 channels, fused Relu") + (residual ? " and residual" : ""),
                       .op = "Conv", .attributes = {string_attr("mhub_activation", "Relu")}, .inputs = inputs, .opset = 17,
                       .rtol = 1e-4, .atol = 1e-4, .backends = residual ? uint32_t{cpu_fast} : uint32_t{all_backends}, .threads = 2});
    }
  }
  specs.push_back({.name = "Conv without bias, a fused residual that broadcasts", .op = "Conv",
                   .attributes = {string_attr("mhub_activation", "Tanh")},
                   .inputs = {{rng.specials({1, 3, 6, 5})}, init(rng.uniform({4, 3, 3, 3})), {absent()}, {rng.uniform({4, 1, 1})}},
                   .opset = 17, .rtol = 1e-4, .atol = 1e-5, .backends = cpu_fast, .nonfinite = NonFinite::superset});
  // ConvTranspose on oneDNN's deconvolution (conv_dnnl.cpp) against the reference scatter loops:
  // the U-Net upsampling (k2 s2), groups + dilations + asymmetric pads, 1-D and 3-D, no bias,
  // weights fed (reordered every run) or constant (prepacked), NaN / Inf in X.
  specs.push_back({.name = "ConvTranspose k2 s2 (U-Net upsampling)", .op = "ConvTranspose", .attributes = {ints_attr("strides", {2, 2})},
                   .inputs = {{rng.specials({2, 6, 5, 7})}, init(rng.uniform({6, 3, 2, 2})), init(rng.uniform({3}))},
                   .opset = 17, .rtol = 1e-4, .atol = 1e-5, .nonfinite = NonFinite::superset, .threads = 2});
  specs.push_back({.name = "ConvTranspose groups, dilations, asymmetric pads", .op = "ConvTranspose",
                   .attributes = {int_attr("group", 2), ints_attr("strides", {2, 3}), ints_attr("dilations", {2, 1}),
                                  ints_attr("pads", {1, 0, 2, 1})},
                   .inputs = {{rng.uniform({1, 4, 5, 6})}, {rng.uniform({4, 3, 3, 3})}, {rng.uniform({6})}},
                   .opset = 17, .rtol = 1e-4, .atol = 1e-5, .threads = 2});
  specs.push_back({.name = "ConvTranspose 1-D without bias", .op = "ConvTranspose", .attributes = {ints_attr("strides", {3})},
                   .inputs = {{rng.uniform({3, 4, 9})}, init(rng.uniform({4, 5, 4}))}, .opset = 17, .rtol = 1e-4, .atol = 1e-5});
  specs.push_back({.name = "ConvTranspose 3-D", .op = "ConvTranspose", .attributes = {ints_attr("strides", {2, 1, 2}), ints_attr("pads", {1, 0, 0, 0, 1, 1})},
                   .inputs = {{rng.uniform({1, 3, 3, 4, 5})}, init(rng.uniform({3, 2, 3, 2, 3})), init(rng.uniform({2}))},
                   .opset = 17, .rtol = 1e-4, .atol = 1e-5});
  specs.push_back({.name = "ConvTranspose strided, output_padding", .op = "ConvTranspose",
                   .attributes = {ints_attr("strides", {2, 2}), ints_attr("pads", {1, 1, 1, 1}), ints_attr("output_padding", {1, 1})},
                   .inputs = {{rng.specials({2, 4, 4, 4})}, {rng.uniform({4, 3, 3, 3})}, {rng.uniform({3})}}, .rtol = 1e-4, .atol = 1e-5});

  // Backward rules (the input gradient too: X is a parameter here).
  specs.push_back({.name = "Conv gradient, stride and padding", .op = "Conv", .attributes = {ints_attr("strides", {2, 2}), ints_attr("pads", {1, 1, 1, 1})},
                   .inputs = {{rng.uniform({2, 2, 5, 5})}, {rng.uniform({3, 2, 3, 3}, -0.5f, 0.5f)}, {rng.uniform({3})}}, .opset = 17, .grad = 7});
  specs.push_back({.name = "Conv gradient, dilation and asymmetric pads", .op = "Conv",
                   .attributes = {ints_attr("dilations", {2, 1}), ints_attr("pads", {0, 1, 1, 0})},
                   .inputs = {{rng.uniform({2, 1, 6, 7})}, {rng.uniform({2, 1, 2, 3}, -0.5f, 0.5f)}}, .opset = 17, .grad = 3});
  specs.push_back({.name = "Conv gradient, frozen weights (bias only)", .op = "Conv", .attributes = {ints_attr("pads", {1, 0, 0, 1})},
                   .inputs = {{rng.uniform({2, 3, 6, 5})}, init(rng.uniform({4, 3, 3, 2}, -0.5f, 0.5f)), {rng.uniform({4})}}, .opset = 17,
                   .grad = 4});
  specs.push_back({.name = "Conv gradient, frozen bias (weights only)", .op = "Conv", .attributes = {ints_attr("strides", {2, 1})},
                   .inputs = {init(rng.uniform({2, 4, 6, 4})), {rng.uniform({2, 4, 2, 2}, -0.5f, 0.5f)}, init(rng.uniform({2}))}, .opset = 17,
                   .grad = 2});
  specs.push_back({.name = "Conv gradient, 1-D", .op = "Conv",
                   .attributes = {ints_attr("strides", {2}), ints_attr("dilations", {2}), ints_attr("pads", {2, 1})},
                   .inputs = {{rng.uniform({2, 2, 9})}, {rng.uniform({3, 2, 3}, -0.5f, 0.5f)}, {rng.uniform({3})}}, .opset = 17, .grad = 7});
  specs.push_back({.name = "Conv gradient, 3-D", .op = "Conv", .attributes = {ints_attr("pads", {1, 0, 0, 0, 1, 1})},
                   .inputs = {{rng.uniform({1, 2, 3, 4, 3})}, {rng.uniform({2, 2, 2, 2, 2}, -0.5f, 0.5f)}, {rng.uniform({2})}}, .opset = 17,
                   .grad = 7});
  specs.push_back({.name = "Conv gradient, grouped", .op = "Conv",
                   .attributes = {int_attr("group", 2), ints_attr("strides", {2, 2}), ints_attr("pads", {1, 1, 1, 1})},
                   .inputs = {{rng.uniform({2, 4, 5, 5})}, {rng.uniform({6, 2, 3, 3}, -0.5f, 0.5f)}, {rng.uniform({6})}}, .opset = 17, .grad = 7});
  specs.push_back({.name = "Conv gradient, depthwise", .op = "Conv", .attributes = {int_attr("group", 6)},
                   .inputs = {{rng.uniform({2, 6, 3, 3})}, {rng.uniform({6, 1, 2, 2}, -0.5f, 0.5f)}}, .opset = 17, .grad = 3});
  specs.push_back({.name = "ConvTranspose gradient, strides, pads, output_padding, bias", .op = "ConvTranspose",
                   .attributes = {ints_attr("strides", {2, 2}), ints_attr("pads", {1, 1, 1, 1}), ints_attr("output_padding", {1, 1})},
                   .inputs = {{rng.uniform({2, 4, 4, 4})}, {rng.uniform({4, 3, 3, 3}, -0.5f, 0.5f)}, {rng.uniform({3})}}, .opset = 17, .grad = 7});
  specs.push_back({.name = "ConvTranspose gradient, groups, dilations, asymmetric pads", .op = "ConvTranspose",
                   .attributes = {int_attr("group", 2), ints_attr("dilations", {2, 1}), ints_attr("strides", {1, 2}),
                                  ints_attr("pads", {0, 1, 1, 0}), ints_attr("output_padding", {0, 1})},
                   .inputs = {{rng.uniform({2, 4, 4, 4})}, {rng.uniform({4, 1, 2, 3}, -0.5f, 0.5f)}}, .opset = 17, .grad = 3});
  // CausalConvWithState (opset 27): cases and values of ONNX 1.22's backend suite
  // (node/test_causal_conv_with_state_*; batch 0 where the suite has two), random shapes for the
  // other backends, an empty length, a bad activation, and the gradients of every input.
  specs.push_back({.name = "CausalConvWithState suite b1_c1_degenerate", .op = "CausalConvWithState",
                   .inputs = {{f32({1, 1, 6}, {1.76405239f, 0.400157213f, 0.97873801f, 2.24089313f, 1.867558f, -0.977277875f})},
                              init(f32({1, 1, 4}, {0.950088441f, -0.151357204f, -0.103218853f, 0.410598516f}))},
                   .outputs = 2, .opset = 27, .rtol = 1e-5, .atol = 1e-5,
                   .expect = {f32({1, 1, 6}, {0.724317312f, -0.0177795142f, 0.0935625583f, 2.43452239f, 0.767559826f, -0.003323704f}),
                              f32({1, 1, 3}, {2.24089313f, 1.867558f, -0.977277875f})}});
  specs.push_back({.name = "CausalConvWithState suite decode_step (bias, past_state, length 1)", .op = "CausalConvWithState",
                   .inputs = {{f32({2, 4, 1}, {1.76405239f, 0.400157213f, 0.97873801f, 2.24089313f, 1.867558f, -0.977277875f, 0.950088441f,
                                               -0.151357204f})},
                              init(f32({4, 1, 4}, {-0.103218853f, 0.410598516f, 0.144043565f, 1.45427346f, 0.761037707f, 0.121675014f,
                                                   0.443863243f, 0.333674341f, 1.49407911f, -0.205158263f, 0.313067704f, -0.854095757f,
                                                   -2.55298972f, 0.653618574f, 0.864436209f, -0.742165029f})),
                              init(f32({4}, {2.26975465f, -1.45436573f, 0.0457585156f, -0.187183857f})),
                              {f32({2, 4, 3}, {1.53277922f, 1.4693588f, 0.15494743f, 0.378162533f, -0.887785733f, -1.98079646f, -0.347912163f,
                                               0.156348974f, 1.23029065f, 1.20237982f, -0.387326807f, -0.302302748f, -1.04855299f,
                                               -1.42001796f, -1.70627022f, 1.95077538f, -0.509652197f, -0.438074291f, -1.25279534f,
                                               0.777490377f, -1.6138978f, -0.212740287f, -0.895466566f, 0.386902511f})}},
                   .outputs = 2, .opset = 27, .rtol = 1e-5, .atol = 1e-5,
                   .expect = {f32({2, 4, 1}, {5.30259323f, -2.02027178f, -0.956897855f, -5.4344449f, 4.26509047f, -0.552301645f, -3.30225134f,
                                              0.21743089f}),
                              f32({2, 4, 3}, {1.4693588f, 0.15494743f, 1.76405239f, -0.887785733f, -1.98079646f, 0.400157213f, 0.156348974f,
                                              1.23029065f, 0.97873801f, -0.387326807f, -0.302302748f, 2.24089313f, -1.42001796f, -1.70627022f,
                                              1.867558f, -0.509652197f, -0.438074291f, -0.977277875f, 0.777490377f, -1.6138978f, 0.950088441f,
                                              -0.895466566f, 0.386902511f, -0.151357204f})}});
  specs.push_back({.name = "CausalConvWithState suite short_input_no_past_state (kernel past the input)", .op = "CausalConvWithState",
                   .inputs = {{f32({1, 4, 2}, {1.76405239f, 0.400157213f, 0.97873801f, 2.24089313f, 1.867558f, -0.977277875f, 0.950088441f,
                                               -0.151357204f})},
                              init(f32({4, 1, 5}, {1.49407911f, -0.205158263f, 0.313067704f, -0.854095757f, -2.55298972f, 0.653618574f,
                                                   0.864436209f, -0.742165029f, 2.26975465f, -1.45436573f, 0.0457585156f, -0.187183857f,
                                                   1.53277922f, 1.4693588f, 0.15494743f, 0.378162533f, -0.887785733f, -1.98079646f,
                                                   -0.347912163f, 0.156348974f}))},
                   .outputs = 2, .opset = 27, .rtol = 1e-5, .atol = 1e-5,
                   .expect = {f32({1, 4, 2}, {-4.50360775f, -2.52826691f, -1.42344308f, -1.03758311f, 0.289373308f, 2.59268594f, 0.148545355f,
                                              -0.354211867f}),
                              f32({1, 4, 4}, {0, 0, 1.76405239f, 0.400157213f, 0, 0, 0.97873801f, 2.24089313f, 0, 0, 1.867558f, -0.977277875f,
                                              0, 0, 0.950088441f, -0.151357204f})}});
  specs.push_back({.name = "CausalConvWithState suite silu_with_past_state (no bias)", .op = "CausalConvWithState",
                   .attributes = {string_attr("activation", "silu")},
                   .inputs = {{f32({1, 4, 8}, {1.76405239f, 0.400157213f, 0.97873801f, 2.24089313f, 1.867558f, -0.977277875f, 0.950088441f,
                                               -0.151357204f, -0.103218853f, 0.410598516f, 0.144043565f, 1.45427346f, 0.761037707f,
                                               0.121675014f, 0.443863243f, 0.333674341f, 1.49407911f, -0.205158263f, 0.313067704f,
                                               -0.854095757f, -2.55298972f, 0.653618574f, 0.864436209f, -0.742165029f, 2.26975465f,
                                               -1.45436573f, 0.0457585156f, -0.187183857f, 1.53277922f, 1.4693588f, 0.15494743f,
                                               0.378162533f})},
                              init(f32({4, 1, 4}, {0.177426144f, -0.401780933f, -1.63019836f, 0.462782264f, -0.907298386f, 0.0519453958f,
                                                   0.729090571f, 0.128982916f, 1.13940072f, -1.23482585f, 0.402341634f, -0.684810102f,
                                                   -0.870797157f, -0.578849673f, -0.311552525f, 0.0561653413f})),
                              {absent()},
                              {f32({1, 4, 3}, {-1.16514981f, 0.900826514f, 0.46566245f, -1.53624368f, 1.48825216f, 1.89588916f, 1.1787796f,
                                               -0.179924831f, -1.07075262f, 1.0544517f, -0.403176934f, 1.22244501f})}},
                   .outputs = 2, .opset = 27, .rtol = 1e-5, .atol = 1e-5,
                   .expect = {f32({1, 4, 8}, {-0.191709474f, -0.168313265f, -0.251449704f, -0.162431955f, -0.132696465f, -0.060971994f,
                                              1.41616976f, -0.259607345f, 2.68334031f, -0.27846247f, -0.276753396f, 0.244752198f,
                                              0.546308398f, 0.322686017f, -0.27604121f, -0.133762494f, 0.0587489232f, 1.60816598f,
                                              -0.112650856f, 2.4932797f, 0.538533747f, -0.0306999721f, 1.59900677f, -0.154922068f,
                                              -0.263882786f, -0.276418418f, -0.245263949f, -0.276837468f, 1.10707653f, -0.136836827f,
                                              -0.277203441f, -0.218245223f}),
                              f32({1, 4, 3}, {-0.977277875f, 0.950088441f, -0.151357204f, 0.121675014f, 0.443863243f, 0.333674341f,
                                              0.653618574f, 0.864436209f, -0.742165029f, 1.4693588f, 0.15494743f, 0.378162533f})}});
  specs.push_back({.name = "CausalConvWithState swish, bias, past_state, odd sizes, NaN/Inf", .op = "CausalConvWithState",
                   .attributes = {string_attr("activation", "swish")},
                   .inputs = {{rng.specials({3, 5, 7})}, {rng.uniform({5, 1, 3})}, {rng.uniform({5})}, {rng.uniform({3, 5, 2})}},
                   .outputs = 2, .opset = 27, .rtol = 1e-5, .atol = 1e-6});
  specs.push_back({.name = "CausalConvWithState kernel 1 (empty state)", .op = "CausalConvWithState",
                   .inputs = {{rng.uniform({2, 3, 9})}, {rng.uniform({3, 1, 1})}}, .outputs = 2, .opset = 27});
  specs.push_back({.name = "CausalConvWithState empty length: the state passes through", .op = "CausalConvWithState",
                   .inputs = {{zeros(ir::DataType::float32, {2, 3, 0})}, {rng.uniform({3, 1, 4})}, {absent()}, {rng.uniform({2, 3, 3})}},
                   .outputs = 2, .opset = 27});
  specs.push_back({.name = "CausalConvWithState float16", .op = "CausalConvWithState", .attributes = {string_attr("activation", "silu")},
                   .inputs = {{f16({2, 3, 6}, rng.values(36))}, {f16({3, 1, 3}, rng.values(9))}}, .outputs = 2, .opset = 27,
                   .rtol = 1e-3, .atol = 1e-3, .backends = cpu_fast | test_device});
  specs.push_back({.name = "CausalConvWithState unknown activation", .op = "CausalConvWithState",
                   .attributes = {string_attr("activation", "relu")}, .inputs = {{rng.uniform({1, 2, 4})}, {rng.uniform({2, 1, 2})}},
                   .outputs = 2, .opset = 27, .error = "activation must be none, silu or swish"});
  specs.push_back({.name = "CausalConvWithState gradient, silu, bias, past_state", .op = "CausalConvWithState",
                   .attributes = {string_attr("activation", "silu")},
                   .inputs = {{rng.uniform({2, 3, 5})}, {rng.uniform({3, 1, 3}, -0.5f, 0.5f)}, {rng.uniform({3})}, {rng.uniform({2, 3, 2})}},
                   .outputs = 2, .opset = 27, .grad = 15});
  specs.push_back({.name = "CausalConvWithState gradient, no past_state, kernel past the input", .op = "CausalConvWithState",
                   .inputs = {{rng.uniform({2, 2, 2})}, {rng.uniform({2, 1, 4}, -0.5f, 0.5f)}}, .outputs = 2, .opset = 27, .grad = 3});
  return specs;
}

}  // namespace mhub::test
