// The training-only internal ops beyond their op specs (train_ops_specs.cpp, pool_specs.cpp;
// suite "ops"): BatchNormTraining's variance under a large mean and NaN kept in its channel,
// BatchNormGrad against the closed form in double from BatchNormTraining's statistics, and both
// with a fused Relu against Relu / ReluGrad around them.
#include <doctest/doctest.h>

#include <cmath>
#include <cstring>
#include <limits>
#include <random>

#include "tests/ops/op_harness.h"
#include "common/error.h"
#include "engine/core/session.h"
#include "engine/ir/ops.h"

using namespace mhub;

namespace {

ir::Tensor to_f32(const std::vector<int64_t>& dims, const std::vector<float>& v) {
  return ir::Tensor::from_bytes(ir::DataType::float32, dims, v.data(), v.size() * 4);
}

std::vector<float> noise(size_t n, uint32_t seed, float scale = 1.0f, float offset = 0.0f) {
  std::mt19937 gen(seed);
  std::uniform_real_distribution<float> dist(-1.0f, 1.0f);
  std::vector<float> v(n);
  for (float& x : v) x = offset + scale * dist(gen);
  return v;
}


// Runs one node (internal when `internal`, opset 17, 2 threads) on fed inputs; returns its outputs.
std::vector<ir::Tensor> run_node(const std::string& op, bool internal, std::vector<ir::Attribute> attrs,
                                 const std::vector<ir::Tensor>& inputs, size_t outputs, bool fast = true) {
  const std::string domain = internal ? std::string(ir::kInternalDomain) : "";
  std::vector<ir::Tensor> result;
  for (const engine::Value& v : test::run_op({op, std::move(attrs), 17, outputs, domain, 2, op + "_under_test"}, inputs, fast))
    result.push_back(v.tensor);
  return result;
}

bool same_bits(const ir::Tensor& a, const ir::Tensor& b) {
  return a.dims == b.dims && a.byte_size() == b.byte_size() && std::memcmp(a.bytes(), b.bytes(), a.byte_size()) == 0;
}

std::vector<float> floats(const ir::Tensor& t) { return std::vector<float>(t.data<float>(), t.data<float>() + t.numel()); }

void near(const std::vector<float>& got, const std::vector<float>& want, float tol = 1e-5f) {
  REQUIRE(got.size() == want.size());
  for (size_t i = 0; i < got.size(); ++i) {
    if (std::isnan(want[i])) {
      CHECK_MESSAGE(std::isnan(got[i]), "element " << i);
      continue;
    }
    if (got[i] == want[i]) continue;  // infinities too
    CHECK_MESSAGE(std::fabs(got[i] - want[i]) <= tol * (1 + std::fabs(want[i])), "element " << i << ": " << got[i] << " vs " << want[i]);
  }
}

}  // namespace

TEST_SUITE("ops") {
  TEST_CASE("BatchNormTraining: a large mean does not cancel the variance; NaN stays in its channel") {
    const std::vector<int64_t> dims = {4, 2, 33, 31};
    auto x = noise(4 * 2 * 33 * 31, 21, 0.01f, 1000.0f);
    const auto out = run_node("BatchNormTraining", true, {}, {to_f32(dims, x), to_f32({2}, {1, 1}), to_f32({2}, {0, 0})}, 3);
    double s = 0, s2 = 0;
    const int64_t plane = 33 * 31;
    for (int64_t b = 0; b < 4; ++b)
      for (int64_t i = 0; i < plane; ++i) s += x[(b * 2) * plane + i];
    const double m = s / (4 * plane);
    for (int64_t b = 0; b < 4; ++b)
      for (int64_t i = 0; i < plane; ++i) s2 += (x[(b * 2) * plane + i] - m) * (x[(b * 2) * plane + i] - m);
    CHECK(floats(out[2])[0] == doctest::Approx(s2 / (4 * plane)).epsilon(1e-4));
    x[5] = std::numeric_limits<float>::quiet_NaN();  // channel 0
    const auto bad = run_node("BatchNormTraining", true, {}, {to_f32(dims, x), to_f32({2}, {1, 1}), to_f32({2}, {0, 0})}, 3);
    CHECK(std::isnan(floats(bad[1])[0]));
    CHECK(std::isnan(floats(bad[2])[0]));
    CHECK(std::isnan(floats(bad[0])[0]));
    CHECK(std::isfinite(floats(bad[1])[1]));
    CHECK(std::isfinite(floats(bad[0])[plane]));
  }

  TEST_CASE("BatchNormGrad: the closed form; outputs nobody reads are skipped") {
    const std::vector<int64_t> dims = {3, 4, 5, 3};
    const int64_t c = 4, plane = 15, count = 45;
    const auto x = noise(180, 4, 2.0f, 1.0f), dy = noise(180, 5), scale = noise(c, 6, 0.5f, 1.0f);
    const auto stats = run_node("BatchNormTraining", true, {}, {to_f32(dims, x), to_f32({c}, scale), to_f32({c}, noise(c, 7))}, 3);
    const auto mean = floats(stats[1]), var = floats(stats[2]);
    const auto out = run_node("BatchNormGrad", true, {}, {to_f32(dims, dy), to_f32(dims, x), to_f32({c}, scale), stats[1], stats[2]}, 3);
    std::vector<float> dx(180), dscale(c), dbias(c);
    for (int64_t ch = 0; ch < c; ++ch) {
      const double inv = 1 / std::sqrt(var[ch] + 1e-5);
      double sdy = 0, sdyx = 0;
      for (int64_t b = 0; b < 3; ++b)
        for (int64_t i = 0; i < plane; ++i) {
          const int64_t at = (b * c + ch) * plane + i;
          sdy += dy[at];
          sdyx += dy[at] * (x[at] - mean[ch]) * inv;
        }
      dscale[ch] = static_cast<float>(sdyx);
      dbias[ch] = static_cast<float>(sdy);
      for (int64_t b = 0; b < 3; ++b)
        for (int64_t i = 0; i < plane; ++i) {
          const int64_t at = (b * c + ch) * plane + i;
          dx[at] = static_cast<float>(scale[ch] * inv * (dy[at] - sdy / count - (x[at] - mean[ch]) * inv * sdyx / count));
        }
    }
    near(floats(out[0]), dx, 1e-4f);
    near(floats(out[1]), dscale, 1e-4f);
    near(floats(out[2]), dbias, 1e-4f);
  }

  TEST_CASE("BatchNormTraining relu=1 and BatchNormGrad given Y equal Relu and ReluGrad around the unfused ops, bit for bit") {
    const std::vector<int64_t> dims = {2, 3, 4, 5};
    const int64_t c = 3;
    auto x = noise(120, 8, 2.0f, 0.5f), dy = noise(120, 9);
    x[7] = std::numeric_limits<float>::quiet_NaN();  // a NaN channel stays NaN, and passes no gradient
    const auto scale = to_f32({c}, noise(c, 10, 0.5f, 1.0f)), bias = to_f32({c}, noise(c, 11));
    const std::vector<ir::Attribute> relu = {ir::int_attr("relu", 1)};
    const auto plain = run_node("BatchNormTraining", true, {}, {to_f32(dims, x), scale, bias}, 3);
    const auto fused = run_node("BatchNormTraining", true, relu, {to_f32(dims, x), scale, bias}, 3);
    const auto relu_out = run_node("Relu", false, {}, {plain[0]}, 1, false);
    CHECK(same_bits(fused[0], relu_out[0]));
    CHECK(same_bits(fused[1], plain[1]));
    CHECK(same_bits(fused[2], plain[2]));
    const auto masked = run_node("ReluGrad", true, {}, {to_f32(dims, dy), fused[0]}, 1, false);
    const auto unfused = run_node("BatchNormGrad", true, {}, {masked[0], to_f32(dims, x), scale, plain[1], plain[2]}, 3);
    const auto together =
        run_node("BatchNormGrad", true, {}, {to_f32(dims, dy), to_f32(dims, x), scale, plain[1], plain[2], {}, {}, {}, fused[0]}, 3);
    for (int k = 0; k < 3; ++k) CHECK(same_bits(together[k], unfused[k]));
  }

}
