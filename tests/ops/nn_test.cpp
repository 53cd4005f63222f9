// The neural-net load-time fusions against the unfused graph (suite "ops"), reference and fast
// kernels. The single ops themselves are op specs (conv_specs.cpp, matmul_specs.cpp, ...).
#include <doctest/doctest.h>

#include <cmath>
#include <limits>
#include <random>

#include "engine/core/session.h"
#include "engine/ir/ops.h"
#include "engine/devices.h"

using namespace mhub;

namespace {

struct Input {
  std::string name;
  std::vector<int64_t> dims;
  std::vector<float> values;
  bool initializer = false;
};

ir::Tensor float_tensor(const std::string& name, const std::vector<int64_t>& dims, const std::vector<float>& values) {
  return ir::Tensor::from_bytes(ir::DataType::float32, dims, values.data(), values.size() * sizeof(float), name);
}

ir::ValueInfo port(const std::string& name, const std::vector<int64_t>& dims) {
  ir::Shape shape;
  for (int64_t d : dims) shape.dims.push_back(ir::Dim::of(d));
  ir::ValueInfo info;
  info.name = name;
  info.type = ir::Type::tensor(ir::DataType::float32, shape);
  return info;
}

// A graph of `nodes` reading `inputs` (graph inputs or initializers), output "y".
ir::Model model_of(std::vector<ir::Node> nodes, const std::vector<Input>& inputs, int64_t opset = 17) {
  ir::Model model;
  model.ir_version = 8;
  model.opset_imports = {{"", opset}};
  model.graph.name = "op_spec";
  for (const Input& in : inputs) {
    if (in.initializer) model.graph.initializers.push_back(float_tensor(in.name, in.dims, in.values));
    else model.graph.inputs.push_back(port(in.name, in.dims));
  }
  ir::ValueInfo y;
  y.name = "y";
  model.graph.outputs.push_back(y);
  for (ir::Node& n : nodes) {
    n.op = ir::lookup_op("", n.op_type);
    model.graph.nodes.push_back(std::move(n));
  }
  return model;
}

ir::Node node(const std::string& op, std::vector<std::string> in, std::vector<std::string> out = {"y"}) {
  ir::Node n;
  n.op_type = op;
  n.name = op + "_under_test";
  n.inputs = std::move(in);
  n.outputs = std::move(out);
  return n;
}

void set_ints(ir::Node& n, const std::string& name, std::vector<int64_t> v) {
  ir::Attribute a;
  a.name = name;
  a.type = ir::AttributeType::ints;
  a.ints = std::move(v);
  n.attributes.push_back(a);
}
void set_int(ir::Node& n, const std::string& name, int64_t v) {
  ir::Attribute a;
  a.name = name;
  a.type = ir::AttributeType::int_;
  a.i = v;
  n.attributes.push_back(a);
}

std::vector<float> run(const ir::Model& model, const std::vector<Input>& inputs, bool fast, bool fuse = true,
                       std::vector<int64_t>* dims = nullptr) {
  engine::SessionOptions options;
  options.threads = 2;
  options.allow_fast = fast;
  options.fuse = fuse;
  options.fold_constants = false;
  engine::Session session(model, engine::host_backend(), options);
  std::vector<std::pair<std::string, engine::Value>> feeds;
  for (const Input& in : inputs)
    if (!in.initializer) feeds.push_back({in.name, engine::Value::of(float_tensor(in.name, in.dims, in.values))});
  std::vector<engine::Value> out = session.run(feeds);
  const ir::Tensor& t = out.at(0).tensor;
  if (dims) *dims = t.dims;
  return std::vector<float>(t.data<float>(), t.data<float>() + t.numel());
}

std::vector<float> random_values(size_t n, uint32_t seed) {
  std::mt19937 gen(seed);
  std::uniform_real_distribution<float> dist(-1.0f, 1.0f);
  std::vector<float> v(n);
  for (float& x : v) x = dist(gen);
  return v;
}

void check_close(const std::vector<float>& got, const std::vector<float>& want, float rtol = 1e-4f, float atol = 1e-5f) {
  REQUIRE(got.size() == want.size());
  for (size_t i = 0; i < got.size(); ++i) {
    if (std::isnan(want[i])) {
      CHECK(std::isnan(got[i]));
      continue;
    }
    if (got[i] == want[i]) continue;  // also equal infinities
    CHECK_MESSAGE(std::fabs(got[i] - want[i]) <= atol + rtol * std::fabs(want[i]), "element " << i << ": " << got[i] << " vs " << want[i]);
  }
}

}  // namespace

TEST_SUITE("ops") {
  TEST_CASE("Conv+BatchNormalization+Relu fusion gives the unfused result") {
    std::vector<Input> inputs = {{"x", {2, 3, 6, 5}, random_values(180, 4)},
                                 {"w", {4, 3, 3, 3}, random_values(108, 5), true},
                                 {"scale", {4}, {1.5f, -0.5f, 2.0f, 0.25f}, true},
                                 {"beta", {4}, {0.1f, 0.2f, -0.3f, 0.0f}, true},
                                 {"mean", {4}, {0.05f, -0.1f, 0.2f, 0.0f}, true},
                                 {"var", {4}, {0.5f, 1.0f, 2.0f, 0.1f}, true}};
    ir::Model model = model_of({node("Conv", {"x", "w"}, {"c"}), node("BatchNormalization", {"c", "scale", "beta", "mean", "var"}, {"bn"}),
                                node("Relu", {"bn"})}, inputs);
    std::vector<float> plain = run(model, inputs, false, false);
    check_close(run(model, inputs, false, true), plain);
    check_close(run(model, inputs, true, true), plain);
    bool any_zero = false;
    for (float v : plain) any_zero |= v == 0.0f;
    CHECK(any_zero);  // the Relu did something
  }

  TEST_CASE("BatchNormalizations sharing constant parameters with different epsilons (the fast kernel's cached coefficients)") {
    std::vector<Input> inputs = {{"x", {2, 4, 3, 3}, random_values(72, 6)},
                                 {"scale", {4}, {1.5f, -0.5f, 2.0f, 0.25f}, true},
                                 {"beta", {4}, {0.1f, 0.2f, -0.3f, 0.0f}, true},
                                 {"mean", {4}, {0.05f, -0.1f, 0.2f, 0.0f}, true},
                                 {"var", {4}, {0.01f, 1.0f, 0.002f, 0.1f}, true}};
    ir::Node first = node("BatchNormalization", {"x", "scale", "beta", "mean", "var"}, {"a"});
    ir::Node second = node("BatchNormalization", {"a", "scale", "beta", "mean", "var"});
    second.name = "second";
    ir::Attribute eps;
    eps.name = "epsilon";
    eps.type = ir::AttributeType::float_;
    eps.f = 0.5f;
    second.attributes.push_back(eps);
    ir::Model model = model_of({first, second}, inputs);
    const std::vector<float> want = run(model, inputs, false, false);
    // Twice: the second run's coefficients come from the cache.
    check_close(run(model, inputs, true, false), want, 1e-6f, 1e-6f);
    check_close(run(model, inputs, true, false), want, 1e-6f, 1e-6f);
  }

  TEST_CASE("Conv+Clip (Relu6) fusion gives the unfused result") {
    std::vector<Input> inputs = {{"x", {1, 4, 7, 7}, random_values(196, 8)},
                                 {"w", {8, 4, 3, 3}, random_values(288, 9), true},
                                 {"lo", {}, {-0.1f}, true},
                                 {"hi", {}, {0.2f}, true}};
    ir::Model model = model_of({node("Conv", {"x", "w"}, {"c"}), node("Clip", {"c", "lo", "hi"})}, inputs);
    std::vector<float> plain = run(model, inputs, false, false);
    check_close(run(model, inputs, false, true), plain);
    check_close(run(model, inputs, true, true), plain);
    int clipped = 0;
    for (float v : plain) clipped += v == -0.1f || v == 0.2f;
    CHECK(clipped > 10);
  }

  TEST_CASE("Conv chains handed over in NHWC give the plain result (fast and reference)") {
    std::vector<Input> inputs = {{"x", {2, 3, 9, 8}, random_values(432, 11)},
                                 {"w1", {8, 3, 3, 3}, random_values(216, 12), true},
                                 {"w2", {8, 1, 3, 3}, random_values(72, 13), true},
                                 {"w3", {5, 8, 1, 1}, random_values(40, 14), true}};
    ir::Node dw = node("Conv", {"c1", "w2"}, {"c2"});
    set_int(dw, "group", 8);
    set_ints(dw, "pads", {1, 1, 1, 1});
    ir::Model model = model_of({node("Conv", {"x", "w1"}, {"c1"}), dw, node("Conv", {"c2", "w3"})}, inputs);
    std::vector<float> plain = run(model, inputs, false, false);
    check_close(run(model, inputs, false, true), plain);
    check_close(run(model, inputs, true, true), plain);
  }
}
