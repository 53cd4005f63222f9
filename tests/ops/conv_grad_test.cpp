// Op specs for the Conv gradient ops (mhub-internal ConvGradInput / ConvGradWeight, suite
// "ops"): the reference kernels are checked against the forward Conv through the adjoint
// identities <dY, Conv(X, W)> = <dX, X> = <dW, W> (the gradients of a linear map), the fast
// (oneDNN) kernels against the reference ones on odd sizes, groups (depthwise too), strides,
// dilations, asymmetric pads, 1-D to 3-D, and NaN/Inf. Also: the fast forward Conv must not
// serve stale weights when they change between runs (fed inputs, or initializers updated in
// place and declared mutable, as the Trainer does).
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <random>

#include "tests/ops/op_harness.h"
#include "common/error.h"
#include "engine/core/session.h"
#include "engine/ir/ops.h"

using namespace mhub;

namespace {

ir::Tensor cg_tensor(const std::vector<int64_t>& dims, const std::vector<float>& values, const std::string& name = "") {
  return ir::Tensor::from_bytes(ir::DataType::float32, dims, values.data(), values.size() * sizeof(float), name);
}

std::vector<float> cg_random(size_t n, uint32_t seed) {
  std::mt19937 gen(seed);
  std::uniform_real_distribution<float> dist(-1.0f, 1.0f);
  std::vector<float> v(n);
  for (float& x : v) x = dist(gen);
  return v;
}

int64_t cg_numel(const std::vector<int64_t>& dims) {
  int64_t n = 1;
  for (int64_t d : dims) n *= d;
  return n;
}


// One geometry of a forward Conv.
struct ConvCase {
  std::vector<int64_t> x, w;  // X [N, C, in...], W [M, C/group, k...]
  int64_t group = 1;
  std::vector<int64_t> strides, dilations, pads;  // empty: defaults
  std::vector<int64_t> y;                          // filled by output_dims()
  std::vector<ir::Attribute> attributes() const {
    std::vector<ir::Attribute> a = {ir::int_attr("group", group)};
    if (!strides.empty()) a.push_back(ir::ints_attr("strides", strides));
    if (!dilations.empty()) a.push_back(ir::ints_attr("dilations", dilations));
    if (!pads.empty()) a.push_back(ir::ints_attr("pads", pads));
    return a;
  }
  void output_dims() {
    size_t r = x.size() - 2;
    y = {x[0], w[0]};
    for (size_t i = 0; i < r; ++i) {
      int64_t s = strides.empty() ? 1 : strides[i], d = dilations.empty() ? 1 : dilations[i];
      int64_t pb = pads.empty() ? 0 : pads[i], pe = pads.empty() ? 0 : pads[r + i];
      y.push_back((x[2 + i] + pb + pe - (d * (w[2 + i] - 1) + 1)) / s + 1);
    }
  }
};

// Runs one node (domain `domain`, opset 17, 2 threads) on fed inputs; returns its outputs' values.
std::vector<std::vector<float>> cg_run(const std::string& domain, const std::string& op, std::vector<ir::Attribute> attrs,
                                       const std::vector<ir::Tensor>& inputs, size_t outputs, bool fast) {
  std::vector<std::vector<float>> result;
  for (const engine::Value& v : test::run_op({op, std::move(attrs), 17, outputs, domain, 2, op + "_under_test"}, inputs, fast))
    result.emplace_back(v.tensor.data<float>(), v.tensor.data<float>() + v.tensor.numel());
  return result;
}

std::vector<float> grad_input(const ConvCase& c, const std::vector<float>& dy, const std::vector<float>& w, bool fast) {
  auto attrs = c.attributes();
  attrs.push_back(ir::ints_attr("input_shape", c.x));
  return cg_run(std::string(ir::kInternalDomain), "ConvGradInput", attrs, {cg_tensor(c.y, dy), cg_tensor(c.w, w)}, 1, fast)[0];
}

std::vector<std::vector<float>> grad_weight(const ConvCase& c, const std::vector<float>& x, const std::vector<float>& dy, bool fast) {
  auto attrs = c.attributes();
  attrs.push_back(ir::ints_attr("weight_shape", c.w));
  return cg_run(std::string(ir::kInternalDomain), "ConvGradWeight", attrs, {cg_tensor(c.x, x), cg_tensor(c.y, dy)}, 2, fast);
}

double dot(const std::vector<float>& a, const std::vector<float>& b) {
  double s = 0;
  for (size_t i = 0; i < a.size(); ++i) s += static_cast<double>(a[i]) * b[i];
  return s;
}

void cg_close(const std::vector<float>& got, const std::vector<float>& want) {
  REQUIRE(got.size() == want.size());
  for (size_t i = 0; i < got.size(); ++i) {
    if (std::isnan(want[i])) {
      CHECK_MESSAGE(std::isnan(got[i]), "element " << i);
      continue;
    }
    if (std::isinf(want[i])) {
      CHECK_MESSAGE(got[i] == want[i], "element " << i);
      continue;
    }
    CHECK_MESSAGE(std::fabs(got[i] - want[i]) <= 1e-4f + 1e-4f * std::fabs(want[i]), "element " << i << ": " << got[i] << " vs " << want[i]);
  }
}

std::vector<ConvCase> cg_cases() {
  std::vector<ConvCase> cases = {
      {{1, 3, 7, 9}, {5, 3, 3, 3}, 1, {}, {}, {1, 1, 1, 1}},
      {{2, 4, 11, 6}, {6, 2, 3, 3}, 2, {2, 2}, {}, {0, 1, 1, 0}},         // grouped, strided, asymmetric pads
      {{1, 6, 9, 9}, {6, 1, 3, 3}, 6, {1, 1}, {2, 2}, {2, 2, 2, 2}},     // depthwise, dilated
      {{3, 5, 5, 13}, {7, 5, 1, 1}, 1, {2, 1}, {}, {}},                  // 1x1, stride skips rows
      {{2, 6, 7, 8}, {6, 2, 3, 2}, 3, {2, 3}, {1, 2}, {}},               // grouped, unpadded
      {{2, 4, 8, 8}, {8, 1, 3, 3}, 4, {2, 2}, {1, 1}, {1, 0, 1, 2}},     // channel multiplier 2
      {{2, 3, 10}, {4, 3, 4}, 1, {3}, {2}, {2, 1}},                      // 1-D
      {{1, 2, 4, 5, 6}, {3, 2, 2, 3, 2}, 1, {1, 2, 1}, {1, 1, 2}, {1, 0, 0, 0, 1, 1}},  // 3-D
  };
  for (ConvCase& c : cases) c.output_dims();
  return cases;
}

}  // namespace

TEST_SUITE("ops") {
  TEST_CASE("ConvGradInput / ConvGradWeight reference: adjoints of the forward Conv") {
    uint32_t seed = 10;
    for (const ConvCase& c : cg_cases()) {
      CAPTURE(c.x.size());
      const auto x = cg_random(cg_numel(c.x), ++seed), w = cg_random(cg_numel(c.w), ++seed), dy = cg_random(cg_numel(c.y), ++seed);
      const auto y = cg_run("", "Conv", c.attributes(), {cg_tensor(c.x, x), cg_tensor(c.w, w)}, 1, false)[0];
      REQUIRE(y.size() == dy.size());
      const double forward = dot(dy, y);
      const auto dx = grad_input(c, dy, w, false);
      const auto dw = grad_weight(c, x, dy, false);
      CHECK(dot(dx, x) == doctest::Approx(forward).epsilon(1e-4));
      CHECK(dot(dw[0], w) == doctest::Approx(forward).epsilon(1e-4));
      double sum = 0;
      for (float v : dy) sum += v;
      double bias_sum = 0;
      for (float v : dw[1]) bias_sum += v;
      CHECK(bias_sum == doctest::Approx(sum).epsilon(1e-4));
      REQUIRE(dw[1].size() == static_cast<size_t>(c.w[0]));
    }
  }

  TEST_CASE("ConvGradInput / ConvGradWeight: oneDNN kernels match the reference; NaN/Inf propagate") {
    uint32_t seed = 40;
    for (const ConvCase& c : cg_cases()) {
      CAPTURE(c.x.size());
      CAPTURE(c.group);
      auto x = cg_random(cg_numel(c.x), ++seed), w = cg_random(cg_numel(c.w), ++seed), dy = cg_random(cg_numel(c.y), ++seed);
      cg_close(grad_input(c, dy, w, true), grad_input(c, dy, w, false));
      const auto fast = grad_weight(c, x, dy, true), ref = grad_weight(c, x, dy, false);
      cg_close(fast[0], ref[0]);
      cg_close(fast[1], ref[1]);
      // A NaN in dY and an infinity in X / W reach the gradients. Without padding both kernels
      // agree element for element; with padding oneDNN also multiplies the padded zeros
      // (0 * NaN = NaN), so it may mark more elements non-finite than the reference, never fewer.
      dy[1] = std::numeric_limits<float>::quiet_NaN();
      x[0] = std::numeric_limits<float>::infinity();
      w[0] = -std::numeric_limits<float>::infinity();
      const auto dx_fast = grad_input(c, dy, w, true), dx_ref = grad_input(c, dy, w, false);
      const auto dw_fast = grad_weight(c, x, dy, true), dw_ref = grad_weight(c, x, dy, false);
      CHECK(std::count_if(dx_ref.begin(), dx_ref.end(), [](float v) { return !std::isfinite(v); }) > 0);
      CHECK(std::count_if(dw_ref[0].begin(), dw_ref[0].end(), [](float v) { return !std::isfinite(v); }) > 0);
      if (c.pads.empty()) {
        cg_close(dx_fast, dx_ref);
        cg_close(dw_fast[0], dw_ref[0]);
        cg_close(dw_fast[1], dw_ref[1]);
      } else {
        auto covers = [](const std::vector<float>& fast, const std::vector<float>& ref) {
          for (size_t i = 0; i < ref.size(); ++i)
            if (!std::isfinite(ref[i])) CHECK_MESSAGE(!std::isfinite(fast[i]), "element " << i);
        };
        covers(dx_fast, dx_ref);
        covers(dw_fast[0], dw_ref[0]);
        covers(dw_fast[1], dw_ref[1]);
      }
    }
  }

  TEST_CASE("ConvGradWeight without the bias output") {
    ConvCase c = cg_cases()[1];
    auto attrs = c.attributes();
    attrs.push_back(ir::ints_attr("weight_shape", c.w));
    const auto x = cg_random(cg_numel(c.x), 7), dy = cg_random(cg_numel(c.y), 8);
    for (bool fast : {false, true}) {
      const auto dw = cg_run(std::string(ir::kInternalDomain), "ConvGradWeight", attrs, {cg_tensor(c.x, x), cg_tensor(c.y, dy)}, 1, fast);
      cg_close(dw[0], grad_weight(c, x, dy, false)[0]);
    }
  }

  TEST_CASE("ConvGradInput: a dY that does not fit the geometry is an error naming the node") {
    ConvCase c = cg_cases()[0];
    auto attrs = c.attributes();
    attrs.push_back(ir::ints_attr("input_shape", c.x));
    std::vector<int64_t> wrong = c.y;
    wrong[2] += 1;
    CHECK_THROWS_WITH_AS(cg_run(std::string(ir::kInternalDomain), "ConvGradInput", attrs,
                                {cg_tensor(wrong, cg_random(cg_numel(wrong), 1)), cg_tensor(c.w, cg_random(cg_numel(c.w), 2))}, 1, true),
                         doctest::Contains("ConvGradInput_under_test"), Error);
  }

  TEST_CASE("fast Conv: weights that change between runs are never served stale") {
    ConvCase c = cg_cases()[1];
    const auto x = cg_random(cg_numel(c.x), 3);
    // Fed weights: each run's bytes may sit at the same address as the last run's.
    for (uint32_t seed : {1u, 2u, 3u}) {
      const auto w = cg_random(cg_numel(c.w), seed);
      cg_close(cg_run("", "Conv", c.attributes(), {cg_tensor(c.x, x), cg_tensor(c.w, w)}, 1, true)[0],
               cg_run("", "Conv", c.attributes(), {cg_tensor(c.x, x), cg_tensor(c.w, w)}, 1, false)[0]);
    }
    // Initializers updated in place between runs of one session, declared mutable.
    ir::Model model;
    model.ir_version = 8;
    model.opset_imports = {{"", 17, 0}};
    model.graph.name = "mutable_weights";
    model.graph.initializers.push_back(cg_tensor(c.w, cg_random(cg_numel(c.w), 5), "w"));
    model.graph.initializers.push_back(cg_tensor({c.w[0]}, cg_random(static_cast<size_t>(c.w[0]), 6), "b"));
    model.graph.inputs.push_back({"x", ir::Type::tensor(ir::DataType::float32, std::nullopt), {}, {}, 0});
    model.graph.outputs.push_back({"y", std::nullopt, {}, {}, 0});
    ir::Node n;
    n.op_type = "Conv";
    n.op = ir::OpKind::Conv;
    n.name = "conv";
    n.inputs = {"x", "w", "b"};
    n.outputs = {"y"};
    n.attributes = c.attributes();
    model.graph.nodes.push_back(n);
    engine::SessionOptions options;
    options.threads = 2;
    options.mutable_initializers = {"w", "b"};
    engine::Session session(model, options);
    for (uint32_t seed : {11u, 12u}) {
      float* w = reinterpret_cast<float*>(model.graph.initializers[0].storage->mutable_data());
      float* b = reinterpret_cast<float*>(model.graph.initializers[1].storage->mutable_data());
      const auto nw = cg_random(cg_numel(c.w), seed), nb = cg_random(static_cast<size_t>(c.w[0]), seed + 100);
      std::copy(nw.begin(), nw.end(), w);
      std::copy(nb.begin(), nb.end(), b);
      const auto y = session.run({{"x", engine::Value::of(cg_tensor(c.x, x))}});
      const std::vector<float> got(y[0].tensor.data<float>(), y[0].tensor.data<float>() + y[0].tensor.numel());
      cg_close(got, cg_run("", "Conv", c.attributes(), {cg_tensor(c.x, x), cg_tensor(c.w, nw), cg_tensor({c.w[0]}, nb)}, 1, false)[0]);
    }
  }
}
