// Direct op specs for engine-misc kernels on odd sizes and NaN/Inf inputs (the backend-suite
// cases run in misc_conformance_test.cpp).
#include <doctest/doctest.h>

#include <cmath>
#include <limits>

#include "engine/cpu/scalar_access.h"
#include "tests/ops/mini_runner.h"

namespace {

using mhub::engine::Value;
namespace ir = mhub::ir;

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

ir::Attribute int_attr(const std::string& name, int64_t v) {
  ir::Attribute a;
  a.name = name;
  a.type = ir::AttributeType::int_;
  a.i = v;
  return a;
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
