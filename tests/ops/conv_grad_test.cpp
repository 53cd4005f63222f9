// The Conv gradient ops (mhub-internal ConvGradInput / ConvGradWeight, suite "ops") beyond
// their op specs (conv_grad_specs.cpp: fast against reference, NaN/Inf, a wrong dY): the
// reference kernels are checked against the forward Conv through the adjoint identities
// <dY, Conv(X, W)> = <dX, X> = <dW, W> (the gradients of a linear map). Also: the fast forward
// Conv must not serve stale weights when they change between runs (fed inputs, or initializers
// updated in place and declared mutable, as the Trainer does).
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <random>

#include "tests/ops/conv_grad_cases.h"
#include "tests/ops/op_harness.h"
#include "common/error.h"
#include "engine/core/session.h"
#include "engine/ir/ops.h"
#include "engine/devices.h"

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


using test::ConvCase;

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

std::vector<ConvCase> cg_cases() { return test::conv_grad_cases(); }

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
      // A NaN in dY and an infinity in W / X reach the gradients (the fast kernels are compared
      // with these in conv_grad_specs.cpp).
      auto dy_bad = dy, w_bad = w, x_bad = x;
      dy_bad[1] = std::numeric_limits<float>::quiet_NaN();
      x_bad[0] = std::numeric_limits<float>::infinity();
      w_bad[0] = -std::numeric_limits<float>::infinity();
      const auto dx_bad = grad_input(c, dy_bad, w_bad, false);
      const auto dw_bad = grad_weight(c, x_bad, dy_bad, false);
      CHECK(std::count_if(dx_bad.begin(), dx_bad.end(), [](float v) { return !std::isfinite(v); }) > 0);
      CHECK(std::count_if(dw_bad[0].begin(), dw_bad[0].end(), [](float v) { return !std::isfinite(v); }) > 0);
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
    engine::Session session(model, engine::host_backend(), options);
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
