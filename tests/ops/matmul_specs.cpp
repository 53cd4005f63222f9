// Op specs: MatMul and Gemm (engine/cpu/matmul.cpp; fast: oneDNN sgemm, or oneDNN's matmul
// primitive for a constant weight (matmul_dnnl.h); CUDA: cuBLAS).
#include <limits>

#include "tests/ops/op_spec.h"

namespace mhub::test {

namespace {

// Row-major [rows, k] x [k, cols] in float, as the kernels accumulate.
std::vector<float> product(const float* a, const float* b, int64_t rows, int64_t k, int64_t cols) {
  std::vector<float> y(static_cast<size_t>(rows * cols));
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t j = 0; j < cols; ++j) {
      float acc = 0;
      for (int64_t i = 0; i < k; ++i) acc += a[r * k + i] * b[i * cols + j];
      y[r * cols + j] = acc;
    }
  return y;
}

}  // namespace

std::vector<OpSpec> matmul_specs() {
  std::vector<OpSpec> specs;
  Random rng(9);

  // Batch dims broadcast: [2,1,3,5] x [3,5,7] -> [2,3,3,7], B a constant weight.
  const auto a = rng.values(30), b = rng.values(105);
  std::vector<float> y;
  for (int i = 0; i < 2; ++i)
    for (int j = 0; j < 3; ++j) {
      const auto block = product(a.data() + i * 15, b.data() + j * 35, 3, 5, 7);
      y.insert(y.end(), block.begin(), block.end());
    }
  specs.push_back({.name = "MatMul broadcast batch dims", .op = "MatMul", .inputs = {{f32({2, 1, 3, 5}, a)}, init(f32({3, 5, 7}, b))},
                   .opset = 17, .rtol = 1e-4, .atol = 1e-5, .expect = {f32({2, 3, 3, 7}, y)}, .threads = 2});
  specs.push_back({.name = "Gemm transA adds C", .op = "Gemm", .attributes = {int_attr("transA", 1)},
                   .inputs = {{f32({2, 3}, {1, 2, 3, 4, 5, 6})}, init(f32({2, 2}, {1, 0, 0, 1})), init(f32({2}, {10, 20}))}, .opset = 17,
                   .rtol = 1e-4, .atol = 1e-5, .expect = {f32({3, 2}, {11, 24, 12, 25, 13, 26})}, .threads = 2});
  // [S, B, E] x [E, N] (one GEMM over all rows), odd sizes, NaN and Inf in A.
  auto a3 = rng.values(7 * 3 * 5);
  a3[4] = std::numeric_limits<float>::quiet_NaN();
  a3[17] = std::numeric_limits<float>::infinity();
  const auto w = rng.values(45);
  specs.push_back({.name = "MatMul 3-D by 2-D weight, NaN and Inf", .op = "MatMul", .inputs = {{f32({7, 3, 5}, a3)}, init(f32({5, 9}, w))},
                   .opset = 17, .rtol = 1e-4, .atol = 1e-5, .expect = {f32({7, 3, 9}, product(a3.data(), w.data(), 21, 5, 9))},
                   .threads = 2});
  const auto v = rng.values(24);
  specs.push_back({.name = "MatMul by a vector", .op = "MatMul", .inputs = {{f32({4, 2, 3}, v)}, init(f32({3}, {1, 2, 3}))}, .opset = 17,
                   .rtol = 1e-4, .atol = 1e-5, .expect = {f32({4, 2}, product(v.data(), std::vector<float>{1, 2, 3}.data(), 8, 3, 1))},
                   .threads = 2});

  // The CUDA backend's cases: plain, batched with B shared, batched both sides, broadcast batch.
  const std::vector<std::pair<std::vector<int64_t>, std::vector<int64_t>>> shapes = {
      {{33, 65}, {65, 17}}, {{4, 9, 31}, {31, 13}}, {{3, 2, 9, 31}, {3, 2, 31, 13}}, {{3, 1, 9, 31}, {1, 2, 31, 13}}};
  for (const auto& [ad, bd] : shapes)
    specs.push_back({.name = "MatMul odd sizes", .op = "MatMul", .inputs = {{rng.uniform(ad, -2, 2)}, {rng.uniform(bd, -2, 2)}},
                     .rtol = 1e-5, .atol = 1e-5});
  // bfloat16 (what --precision bf16 gives MatMul and Gemm): oneDNN's bf16 matmul against the
  // reference's float32 GEMM; both round the float32 result once (an ulp apart at most).
  auto bf16_uniform = [&](std::vector<int64_t> dims) {
    const std::vector<float> v = rng.values(ir::element_count(dims), -2, 2);
    return bf16(std::move(dims), v);
  };
  for (const auto& [ad, bd] : shapes)
    specs.push_back({.name = "MatMul bfloat16 odd sizes", .op = "MatMul", .inputs = {{bf16_uniform(ad)}, {bf16_uniform(bd)}},
                     .rtol = 1e-2, .atol = 1e-3, .backends = cpu_fast});
  specs.push_back({.name = "MatMul bfloat16 3-D by 2-D, by a vector", .op = "MatMul", .inputs = {{bf16_uniform({7, 3, 5})}, {bf16_uniform({5})}},
                   .rtol = 1e-2, .atol = 1e-3, .backends = cpu_fast});
  specs.push_back({.name = "MatMul bfloat16 3-D by 2-D", .op = "MatMul", .inputs = {{bf16_uniform({7, 3, 5})}, {bf16_uniform({5, 9})}},
                   .rtol = 1e-2, .atol = 1e-3, .backends = cpu_fast});
  for (int ta = 0; ta < 2; ++ta)
    for (int tb = 0; tb < 2; ++tb) {
      const std::vector<int64_t> ad = ta ? std::vector<int64_t>{37, 21} : std::vector<int64_t>{21, 37};
      const std::vector<int64_t> bd = tb ? std::vector<int64_t>{11, 37} : std::vector<int64_t>{37, 11};
      specs.push_back({.name = "Gemm bfloat16 transA " + std::to_string(ta) + " transB " + std::to_string(tb), .op = "Gemm",
                       .attributes = {int_attr("transA", ta), int_attr("transB", tb), float_attr("alpha", 0.5f), float_attr("beta", 2.0f)},
                       .inputs = {{bf16_uniform(ad)}, {bf16_uniform(bd)}, {bf16_uniform({11})}}, .rtol = 1e-2, .atol = 1e-3,
                       .backends = cpu_fast});
    }
  specs.push_back({.name = "Gemm bfloat16 [M,1] C, fused Relu", .op = "Gemm", .attributes = {string_attr("mhub_activation", "Relu")},
                   .inputs = {{bf16_uniform({8, 16})}, {bf16_uniform({16, 10})}, {bf16_uniform({8, 1})}}, .rtol = 1e-2, .atol = 1e-3,
                   .backends = cpu_fast});
  specs.push_back({.name = "MatMul bfloat16 with an empty K", .op = "MatMul", .inputs = {{bf16_uniform({3, 0})}, {bf16_uniform({0, 4})}},
                   .backends = cpu_fast});
  // float32 MatMul / Gemm under the session's bf16 compute hint (--precision bf16): bfloat16
  // copies of A and B (a constant B rounded once), float32 accumulation, output, bias, alpha/beta
  // and activation; the reference ignores the hint. K <= 65 products of values in [-2, 2]: the
  // difference stays inside atol 0.2 (outputs are O(10)).
  const ir::Attribute hint = string_attr("mhub_compute", "bf16");
  for (const auto& [ad, bd] : shapes)
    specs.push_back({.name = "MatMul float32 bf16-compute hint", .op = "MatMul", .attributes = {hint},
                     .inputs = {{rng.uniform(ad, -2, 2)}, init(rng.uniform(bd, -2, 2))}, .rtol = 2e-2, .atol = 0.2, .backends = cpu_fast});
  specs.push_back({.name = "MatMul float32 bf16-compute hint, fed 4-D B", .op = "MatMul", .attributes = {hint},
                   .inputs = {{rng.uniform({3, 2, 9, 31}, -2, 2)}, {rng.uniform({3, 2, 31, 13}, -2, 2)}}, .rtol = 2e-2, .atol = 0.2,
                   .backends = cpu_fast});
  for (int ta = 0; ta < 2; ++ta)
    for (int tb = 0; tb < 2; ++tb) {
      const std::vector<int64_t> ad = ta ? std::vector<int64_t>{37, 21} : std::vector<int64_t>{21, 37};
      const std::vector<int64_t> bd = tb ? std::vector<int64_t>{11, 37} : std::vector<int64_t>{37, 11};
      specs.push_back({.name = "Gemm float32 bf16-compute hint transA " + std::to_string(ta) + " transB " + std::to_string(tb),
                       .op = "Gemm",
                       .attributes = {int_attr("transA", ta), int_attr("transB", tb), float_attr("alpha", 0.5f), float_attr("beta", 2.0f),
                                      string_attr("mhub_activation", "Relu"), hint},
                       .inputs = {{rng.uniform(ad, -2, 2)}, init(rng.uniform(bd, -2, 2)), init(rng.uniform({11}))}, .rtol = 2e-2,
                       .atol = 0.2, .backends = cpu_fast});
    }
  // bfloat16 storage (passes/compute_precision.h): A bfloat16, output bfloat16 (the node marked;
  // the reference writes A's type, and the session never hands it bfloat16 storage). The fused
  // bias goes inside oneDNN's packed product (constant B) or is added here (fed B); without an
  // activation the packed product writes bfloat16 itself, with one (Gelu) it is staged in float32.
  for (bool constant_b : {true, false})
    for (bool gelu : {true, false}) {
      ir::Tensor w = rng.uniform({40, 24}, -1, 1);
      std::vector<ir::Attribute> attrs = {hint, string_attr("mhub_storage_out", "bf16")};
      if (gelu) attrs.push_back(string_attr("mhub_activation", "Gelu"));
      specs.push_back({.name = std::string("MatMul bfloat16 storage: bfloat16 A and output, bias") + (gelu ? ", Gelu, " : ", ") +
                               (constant_b ? "constant" : "fed") + " B",
                       .op = "MatMul", .attributes = attrs,
                       .inputs = {{bf16(std::vector<int64_t>{2, 9, 40}, rng.values(2 * 9 * 40, -2, 2))},
                                  constant_b ? init(w) : Operand{w}, init(rng.uniform({24}))},
                       .rtol = 2e-2, .atol = 0.2, .backends = cpu_fast});
    }
  specs.push_back({.name = "MatMul float32 bf16-compute hint, constant B, fused bias (in the packed product) and Relu", .op = "MatMul",
                   .attributes = {hint, string_attr("mhub_activation", "Relu")},
                   .inputs = {{rng.uniform({13, 40}, -2, 2)}, init(rng.uniform({40, 24}, -1, 1)), init(rng.uniform({24}))},
                   .rtol = 2e-2, .atol = 0.2, .backends = cpu_fast});
  // A fed B is rounded every run (a constant one is packed once into oneDNN's layout).
  specs.push_back({.name = "Gemm float32 bf16-compute hint, fed B transB 1", .op = "Gemm",
                   .attributes = {int_attr("transB", 1), hint},
                   .inputs = {{rng.uniform({19, 33}, -2, 2)}, {rng.uniform({17, 33}, -2, 2)}}, .rtol = 2e-2, .atol = 0.2,
                   .backends = cpu_fast});
  specs.push_back({.name = "MatMul float32 bf16-compute hint, fed 2-D B", .op = "MatMul", .attributes = {hint},
                   .inputs = {{rng.uniform({2, 7, 33}, -2, 2)}, {rng.uniform({33, 20}, -2, 2)}}, .rtol = 2e-2, .atol = 0.2,
                   .backends = cpu_fast});
  specs.push_back({.name = "MatMul float32 bf16-compute hint, empty K", .op = "MatMul", .attributes = {hint},
                   .inputs = {{rng.uniform({3, 0})}, {rng.uniform({0, 4})}}, .backends = cpu_fast});
  specs.push_back({.name = "MatMul large batched", .op = "MatMul", .inputs = {{rng.uniform({5, 257, 129}, -2, 2)}, {rng.uniform({5, 129, 255}, -2, 2)}},
                   .rtol = 1e-4, .atol = 1e-4, .backends = cuda_device});
  specs.push_back({.name = "MatMul with an empty K", .op = "MatMul", .inputs = {{rng.uniform({3, 0})}, {rng.uniform({0, 4})}}});
  for (int ta = 0; ta < 2; ++ta)
    for (int tb = 0; tb < 2; ++tb) {
      const std::vector<int64_t> ad = ta ? std::vector<int64_t>{37, 21} : std::vector<int64_t>{21, 37};
      const std::vector<int64_t> bd = tb ? std::vector<int64_t>{11, 37} : std::vector<int64_t>{37, 11};
      specs.push_back({.name = "Gemm transA " + std::to_string(ta) + " transB " + std::to_string(tb), .op = "Gemm",
                       .attributes = {int_attr("transA", ta), int_attr("transB", tb), float_attr("alpha", 0.5f), float_attr("beta", 2.0f)},
                       .inputs = {{rng.uniform(ad, -2, 2)}, {rng.uniform(bd, -2, 2)}, {rng.uniform({11}, -2, 2)}}, .rtol = 1e-5, .atol = 1e-5});
    }
  // No C (or beta 0) on the sgemm path: the output is not zeroed first, sgemm's beta 0 writes it
  // all, also for an empty K (zeros, as the spec's expected values say).
  specs.push_back({.name = "Gemm no C, fed B", .op = "Gemm", .attributes = {int_attr("transB", 1), float_attr("alpha", 0.5f)},
                   .inputs = {{rng.uniform({9, 17}, -2, 2)}, {rng.uniform({6, 17}, -2, 2)}}, .rtol = 1e-5, .atol = 1e-5});
  specs.push_back({.name = "Gemm beta 0 ignores C, fed B", .op = "Gemm", .attributes = {float_attr("beta", 0.0f)},
                   .inputs = {{rng.uniform({9, 17}, -2, 2)}, {rng.uniform({17, 6}, -2, 2)}, {f32({1}, {std::numeric_limits<float>::quiet_NaN()})}},
                   .rtol = 1e-5, .atol = 1e-5});
  specs.push_back({.name = "Gemm empty K, no C", .op = "Gemm", .inputs = {{rng.uniform({3, 0})}, {rng.uniform({0, 4})}},
                   .expect = {f32({3, 4}, std::vector<float>(12, 0.0f))}});
  specs.push_back({.name = "Gemm float16 no C", .op = "Gemm", .inputs = {{f16({2, 3}, {1, 2, 3, -1, 0.5f, 2})}, {f16({3, 1}, {1, 1, 2})}},
                   .expect = {f16({2, 1}, {9, 3.5f})}});
  specs.push_back({.name = "Gemm with a fused Relu", .op = "Gemm", .attributes = {string_attr("mhub_activation", "Relu")},
                   .inputs = {{rng.uniform({8, 16}, -2, 2)}, {rng.uniform({16, 10}, -2, 2)}, {rng.uniform({8, 1}, -2, 2)}}, .rtol = 1e-5,
                   .atol = 1e-5});

  // A constant weight matrix (matmul_dnnl.h: oneDNN's matmul primitive, B prepacked, bias and
  // activation as post-ops) on cpu_fast, against the reference's sgemm loops and epilogue: each
  // fused activation, with and without the bias, M = 1, K not a multiple of 16, [S, B, E] rows.
  const std::vector<std::pair<std::string, std::vector<ir::Attribute>>> activations = {
      {"none", {}},
      {"Relu", {string_attr("mhub_activation", "Relu")}},
      {"Gelu", {string_attr("mhub_activation", "Gelu")}},
      {"GeluTanh", {string_attr("mhub_activation", "GeluTanh")}},
      {"Sigmoid", {string_attr("mhub_activation", "Sigmoid")}},
      {"Silu", {string_attr("mhub_activation", "Silu")}},
      {"Tanh", {string_attr("mhub_activation", "Tanh")}},
      {"HardSwish", {string_attr("mhub_activation", "HardSwish")}},
      {"Clip", {string_attr("mhub_activation", "Clip"), float_attr("mhub_clip_min", -0.5f), float_attr("mhub_clip_max", 0.75f)}},
      {"LeakyRelu", {string_attr("mhub_activation", "LeakyRelu"), float_attr("mhub_activation_alpha", 0.1f)}},
      {"HardSigmoid",
       {string_attr("mhub_activation", "HardSigmoid"), float_attr("mhub_activation_alpha", 0.2f), float_attr("mhub_activation_beta", 0.5f)}},
  };
  for (const auto& [act, attrs] : activations)
    for (int with_bias = 0; with_bias < 2; ++with_bias) {
      std::vector<Operand> inputs = {{rng.uniform({3, 7, 37}, -2, 2)}, init(rng.uniform({37, 45}, -0.5f, 0.5f))};
      if (with_bias) inputs.push_back(init(rng.uniform({45}, -1, 1)));
      specs.push_back({.name = "MatMul by a weight, fused " + act + (with_bias ? " + bias" : ""), .op = "MatMul",
                       .attributes = attrs, .inputs = inputs, .rtol = 1e-4, .atol = 1e-5, .backends = cpu_fast,
                       .threads = 2});
    }
  specs.push_back({.name = "MatMul by a weight, one row, K 100", .op = "MatMul", .attributes = {string_attr("mhub_activation", "Gelu")},
                   .inputs = {{rng.uniform({1, 1, 100}, -2, 2)}, init(rng.uniform({100, 67}, -0.5f, 0.5f)), {rng.uniform({67})}},
                   .rtol = 1e-4, .atol = 1e-5, .backends = cpu_fast, .threads = 2});
  specs.push_back({.name = "MatMul by a weight, NaN and Inf rows", .op = "MatMul",
                   .inputs = {{rng.specials({5, 24}, -2, 2)}, init(rng.uniform({24, 33}, -0.5f, 0.5f)), init(rng.uniform({33}))},
                   .rtol = 1e-4, .atol = 1e-5, .backends = cpu_fast, .nonfinite = NonFinite::superset});
  // Gemm by a weight: transB (torch's Linear), C as [N] or [1, N] bias (prepacked), and the
  // shapes that keep sgemm: C per row, beta != 1, alpha != 1, transA, a fed B.
  struct GemmCase {
    std::string name;
    int ta, tb;
    float alpha, beta;
    std::vector<int64_t> c_dims;  // empty: no C
    bool constant_b;
  };
  const std::vector<GemmCase> gemm_cases = {
      {"transB, [N] bias", 0, 1, 1.0f, 1.0f, {29}, true},  {"[1, N] bias", 0, 0, 1.0f, 1.0f, {1, 29}, true},
      {"no C", 0, 1, 1.0f, 1.0f, {}, true},                {"beta 0", 0, 1, 1.0f, 0.0f, {29}, true},
      {"[M, 1] C", 0, 1, 1.0f, 1.0f, {13, 1}, true},       {"beta 2", 0, 1, 1.0f, 2.0f, {29}, true},
      {"alpha 0.5", 0, 1, 0.5f, 1.0f, {29}, true},         {"transA", 1, 1, 1.0f, 1.0f, {29}, true},
      {"fed B", 0, 1, 1.0f, 1.0f, {29}, false},
  };
  for (const GemmCase& g : gemm_cases) {
    const std::vector<int64_t> ad = g.ta ? std::vector<int64_t>{53, 13} : std::vector<int64_t>{13, 53};
    const std::vector<int64_t> bd = g.tb ? std::vector<int64_t>{29, 53} : std::vector<int64_t>{53, 29};
    std::vector<Operand> inputs = {{rng.uniform(ad, -2, 2)}, {rng.uniform(bd, -0.5f, 0.5f), g.constant_b}};
    if (!g.c_dims.empty()) inputs.push_back(init(rng.uniform(g.c_dims, -1, 1)));
    specs.push_back({.name = "Gemm by a weight, " + g.name + ", fused Gelu", .op = "Gemm",
                     .attributes = {int_attr("transA", g.ta), int_attr("transB", g.tb), float_attr("alpha", g.alpha),
                                    float_attr("beta", g.beta), string_attr("mhub_activation", "Gelu")},
                     .inputs = inputs, .rtol = 1e-4, .atol = 1e-5, .backends = cpu_fast, .threads = 2});
  }

  // Backward rules.
  specs.push_back({.name = "Gemm gradient, [1,6] bias", .op = "Gemm", .inputs = {{rng.uniform({3, 4})}, {rng.uniform({4, 6}, -0.5f, 0.5f)}, {rng.uniform({1, 6})}},
                   .opset = 17, .grad = 7});
  specs.push_back({.name = "Gemm gradient, transA transB", .op = "Gemm", .attributes = {int_attr("transA", 1), int_attr("transB", 1)},
                   .inputs = {{rng.uniform({4, 3})}, {rng.uniform({6, 4}, -0.5f, 0.5f)}, {rng.uniform({6})}}, .opset = 17, .grad = 7});
  specs.push_back({.name = "MatMul gradient, batched by a matrix", .op = "MatMul", .inputs = {{rng.uniform({2, 3, 4})}, {rng.uniform({4, 8}, -0.5f, 0.5f)}},
                   .opset = 17, .grad = 3});
  specs.push_back({.name = "MatMul gradient, batched both sides", .op = "MatMul", .inputs = {{rng.uniform({2, 3, 2})}, {rng.uniform({2, 2, 3})}},
                   .opset = 17, .grad = 3});
  specs.push_back({.name = "MatMul gradient, broadcast batch", .op = "MatMul", .inputs = {{rng.uniform({2, 1, 3, 4})}, {rng.uniform({3, 4, 2})}},
                   .opset = 17, .grad = 3});
  specs.push_back({.name = "MatMul gradient, matrix by a matrix", .op = "MatMul", .inputs = {{rng.uniform({5, 4})}, {rng.uniform({4, 3}, -0.5f, 0.5f)}},
                   .opset = 17, .grad = 3});
  return specs;
}

}  // namespace mhub::test
