// Op specs for the training-only internal ops (suite "ops"): BatchNormTraining against
// ONNX BatchNormalization fed the batch statistics, BatchNormGrad against the closed form in
// double, ReluGrad / ClipGrad masks with NaN, MaxPoolGrad accumulating repeated indices, and
// the fast 2-D MaxPool with indices against the reference (odd sizes, strides, pads, dilations,
// ceil_mode, NaN).
#include <doctest/doctest.h>

#include <cmath>
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
  TEST_CASE("BatchNormTraining: batch statistics, and Y as BatchNormalization computes it from them") {
    for (const std::vector<int64_t>& dims : {std::vector<int64_t>{3, 5, 7, 9}, {4, 3}, {2, 6, 11}, {1, 2, 3, 4, 5}}) {
      const int64_t c = dims[1];
      int64_t numel = 1;
      for (int64_t d : dims) numel *= d;
      const auto x = noise(numel, 1, 3.0f, 5.0f), scale = noise(c, 2, 0.5f, 1.0f), bias = noise(c, 3);
      const auto out = run_node("BatchNormTraining", true, {ir::float_attr("epsilon", 1e-3f)},
                                {to_f32(dims, x), to_f32({c}, scale), to_f32({c}, bias)}, 3);
      const int64_t plane = numel / dims[0] / c;
      std::vector<float> mean(c), var(c);
      for (int64_t ch = 0; ch < c; ++ch) {
        double s = 0, s2 = 0;
        for (int64_t b = 0; b < dims[0]; ++b)
          for (int64_t i = 0; i < plane; ++i) s += x[(b * c + ch) * plane + i];
        const double m = s / (dims[0] * plane);
        for (int64_t b = 0; b < dims[0]; ++b)
          for (int64_t i = 0; i < plane; ++i) s2 += (x[(b * c + ch) * plane + i] - m) * (x[(b * c + ch) * plane + i] - m);
        mean[ch] = static_cast<float>(m);
        var[ch] = static_cast<float>(s2 / (dims[0] * plane));
      }
      near(floats(out[1]), mean);
      near(floats(out[2]), var);
      const auto onnx = run_node("BatchNormalization", false, {ir::float_attr("epsilon", 1e-3f)},
                                 {to_f32(dims, x), to_f32({c}, scale), to_f32({c}, bias), to_f32({c}, mean), to_f32({c}, var)}, 1, false);
      near(floats(out[0]), floats(onnx[0]), 1e-4f);
    }
  }

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

  TEST_CASE("ReluGrad and ClipGrad pass dY where the forward passed X; NaN does not pass") {
    const float nan = std::numeric_limits<float>::quiet_NaN();
    const auto dy = to_f32({2, 3}, {1, 2, 3, 4, nan, 6});
    near(floats(run_node("ReluGrad", true, {}, {dy, to_f32({2, 3}, {-1, 0, 0.5f, nan, 2, 1})}, 1)[0]), {0, 0, 3, 0, nan, 6});
    const auto x = to_f32({2, 3}, {-1, 0, 6, 6.5f, nan, 3});
    near(floats(run_node("ClipGrad", true, {ir::float_attr("min", 0), ir::float_attr("max", 6)}, {dy, x}, 1)[0]), {0, 2, 3, 0, 0, 6});
    near(floats(run_node("ClipGrad", true, {ir::float_attr("max", 6)}, {dy, x}, 1)[0]), {1, 2, 3, 0, 0, 6});
  }

  TEST_CASE("Clip: the fast float32 kernel matches the reference (NaN, infinities, min only, min > max)") {
    const float nan = std::numeric_limits<float>::quiet_NaN(), inf = std::numeric_limits<float>::infinity();
    auto values = noise(1001, 12, 8.0f);
    values[3] = nan;
    values[5] = inf;
    values[7] = -inf;
    const auto x = to_f32({7, 11, 13}, values);
    const std::vector<std::vector<ir::Tensor>> bounds = {{to_f32({}, {0}), to_f32({}, {6})}, {to_f32({}, {-2})},
                                                         {to_f32({}, {3}), to_f32({}, {1})}};
    for (const auto& b : bounds) {
      std::vector<ir::Tensor> inputs = {x};
      for (const auto& t : b) inputs.push_back(t);
      near(floats(run_node("Clip", false, {}, inputs, 1, true)[0]), floats(run_node("Clip", false, {}, inputs, 1, false)[0]), 0);
    }
  }

  TEST_CASE("MaxPoolGrad sums dY onto repeated indices; indices outside their plane are an error") {
    // One plane of 4 values; three windows chose value 1, one chose value 3.
    const auto dy = to_f32({1, 1, 2, 2}, {1, 2, 3, 4});
    ir::Tensor idx = ir::Tensor::from_bytes(ir::DataType::int64, {1, 1, 2, 2}, std::vector<int64_t>{1, 1, 3, 1}.data(), 32);
    near(floats(run_node("MaxPoolGrad", true, {ir::ints_attr("input_shape", {1, 1, 2, 2})}, {dy, idx}, 1)[0]), {0, 7, 0, 3});
    ir::Tensor bad = ir::Tensor::from_bytes(ir::DataType::int64, {1, 1, 2, 2}, std::vector<int64_t>{1, 1, 4, 1}.data(), 32);
    CHECK_THROWS_WITH_AS(run_node("MaxPoolGrad", true, {ir::ints_attr("input_shape", {1, 1, 2, 2})}, {dy, bad}, 1),
                         doctest::Contains("MaxPoolGrad_under_test"), Error);
  }

  TEST_CASE("MaxPool with indices: the fast 2-D kernel matches the reference") {
    struct Case {
      std::vector<int64_t> dims, kernel, strides, pads, dilations;
      int64_t ceil;
    };
    for (const Case& cs : {Case{{2, 3, 7, 9}, {3, 3}, {2, 2}, {1, 1, 1, 1}, {1, 1}, 0}, Case{{1, 2, 8, 5}, {2, 3}, {1, 2}, {0, 1, 1, 0}, {2, 1}, 0},
                           Case{{3, 1, 9, 9}, {3, 2}, {2, 3}, {1, 0, 0, 1}, {1, 1}, 1}, Case{{1, 4, 5, 5}, {5, 5}, {1, 1}, {0, 0, 0, 0}, {1, 1}, 0}}) {
      int64_t numel = 1;
      for (int64_t d : cs.dims) numel *= d;
      auto x = noise(numel, 9);
      x[4] = std::numeric_limits<float>::quiet_NaN();
      x[numel - 1] = std::numeric_limits<float>::infinity();
      std::vector<ir::Attribute> attrs = {ir::ints_attr("kernel_shape", cs.kernel), ir::ints_attr("strides", cs.strides), ir::ints_attr("pads", cs.pads),
                                          ir::ints_attr("dilations", cs.dilations), ir::int_attr("ceil_mode", cs.ceil)};
      const auto fast = run_node("MaxPool", false, attrs, {to_f32(cs.dims, x)}, 2, true);
      const auto ref = run_node("MaxPool", false, attrs, {to_f32(cs.dims, x)}, 2, false);
      CHECK(fast[0].dims == ref[0].dims);
      near(floats(fast[0]), floats(ref[0]), 0);
      REQUIRE(fast[1].numel() == ref[1].numel());
      for (uint64_t i = 0; i < ref[1].numel(); ++i) CHECK(fast[1].data<int64_t>()[i] == ref[1].data<int64_t>()[i]);
    }
  }
}
