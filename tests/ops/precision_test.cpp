// The session's compute-precision hint (SessionOptions::compute_precision, `--precision bf16` of
// run/bench/eval): which nodes get it, that the fast kernels follow it only where the CPU has
// bfloat16 units, that results stay within bfloat16's error of float32, and that other values
// are refused. The kernels themselves are checked op by op in conv_specs / matmul_specs.
// Names live in namespace precision_test: test executables are unity builds.
#include <doctest/doctest.h>

#include <algorithm>
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

// A model with float32 input x and output y; the caller adds initializers and nodes.
ir::Model x_to_y(const std::string& name) {
  ir::Model model;
  model.ir_version = 8;
  model.opset_imports = {{"", 17}};
  model.graph.name = name;
  ir::ValueInfo x;
  x.name = "x";
  x.type = ir::Type::tensor(ir::DataType::float32, std::nullopt);
  model.graph.inputs = {x};
  ir::ValueInfo y;
  y.name = "y";
  model.graph.outputs = {y};
  return model;
}

// x [2,3,12,12] -> Conv 3x3 (8 channels) -> Relu -> Flatten -> Gemm (10) -> MatMul (10x10) -> y
ir::Model small_net(std::mt19937& rng) {
  ir::Model model = x_to_y("precision");
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

// Whether low is within rel * (exact's largest magnitude) of exact everywhere (and exact is not all 0).
bool within_bf16_error(const std::vector<float>& exact, const std::vector<float>& low, double rel) {
  if (exact.size() != low.size()) return false;
  double diff = 0, scale = 0;
  for (size_t i = 0; i < exact.size(); ++i) {
    diff = std::max(diff, std::abs(static_cast<double>(low[i]) - exact[i]));
    scale = std::max(scale, std::abs(static_cast<double>(exact[i])));
  }
  return scale > 0 && diff <= rel * scale;
}

// Runs `model` on x in fp32 and bf16 sessions: the bf16 session's log says `stored_line` exactly
// where the CPU has bf16 units (the fp32 one never), outputs are float32 and within 3e-2 of fp32.
bool stores_and_stays_close(const ir::Model& model, const ir::Tensor& x, const std::string& stored_line) {
  engine::SessionOptions options;
  options.threads = 2;
  options.verbose = true;
  std::vector<float> results[2];
  for (int bf16 = 0; bf16 < 2; ++bf16) {
    options.compute_precision = bf16 ? "bf16" : "fp32";
    engine::Session session(model, engine::host_backend(), options);
    size_t stored_lines = 0;
    for (const std::string& line : session.log()) stored_lines += line.find(stored_line) != std::string::npos;
    if (stored_lines != (bf16 && engine::cpu::cpu_has_bf16_units() ? 1u : 0u)) return false;
    auto out = session.run({{"x", engine::Value::of(x)}});
    const ir::Tensor& y = out.at(0).tensor;
    if (y.dtype != ir::DataType::float32) return false;
    results[bf16].assign(y.data<float>(), y.data<float>() + y.numel());
  }
  return within_bf16_error(results[0], results[1], 3e-2);
}

// A residual block: x -> Conv a (Relu) -> Conv b (Relu) -> Conv c (+ a, Relu) -> GlobalAveragePool -> y,
// written as nn_fusion leaves it (the residual as Conv c's input 3).
ir::Model residual_net(std::mt19937& rng) {
  ir::Model model = x_to_y("residual");
  model.graph.initializers = {uniform("wa", {16, 3, 3, 3}, rng), uniform("wb", {16, 16, 3, 3}, rng),
                              uniform("wc", {16, 16, 1, 1}, rng), uniform("bias", {16}, rng)};
  const std::vector<ir::Attribute> relu_pad = {ir::string_attr("mhub_activation", "Relu"), ir::ints_attr("pads", {1, 1, 1, 1})};
  model.graph.nodes = {node("Conv", {"x", "wa", "bias"}, "a", relu_pad), node("Conv", {"a", "wb", "bias"}, "b", relu_pad),
                       node("Conv", {"b", "wc", "bias", "a"}, "c", {ir::string_attr("mhub_activation", "Relu")}),
                       node("GlobalAveragePool", {"c"}, "y")};
  return model;
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

TEST_CASE("compute precision bf16: values only hinted Convs read are stored as bfloat16, as the header's rule says") {
  using namespace precision_test;
  namespace passes = engine::passes;
  std::mt19937 rng(5);
  const passes::Bf16ReadQuery yes = [](const ir::Node&, std::span<const ir::DataType>) { return true; };
  const ir::Model model = residual_net(rng);
  // fp32 mode (no hint): nothing is stored otherwise.
  ir::Graph plain = model.graph;
  CHECK(passes::store_bf16_activations(plain, yes) == 0);
  // a is read by Conv b (X) and Conv c (residual), b by Conv c: both bfloat16; c is read by the
  // pool and stays float32.
  ir::Graph hinted = model.graph;
  passes::hint_bf16_compute(hinted);
  std::vector<std::vector<ir::DataType>> asked;
  const passes::Bf16ReadQuery recording = [&](const ir::Node&, std::span<const ir::DataType> types) {
    asked.emplace_back(types.begin(), types.end());
    return true;
  };
  CHECK(passes::store_bf16_activations(hinted, recording) == 2);
  CHECK(passes::bf16_stored_values(hinted) == std::vector<std::string>{"a", "b"});
  CHECK(passes::store_bf16_activations(hinted, yes) == 2);  // idempotent: marks replaced, not doubled
  size_t marks = 0;
  for (const ir::Node& n : hinted.nodes)
    for (const ir::Attribute& a : n.attributes) marks += a.name == passes::kStorageAttribute;
  CHECK(marks == 2);
  // Conv c was asked with X and the residual in bfloat16, W and B float32.
  using ir::DataType;
  const std::vector<DataType> c_types = {DataType::bfloat16, DataType::float32, DataType::float32, DataType::bfloat16};
  CHECK(std::find(asked.begin(), asked.end(), c_types) != asked.end());
  // A kernel that refuses bfloat16 keeps every input of that reader float32.
  ir::Graph refused = hinted;
  const passes::Bf16ReadQuery not_c = [](const ir::Node& n, std::span<const ir::DataType>) { return n.outputs[0] != "c"; };
  CHECK(passes::store_bf16_activations(refused, not_c) == 0);
  // Another reader (a Relu), a graph output or a subgraph reading the value keep it float32.
  ir::Graph relu_reads = hinted;
  relu_reads.nodes.push_back(node("Relu", {"b"}, "r"));
  CHECK(passes::bf16_stored_values(relu_reads).size() == 2);
  CHECK(passes::store_bf16_activations(relu_reads, yes) == 1);
  CHECK(passes::bf16_stored_values(relu_reads) == std::vector<std::string>{"a"});
  ir::Graph output = hinted;
  ir::ValueInfo b_out;
  b_out.name = "b";
  output.outputs.push_back(b_out);
  CHECK(passes::store_bf16_activations(output, yes) == 1);
  ir::Graph branchy = hinted;
  auto branch = std::make_shared<ir::Graph>();
  branch->nodes = {node("Identity", {"a"}, "z")};
  ir::Attribute then_branch;
  then_branch.name = "then_branch";
  then_branch.type = ir::AttributeType::graph;
  then_branch.g = branch;
  branchy.nodes.push_back(node("If", {"cond"}, "w", {then_branch}));
  CHECK(passes::store_bf16_activations(branchy, yes) == 1);
  CHECK(passes::bf16_stored_values(branchy) == std::vector<std::string>{"b"});
  // A value read as weights is not an activation: kept float32.
  ir::Graph as_weights = hinted;
  as_weights.nodes.push_back(node("Conv", {"x", "b"}, "v", {ir::string_attr(passes::kComputeAttribute, "bf16")}));
  CHECK(passes::store_bf16_activations(as_weights, yes) == 1);

  // A transformer MLP: LayerNorm -> MatMul fc1 (+bias, Gelu) -> MatMul fc2 -> Add. fc1's output,
  // read only by fc2 as A, is stored; fc2's (read by the Add) and LayerNorm's (not hinted) are not.
  ir::Graph mlp;
  mlp.nodes = {node("LayerNormalization", {"t", "s", "o"}, "n"), node("MatMul", {"n", "w1", "b1"}, "h", {ir::string_attr("mhub_activation", "Gelu")}),
               node("MatMul", {"h", "w2"}, "m"), node("Add", {"m", "t"}, "u")};
  passes::hint_bf16_compute(mlp);
  CHECK(passes::store_bf16_activations(mlp, yes) == 1);
  CHECK(passes::bf16_stored_values(mlp) == std::vector<std::string>{"h"});
  mlp.nodes[2].inputs = {"w2", "h"};  // read as B: not an activation the kernels take as bfloat16
  CHECK(passes::store_bf16_activations(mlp, yes) == 0);

  // In a session: the values are stored bfloat16 where the CPU has the units (the log says how
  // many), and the result stays within bfloat16's error of float32.
  CHECK(stores_and_stays_close(model, uniform("x", {2, 3, 10, 10}, rng), "2 values stored as bfloat16"));
  // The MLP in a session: x [6, 40] -> MatMul (+bias, Gelu) -> MatMul -> y.
  ir::Model mlp_model = x_to_y("mlp");
  mlp_model.graph.initializers = {uniform("w1", {40, 32}, rng), uniform("b1", {32}, rng), uniform("w2", {32, 8}, rng)};
  mlp_model.graph.nodes = {node("MatMul", {"x", "w1", "b1"}, "h", {ir::string_attr("mhub_activation", "Gelu")}),
                           node("MatMul", {"h", "w2"}, "y")};
  CHECK(stores_and_stays_close(mlp_model, uniform("x", {6, 40}, rng), "1 values stored as bfloat16"));
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
