// Op specs: elementwise unary ops (engine/cpu/elementwise.cpp).
#include <cmath>
#include <limits>

#include "engine/core/float_types.h"
#include "tests/ops/op_spec.h"

namespace mhub::test {

namespace {

const float kNan = std::numeric_limits<float>::quiet_NaN();
const float kInf = std::numeric_limits<float>::infinity();

std::vector<float> mapped(const std::vector<float>& x, float (*f)(float)) {
  std::vector<float> y;
  for (float v : x) y.push_back(f(v));
  return y;
}

}  // namespace

std::vector<OpSpec> elementwise_specs() {
  std::vector<OpSpec> specs;
  Random rng(1);

  // Known values on an odd size with NaN and Inf (std:: functions give the expected values).
  const std::vector<float> x = {-2.5f, -1, -0.0f, 0.5f, 3, kNan, kInf};
  const std::pair<const char*, float (*)(float)> known[] = {
      {"Exp", [](float v) { return std::exp(v); }},
      {"Log", [](float v) { return std::log(v); }},
      {"Sqrt", [](float v) { return std::sqrt(v); }},
      {"Tanh", [](float v) { return std::tanh(v); }},
      {"Erf", [](float v) { return std::erf(v); }},
      {"Sigmoid", [](float v) { return 1.0f / (1.0f + std::exp(-v)); }},
      {"Relu", [](float v) { return std::isnan(v) ? v : std::max(v, 0.0f); }},
      {"Floor", [](float v) { return std::floor(v); }},
      {"Abs", [](float v) { return std::fabs(v); }},
      {"Sign", [](float v) { return std::isnan(v) ? v : float((v > 0) - (v < 0)); }},
  };
  for (const auto& [op, f] : known)
    specs.push_back({.name = std::string(op) + " known values, NaN and Inf", .op = op, .inputs = {{f32({7}, x)}},
                     .rtol = 1e-6, .atol = 1e-6, .expect = {f32({7}, mapped(x, f))}, .backends = cpu_fast | test_device});

  specs.push_back({.name = "Round ties to even", .op = "Round", .inputs = {{f32({5}, {0.5f, 1.5f, 2.5f, -0.5f, -1.5f})}},
                   .rtol = 0, .atol = 0, .expect = {f32({5}, {0, 2, 2, -0.0f, -2})}});
  specs.push_back({.name = "integer Abs", .op = "Abs", .inputs = {{i32({3}, {-5, 0, 7})}}, .expect = {i32({3}, {5, 0, 7})}});
  specs.push_back({.name = "integer Sign", .op = "Sign", .inputs = {{i64({3}, {-5, 0, 7})}}, .expect = {i64({3}, {-1, 0, 1})}});
  specs.push_back({.name = "IsNaN", .op = "IsNaN", .inputs = {{f32({3}, {1, kNan, kInf})}}, .expect = {boolean({3}, {0, 1, 0})}});
  specs.push_back({.name = "IsInf positive only", .op = "IsInf", .attributes = {int_attr("detect_negative", 0)},
                   .inputs = {{f32({3}, {-kInf, kNan, kInf})}}, .expect = {boolean({3}, {0, 0, 1})}});
  specs.push_back({.name = "Not", .op = "Not", .inputs = {{boolean({2}, {0, 1})}}, .expect = {boolean({2}, {1, 0})}});

  specs.push_back({.name = "Clip min only, NaN passes", .op = "Clip",
                   .inputs = {{f32({4}, {-3, 0.5f, 9, kNan})}, {f32({}, {-1})}, {absent()}},
                   .expect = {f32({4}, {-1, 0.5f, 9, kNan})}});
  specs.push_back({.name = "Clip integers, min > max gives max", .op = "Clip",
                   .inputs = {{i64({3}, {-9, 2, 9})}, {i64({}, {5})}, {i64({}, {1})}}, .expect = {i64({3}, {1, 1, 1})}});
  specs.push_back({.name = "Clip float16", .op = "Clip", .inputs = {{f16({2}, {-4, 0.25f})}, {f16({}, {-1})}},
                   .expect = {f16({2}, {-1, 0.25f})}});

  // The fast Exp / Sigmoid / Tanh (polynomials) against the reference on 4001 + 13 points,
  // including the range limits, NaN and the infinities.
  std::vector<float> wide;
  for (int i = -2000; i <= 2000; ++i) wide.push_back(static_cast<float>(i) * 0.0537f);
  for (float v : {1e-6f, -1e-6f, 0.29999f, 0.3f, -0.31f, 88.5f, 89.0f, -90.0f, -110.0f, kNan, kInf, -kInf, 0.0f})
    wide.push_back(v);
  const ir::Tensor wide_input = f32({static_cast<int64_t>(wide.size())}, wide);
  for (const char* op : {"Exp", "Sigmoid", "Tanh"})
    specs.push_back({.name = std::string("fast ") + op + " over its range", .op = op, .inputs = {{wide_input}}, .rtol = 2e-6,
                     .atol = 1e-7, .backends = cpu_fast | test_device});

  // The fast Erf (series below |x| = 0.5, erfc fit above) against libm's erf: absolute bound
  // 1e-6 densely across both pieces and the switch at 0.5, then the edge values exactly
  // (zeros keep their sign, subnormals stay x * 2 / sqrt(pi), large inputs saturate at +-1).
  std::vector<float> erf_points;
  for (int i = -3000; i <= 3000; ++i) erf_points.push_back(static_cast<float>(i) * 0.00217f);
  for (float v : {0.49999997f, 0.5f, -0.5f, 4.0f, -4.0f, 9.5f, -30.0f, 1e30f, -3e38f})
    erf_points.push_back(v);
  specs.push_back({.name = "fast Erf over its range", .op = "Erf",
                   .inputs = {{f32({static_cast<int64_t>(erf_points.size())}, erf_points)}}, .rtol = 0, .atol = 1e-6,
                   .backends = cpu_fast | test_device});
  const float denormal = std::numeric_limits<float>::denorm_min();
  specs.push_back({.name = "fast Erf edge values", .op = "Erf",
                   .inputs = {{f32({10}, {0.0f, -0.0f, 1e-40f, -1e-40f, denormal, 1e-20f, 30.0f, -kInf, kInf, kNan})}},
                   .rtol = 1e-6, .atol = 0,
                   .expect = {f32({10}, {0.0f, -0.0f, std::erf(1e-40f), std::erf(-1e-40f), std::erf(denormal),
                                         std::erf(1e-20f), 1.0f, -1.0f, 1.0f, kNan})},
                   .backends = cpu_fast | test_device});

  // Every unary op the CUDA backend has, on sizes 1, 7 and 1000003 (the last on the GPU only:
  // grid-stride loops), NaN and infinities included.
  const ir::Tensor& huge = grid_size_specials();
  for (const char* op : {"Sigmoid", "Tanh", "Exp", "Log", "Sqrt", "Neg", "Abs", "Erf", "Reciprocal", "Relu"}) {
    for (int64_t n : {1, 7})
      specs.push_back({.name = std::string(op) + " odd size " + std::to_string(n), .op = op, .inputs = {{rng.specials({n})}},
                       .atol = 1e-5});
    specs.push_back({.name = std::string(op) + " 1000003 elements", .op = op, .inputs = {{huge}}, .atol = 1e-5,
                     .backends = cuda_device});
  }

  // Backward rules (tests/train/test_gradcheck.cpp).
  for (const char* op : {"Sigmoid", "Tanh", "Erf", "Relu", "Neg", "Exp", "Abs"})
    specs.push_back({.name = std::string(op) + " gradient", .op = op, .inputs = {{rng.uniform({3, 4})}}, .grad = 1});
  specs.push_back({.name = "Log gradient", .op = "Log", .inputs = {{rng.uniform({3, 4}, 0.5f, 2.0f)}}, .grad = 1});
  specs.push_back({.name = "Sqrt gradient", .op = "Sqrt", .inputs = {{rng.uniform({3, 4}, 0.2f, 1.0f)}}, .grad = 1});
  specs.push_back({.name = "Clip gradient, bounds inside the range", .op = "Clip",
                   .inputs = {{rng.uniform({2, 6})}, init(f32({}, {-0.4f})), init(f32({}, {0.4f}))}, .grad = 1});
  return specs;
}

}  // namespace mhub::test
