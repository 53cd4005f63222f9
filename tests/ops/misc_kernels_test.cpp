// Direct op specs for engine-misc kernels on odd sizes and NaN/Inf inputs (the backend-suite
// cases run in misc_conformance_test.cpp).
#include <doctest/doctest.h>

#include "tests/model_builder.h"

#include <cmath>
#include <limits>

#include "engine/cpu/scalar_access.h"
#include "runner/compare.h"
#include "tests/ops/mini_runner.h"
#include "tests/ops/op_harness.h"

namespace {

using mhub::engine::Value;
namespace ir = mhub::ir;
using mhub::test::int_attr;

ir::Tensor floats(std::vector<int64_t> dims, std::vector<float> v) {
  return ir::Tensor::from_bytes(ir::DataType::float32, std::move(dims), v.data(), v.size() * 4);
}
ir::Tensor int64s(std::vector<int64_t> dims, std::vector<int64_t> v) {
  return ir::Tensor::from_bytes(ir::DataType::int64, std::move(dims), v.data(), v.size() * 8);
}

// A one-node graph with inputs x0..xn-1 and outputs y0..ym-1.
ir::Graph one_node(const std::string& op, size_t inputs, size_t outputs, std::vector<ir::Attribute> attrs = {}) {
  ir::Graph g;
  ir::Node n;
  n.op_type = op;
  n.op = ir::lookup_op("", op);
  for (size_t i = 0; i < inputs; ++i) {
    n.inputs.push_back("x" + std::to_string(i));
    ir::ValueInfo v;
    v.name = "x" + std::to_string(i);
    g.inputs.push_back(v);
  }
  for (size_t i = 0; i < outputs; ++i) {
    n.outputs.push_back("y" + std::to_string(i));
    ir::ValueInfo v;
    v.name = "y" + std::to_string(i);
    g.outputs.push_back(v);
  }
  n.attributes = std::move(attrs);
  g.nodes.push_back(n);
  return g;
}

}  // namespace

TEST_SUITE("ops") {
TEST_CASE("engine-misc: ReduceMax/Min propagate NaN and handle Inf on odd sizes") {
  float nan = std::numeric_limits<float>::quiet_NaN(), inf = std::numeric_limits<float>::infinity();
  ir::Tensor x = floats({3, 5}, {1, 2, nan, 4, 5, -inf, 0, 3, 2, 1, 7, 7, 7, 7, inf});
  auto g = one_node("ReduceMax", 2, 1, {int_attr("keepdims", 0)});
  auto out = mhub::test::run_graph_for_test(g, 18, {Value::of(x), Value::of(int64s({1}, {1}))});
  const float* y = out[0].tensor.data<float>();
  REQUIRE(out[0].tensor.dims == std::vector<int64_t>{3});
  CHECK(std::isnan(y[0]));
  CHECK(y[1] == 3.0f);
  CHECK(y[2] == inf);
  auto gmin = one_node("ReduceMin", 1, 1, {int_attr("keepdims", 1)});
  out = mhub::test::run_graph_for_test(gmin, 13, {Value::of(x)});
  CHECK(out[0].tensor.dims == std::vector<int64_t>{1, 1});
  CHECK(std::isnan(out[0].tensor.data<float>()[0]));
}

TEST_CASE("engine-misc: ReduceSum noop_with_empty_axes passes the input through") {
  ir::Tensor x = floats({7}, {1, 2, 3, 4, 5, 6, 7});
  auto g = one_node("ReduceSum", 2, 1, {int_attr("noop_with_empty_axes", 1)});
  auto out = mhub::test::run_graph_for_test(g, 13, {Value::of(x), Value::of(int64s({0}, {}))});
  CHECK(out[0].tensor.dims == std::vector<int64_t>{7});
  g = one_node("ReduceSum", 1, 1);
  out = mhub::test::run_graph_for_test(g, 13, {Value::of(x)});
  CHECK(out[0].tensor.data<float>()[0] == 28.0f);
}

TEST_CASE("engine-misc: Mod follows the divisor's sign, fmod the dividend's") {
  auto g = one_node("Mod", 2, 1);
  auto out = mhub::test::run_graph_for_test(g, 13, {Value::of(int64s({3}, {-7, 7, -7})), Value::of(int64s({3}, {3, -3, -3}))});
  const int64_t* y = out[0].tensor.data<int64_t>();
  CHECK(y[0] == 2);
  CHECK(y[1] == -2);
  CHECK(y[2] == -1);
  g = one_node("Mod", 2, 1, {int_attr("fmod", 1)});
  out = mhub::test::run_graph_for_test(g, 13, {Value::of(floats({2}, {-7.5f, NAN})), Value::of(floats({1}, {2.0f}))});
  CHECK(out[0].tensor.data<float>()[0] == -1.5f);
  CHECK(std::isnan(out[0].tensor.data<float>()[1]));
}

TEST_CASE("engine-misc: half and bfloat16 conversions round to nearest even") {
  using namespace mhub::engine::cpu;
  CHECK(half_to_float(float_to_half(1.0f)) == 1.0f);
  CHECK(half_to_float(float_to_half(65504.0f)) == 65504.0f);
  CHECK(std::isinf(half_to_float(float_to_half(70000.0f))));
  CHECK(half_to_float(float_to_half(5.96e-8f)) == std::ldexp(1.0f, -24));
  CHECK(std::isnan(half_to_float(float_to_half(NAN))));
  CHECK(bfloat16_to_float(float_to_bfloat16(3.0f)) == 3.0f);
}
}

namespace {

ir::ValueInfo value_info(const std::string& name, ir::DataType dtype, std::vector<int64_t> dims) { return mhub::test::tensor_port(name, dtype, dims); }

ir::Node node_of(const std::string& op, std::vector<std::string> in, std::vector<std::string> out) {
  ir::Node n;
  n.op_type = op;
  n.op = ir::lookup_op("", op);
  n.inputs = std::move(in);
  n.outputs = std::move(out);
  return n;
}

ir::Attribute graph_attr(const std::string& name, ir::Graph g) {
  ir::Attribute a;
  a.name = name;
  a.type = ir::AttributeType::graph;
  a.g = std::make_shared<ir::Graph>(std::move(g));
  return a;
}

std::vector<int64_t> values_of(const ir::Tensor& t) {
  std::vector<int64_t> v(t.numel());
  for (size_t i = 0; i < v.size(); ++i) v[i] = mhub::engine::cpu::load_int64(t, i);
  return v;
}

}  // namespace

TEST_SUITE("ops") {
TEST_CASE("engine-misc: Loop carries a value, stacks scan outputs and reads the outer scope") {
  // body(i, cond, s): s' = s ^ i ^ outer ; scan output s'
  ir::Graph body;
  body.inputs = {value_info("i", ir::DataType::int64, {}), value_info("c", ir::DataType::boolean, {}),
                 value_info("s", ir::DataType::int64, {})};
  body.nodes.push_back(node_of("BitwiseXor", {"s", "i"}, {"t"}));
  body.nodes.push_back(node_of("BitwiseXor", {"t", "x1"}, {"s_out"}));
  body.nodes.push_back(node_of("Identity", {"c"}, {"c_out"}));
  body.nodes.push_back(node_of("Identity", {"s_out"}, {"scan"}));
  body.outputs = {value_info("c_out", ir::DataType::boolean, {}), value_info("s_out", ir::DataType::int64, {}),
                  value_info("scan", ir::DataType::int64, {})};
  ir::Graph g;
  for (const char* name : {"x0", "x1", "x2"}) g.inputs.push_back(value_info(name, ir::DataType::int64, {}));
  ir::Node loop = node_of("Loop", {"x0", "", "x2"}, {"y0", "y1"});
  loop.attributes.push_back(graph_attr("body", body));
  g.nodes.push_back(loop);
  g.outputs = {value_info("y0", ir::DataType::int64, {}), value_info("y1", ir::DataType::int64, {5})};
  auto out = mhub::test::run_graph_for_test(
      g, 16, {Value::of(int64s({}, {5})), Value::of(int64s({}, {16})), Value::of(int64s({}, {0}))});
  // s after each step: 0^0^16=16, 16^1^16=1, 1^2^16=19, 19^3^16=0, 0^4^16=20
  CHECK(values_of(out[0].tensor) == std::vector<int64_t>{20});
  CHECK(out[1].tensor.dims == std::vector<int64_t>{5});
  CHECK(values_of(out[1].tensor) == std::vector<int64_t>{16, 1, 19, 0, 20});
  // Zero iterations: carried value unchanged, scan output empty with the declared element shape.
  out = mhub::test::run_graph_for_test(
      g, 16, {Value::of(int64s({}, {0})), Value::of(int64s({}, {16})), Value::of(int64s({}, {7}))});
  CHECK(values_of(out[0].tensor) == std::vector<int64_t>{7});
  CHECK(out[1].tensor.dims == std::vector<int64_t>{0});
}

TEST_CASE("engine-misc: Scan walks axis 1 in reverse and writes outputs on axis 1") {
  ir::Graph body;
  body.inputs = {value_info("s", ir::DataType::int64, {2}), value_info("x", ir::DataType::int64, {2})};
  body.nodes.push_back(node_of("BitwiseXor", {"s", "x"}, {"s_out"}));
  body.nodes.push_back(node_of("Identity", {"s_out"}, {"scan"}));
  body.outputs = {value_info("s_out", ir::DataType::int64, {2}), value_info("scan", ir::DataType::int64, {2})};
  ir::Graph g;
  g.inputs = {value_info("x0", ir::DataType::int64, {2}), value_info("x1", ir::DataType::int64, {2, 3})};
  ir::Node scan = node_of("Scan", {"x0", "x1"}, {"y0", "y1"});
  scan.attributes.push_back(graph_attr("body", body));
  scan.attributes.push_back(int_attr("num_scan_inputs", 1));
  ir::Attribute axes;
  axes.name = "scan_input_axes";
  axes.type = ir::AttributeType::ints;
  axes.ints = {1};
  scan.attributes.push_back(axes);
  ir::Attribute dirs = axes;
  dirs.name = "scan_input_directions";
  scan.attributes.push_back(dirs);
  ir::Attribute out_axes = axes;
  out_axes.name = "scan_output_axes";
  scan.attributes.push_back(out_axes);
  g.nodes.push_back(scan);
  g.outputs = {value_info("y0", ir::DataType::int64, {2}), value_info("y1", ir::DataType::int64, {2, 3})};
  auto out = mhub::test::run_graph_for_test(
      g, 16, {Value::of(int64s({2}, {0, 0})), Value::of(int64s({2, 3}, {1, 2, 4, 8, 16, 32}))});
  CHECK(values_of(out[0].tensor) == std::vector<int64_t>{7, 56});
  REQUIRE(out[1].tensor.dims == std::vector<int64_t>{2, 3});
  // Steps visit columns 2,1,0: row 0 states 4, 6, 7; row 1 states 32, 48, 56.
  CHECK(values_of(out[1].tensor) == std::vector<int64_t>{4, 6, 7, 32, 48, 56});
}

TEST_CASE("engine-misc: If runs the branch its condition picks") {
  auto branch = [](int64_t v) {
    ir::Graph b;
    ir::Node c = node_of("Constant", {}, {"out"});
    ir::Attribute a;
    a.name = "value_int";
    a.type = ir::AttributeType::int_;
    a.i = v;
    c.attributes.push_back(a);
    b.nodes.push_back(c);
    b.outputs = {value_info("out", ir::DataType::int64, {})};
    return b;
  };
  ir::Graph g;
  g.inputs = {value_info("x0", ir::DataType::boolean, {})};
  ir::Node n = node_of("If", {"x0"}, {"y0"});
  n.attributes.push_back(graph_attr("then_branch", branch(1)));
  n.attributes.push_back(graph_attr("else_branch", branch(2)));
  g.nodes.push_back(n);
  g.outputs = {value_info("y0", ir::DataType::int64, {})};
  uint8_t yes = 1, no = 0;
  auto out = mhub::test::run_graph_for_test(g, 16, {Value::of(ir::Tensor::from_bytes(ir::DataType::boolean, {}, &yes, 1))});
  CHECK(values_of(out[0].tensor) == std::vector<int64_t>{1});
  out = mhub::test::run_graph_for_test(g, 16, {Value::of(ir::Tensor::from_bytes(ir::DataType::boolean, {}, &no, 1))});
  CHECK(values_of(out[0].tensor) == std::vector<int64_t>{2});
}
}

TEST_SUITE("ops") {
TEST_CASE("engine-misc: random ops give the right shape and type, repeat with a seed, and respect p=0/1") {
  ir::Graph g = one_node("Bernoulli", 1, 1);
  ir::Attribute seed;
  seed.name = "seed";
  seed.type = ir::AttributeType::float_;
  seed.f = 3.0f;
  g.nodes[0].attributes.push_back(seed);
  ir::Tensor p = floats({3, 7}, std::vector<float>(21, 0.5f));
  float* pv = reinterpret_cast<float*>(p.storage->mutable_data());
  pv[0] = 0.0f;
  pv[1] = 1.0f;
  auto a = mhub::test::run_graph_for_test(g, 15, {Value::of(p)});
  auto b = mhub::test::run_graph_for_test(g, 15, {Value::of(p)});
  CHECK(a[0].tensor.dims == std::vector<int64_t>{3, 7});
  CHECK(a[0].tensor.dtype == ir::DataType::float32);
  CHECK_FALSE(mhub::runner::compare_values(b[0], a[0]));
  CHECK(a[0].tensor.data<float>()[0] == 0.0f);
  CHECK(a[0].tensor.data<float>()[1] == 1.0f);
  ir::Graph u = one_node("RandomUniformLike", 1, 1);
  u.nodes[0].attributes.push_back(int_attr("dtype", 11));
  auto r = mhub::test::run_graph_for_test(u, 15, {Value::of(p)});
  CHECK(r[0].tensor.dtype == ir::DataType::float64);
  bool in_range = true;
  for (int i = 0; i < 21; ++i) in_range = in_range && r[0].tensor.data<double>()[i] >= 0.0 && r[0].tensor.data<double>()[i] < 1.0;
  CHECK(in_range);
}
}

TEST_SUITE("ops") {
TEST_CASE("engine-misc: fast float32 reductions match the reference on odd sizes with NaN/Inf") {
  std::vector<int64_t> dims{3, 5, 7, 9};
  std::vector<float> data(3 * 5 * 7 * 9);
  for (size_t i = 0; i < data.size(); ++i) data[i] = static_cast<float>((i * 37) % 101) / 13.0f - 3.0f;
  ir::Tensor x = floats(dims, data);
  ir::Tensor special = floats(dims, data);
  float* sp = reinterpret_cast<float*>(special.storage->mutable_data());
  sp[4] = NAN;
  sp[100] = INFINITY;
  sp[200] = -INFINITY;
  const char* ops[] = {"ReduceSum", "ReduceMean", "ReduceMax", "ReduceMin", "ReduceProd", "ReduceL1",
                       "ReduceL2", "ReduceLogSum", "ReduceLogSumExp", "ReduceSumSquare"};
  std::vector<std::vector<int64_t>> axes_list{{3}, {1, 2}, {0}, {-1, -2}, {0, 1, 2, 3}, {1, 3}};
  for (const char* op : ops)
    for (const auto& axes : axes_list)
      for (int keep = 0; keep < 2; ++keep)
        for (const ir::Tensor* input : {&x, &special}) {
          auto g = one_node(op, 2, 1, {int_attr("keepdims", keep)});
          std::vector<Value> in{Value::of(*input), Value::of(int64s({int64_t(axes.size())}, axes))};
          auto fast = mhub::test::run_graph_for_test(g, 18, in, true);
          auto ref = mhub::test::run_graph_for_test(g, 18, in, false);
          const std::string diff = mhub::runner::compare_values(fast[0], ref[0]).value_or("");
          CHECK_MESSAGE(diff.empty(), op << " axes " << axes.size() << " keepdims " << keep << ": " << diff);
        }
}
}
