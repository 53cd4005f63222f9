// The session's compute-precision hint (SessionOptions::compute_precision, `--precision bf16` of
// run/bench/eval): which nodes get it, that the fast kernels follow it only where the CPU has
// bfloat16 units, that results stay within bfloat16's error of float32, and that other values
// are refused. The kernels themselves are checked op by op in conv_specs / matmul_specs.
// Names live in namespace precision_test: test executables are unity builds.
#include <doctest/doctest.h>

#include <cmath>
#include <random>

#include "common/error.h"
#include "engine/core/passes/compute_precision.h"
#include "engine/core/session.h"
#include "engine/cpu/bf16_support.h"
#include "engine/devices.h"
#include "engine/ir/ops.h"
#include "tests/model_builder.h"

using namespace mhub;

namespace precision_test {

ir::Node node(const std::string& type, std::vector<std::string> in, const std::string& out, std::vector<ir::Attribute> attrs = {}) {
  return test::make_node(type, std::move(in), out, std::move(attrs));
}

ir::Tensor uniform(const std::string& name, std::vector<int64_t> dims, std::mt19937& rng) {
  std::uniform_real_distribution<float> u(-1, 1);
  std::vector<float> v(static_cast<size_t>(ir::element_count(dims)));
  for (float& x : v) x = u(rng);
  return ir::Tensor::from_bytes(ir::DataType::float32, dims, v.data(), v.size() * sizeof(float), name);
}

// x [2,3,12,12] -> Conv 3x3 (8 channels) -> Relu -> Flatten -> Gemm (10) -> MatMul (10x10) -> y
ir::Model small_net(std::mt19937& rng) {
  ir::Model model;
  model.ir_version = 8;
  model.opset_imports = {{"", 17}};
  model.graph.name = "precision";
  ir::ValueInfo x;
  x.name = "x";
  x.type = ir::Type::tensor(ir::DataType::float32, std::nullopt);
  model.graph.inputs = {x};
  ir::ValueInfo y;
  y.name = "y";
  model.graph.outputs = {y};
  model.graph.initializers = {uniform("w", {8, 3, 3, 3}, rng), uniform("b", {8}, rng), uniform("g", {10, 8 * 10 * 10}, rng),
                              uniform("gb", {10}, rng), uniform("m", {10, 10}, rng)};
  model.graph.nodes = {node("Conv", {"x", "w", "b"}, "c"), node("Relu", {"c"}, "r"), node("Flatten", {"r"}, "f"),
                       node("Gemm", {"f", "g", "gb"}, "h", {ir::int_attr("transB", 1)}), node("MatMul", {"h", "m"}, "y")};
  return model;
}

std::vector<float> run(const ir::Model& model, const ir::Tensor& x, const std::string& precision) {
  engine::SessionOptions options;
  options.threads = 2;
  options.compute_precision = precision;
  engine::Session session(model, engine::host_backend(), options);
  auto out = session.run({{"x", engine::Value::of(x)}});
  const ir::Tensor& y = out.at(0).tensor;
  return std::vector<float>(y.data<float>(), y.data<float>() + y.numel());
}

}  // namespace precision_test

TEST_SUITE("ops") {

TEST_CASE("compute precision bf16: Conv/Gemm/MatMul hinted (subgraphs too), results within bfloat16's error of fp32") {
  using namespace precision_test;
  std::mt19937 rng(11);
  ir::Model model = small_net(rng);
  const ir::Tensor x = uniform("x", {2, 3, 12, 12}, rng);

  ir::Model hinted = model;
  CHECK(engine::passes::hint_bf16_compute(hinted.graph) == 3);
  CHECK(engine::passes::hint_bf16_compute(hinted.graph) == 3);  // idempotent: no second attribute
  size_t hints = 0;
  for (const ir::Node& n : hinted.graph.nodes)
    for (const ir::Attribute& a : n.attributes) hints += a.name == engine::passes::kComputeAttribute;
  CHECK(hints == 3);
  // An If whose branch holds a MatMul: the branch's node is hinted too.
  ir::Model branchy = model;
  auto branch = std::make_shared<ir::Graph>();
  branch->nodes = {node("MatMul", {"h", "m"}, "z")};
  ir::Attribute then_branch;
  then_branch.name = "then_branch";
  then_branch.type = ir::AttributeType::graph;
  then_branch.g = branch;
  branchy.graph.nodes.push_back(node("If", {"cond"}, "w", {then_branch}));
  CHECK(engine::passes::hint_bf16_compute(branchy.graph) == 4);
  CHECK(branch->nodes[0].attr_string(engine::passes::kComputeAttribute, "") == "bf16");
  // Depthwise Convs of inference graphs stay float32 (memory-bound); grouped ones with several
  // input channels per group are hinted. A training graph (it holds Conv gradients) hints them all.
  ir::Graph grouped;
  grouped.initializers = {uniform("dw", {8, 1, 3, 3}, rng), uniform("gw", {8, 2, 3, 3}, rng)};
  grouped.nodes = {node("Conv", {"c", "dw"}, "d", {ir::int_attr("group", 8)}), node("Conv", {"c", "gw"}, "e", {ir::int_attr("group", 4)})};
  ir::Graph training = grouped;
  CHECK(engine::passes::hint_bf16_compute(grouped) == 1);
  CHECK(grouped.nodes[0].attr_string(engine::passes::kComputeAttribute, "") == "");
  CHECK(grouped.nodes[1].attr_string(engine::passes::kComputeAttribute, "") == "bf16");
  training.nodes.push_back(node("ConvGradInput", {"dd", "dw"}, "dc", {ir::int_attr("group", 8)}));
  training.nodes.push_back(node("ConvGradWeight", {"c", "dd"}, "ddw", {ir::int_attr("group", 8), ir::ints_attr("weight_shape", {8, 1, 3, 3})}));
  for (size_t i = 2; i < training.nodes.size(); ++i) {
    training.nodes[i].domain = ir::kInternalDomain;
    training.nodes[i].op = ir::lookup_op(ir::kInternalDomain, training.nodes[i].op_type);
  }
  CHECK(engine::passes::hint_bf16_compute(training) == 4);
  for (const ir::Node& n : training.nodes) CHECK(n.attr_string(engine::passes::kComputeAttribute, "") == "bf16");

  const std::vector<float> exact = run(model, x, "fp32");
  const std::vector<float> low = run(model, x, "bf16");
  REQUIRE(exact.size() == low.size());
  double diff = 0, scale = 0;
  for (size_t i = 0; i < exact.size(); ++i) {
    diff = std::max(diff, std::abs(static_cast<double>(low[i]) - exact[i]));
    scale = std::max(scale, std::abs(static_cast<double>(exact[i])));
  }
  CHECK(scale > 0);
  CHECK(diff <= 2e-2 * scale);
  if (engine::cpu::cpu_has_bf16_units())
    CHECK(diff > 0);  // the hint was followed: bfloat16 inputs change the low bits
  else
    CHECK(diff == 0);  // no bfloat16 units: the hint is ignored, the run is float32
}

TEST_CASE("compute precision: anything but fp32 and bf16 is refused") {
  using namespace precision_test;
  std::mt19937 rng(3);
  const ir::Model model = small_net(rng);
  engine::SessionOptions options;
  options.compute_precision = "fp16";
  try {
    engine::Session session(model, engine::host_backend(), options);
    FAIL("fp16 was accepted");
  } catch (const Error& e) {
    CHECK(e.category() == ErrorCategory::usage);
    CHECK(std::string(e.what()).find("fp16") != std::string::npos);
  }
}

}  // TEST_SUITE
