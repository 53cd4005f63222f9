// The device-neutral op contracts (engine/ops), once for every backend: axis rules, the broadcast
// shape rule, MatMul and Conv geometry, the fused-activation attributes. (The broadcast plan's
// index arithmetic: tests/test_broadcast_plan.cpp.)
#include <doctest/doctest.h>

#include <limits>

#include "common/error.h"
#include "engine/ops/conv_geometry.h"
#include "engine/ops/fused_activation.h"
#include "engine/ops/matmul.h"
#include "engine/ops/shape.h"

using namespace mhub;
namespace ops = mhub::engine::ops;

namespace {

ir::Node node_of(const std::string& op_type, std::vector<ir::Attribute> attributes = {}) {
  ir::Node node;
  node.op_type = op_type;
  node.name = "n";
  node.op = ir::lookup_op("", op_type);
  node.attributes = std::move(attributes);
  return node;
}

}  // namespace

TEST_SUITE("engine_core") {

TEST_CASE("ops: axes are normalised once, with one error naming the node") {
  const ir::Node node = node_of("Concat");
  CHECK(ops::normalize_axis(node, -1, 3) == 2);
  CHECK(ops::normalize_axis(node, 0, 3) == 0);
  CHECK(ops::wrap_axis(-2, 4) == 2);
  CHECK_THROWS_WITH_AS(ops::normalize_axis(node, 3, 3), "Concat 'n': axis 3 is out of range for rank 3", Error);
  CHECK_THROWS_AS(ops::normalize_axis(node, -4, 3), Error);
  CHECK(ops::dims_product({2, 3, 4}, 1, 3) == 12);
  CHECK(ops::dims_product({2, 3, 4}, 2, 9) == 4);
  CHECK(ops::dims_product({}, 0, 0) == 1);
}

TEST_CASE("ops: the numpy broadcast shape rule") {
  std::vector<int64_t> out;
  REQUIRE(ops::broadcast_shapes({{2, 1, 4}, {3, 1}, {}}, out));
  CHECK(out == std::vector<int64_t>{2, 3, 4});
  REQUIRE(ops::broadcast_shapes({{0}, {1}}, out));
  CHECK(out == std::vector<int64_t>{0});
  CHECK_FALSE(ops::broadcast_shapes({{2}, {3}}, out));
  CHECK_THROWS_WITH_AS(ops::broadcast_shapes(node_of("Add"), {{2}, {3}}), "Add 'n': input shapes cannot be broadcast: [2] [3]",
                       Error);
}

TEST_CASE("ops: MatMul plans broadcast batches and promote vectors") {
  const ir::Node node = node_of("MatMul");
  const ops::MatMulPlan p = ops::plan_matmul(node, {2, 1, 3, 4}, {5, 4, 6});
  CHECK(p.m == 3);
  CHECK(p.k == 4);
  CHECK(p.n == 6);
  CHECK(p.out_dims == std::vector<int64_t>{2, 5, 3, 6});
  CHECK(p.a_batch_offsets.size() == 10);
  CHECK(p.b_batch_offsets[1] == 24);
  CHECK(ops::plan_matmul(node, {4}, {4, 6}).out_dims == std::vector<int64_t>{6});
  CHECK_THROWS_AS(ops::plan_matmul(node, {3, 4}, {5, 6}), Error);
}

TEST_CASE("ops: Conv geometry with auto_pad and ceil_mode") {
  ir::Node same = node_of("Conv", {ir::string_attr("auto_pad", "SAME_UPPER"), ir::ints_attr("strides", {2, 2})});
  const ops::ConvGeometry g = ops::conv_geometry(same, {5, 6}, {3, 3}, false);
  CHECK(g.out == std::vector<int64_t>{3, 3});
  CHECK(g.pad_begin == std::vector<int64_t>{1, 0});
  CHECK(g.pad_end == std::vector<int64_t>{1, 1});
  ir::Node pool = node_of("MaxPool", {ir::ints_attr("strides", {2})});
  CHECK(ops::conv_geometry(pool, {6}, {3}, true).out == std::vector<int64_t>{3});
  CHECK(ops::conv_geometry(pool, {6}, {3}, false).out == std::vector<int64_t>{2});
  CHECK_THROWS_AS(ops::conv_geometry(pool, {6, 6}, {3}, false), Error);
}

TEST_CASE("ops: fused activations are written and read in one place") {
  ir::Node gemm = node_of("Gemm");
  CHECK(ops::fused_activation_of(gemm).act == ops::Activation::none);
  for (ops::Activation act : {ops::Activation::relu, ops::Activation::gelu, ops::Activation::gelu_tanh,
                              ops::Activation::sigmoid, ops::Activation::silu, ops::Activation::hard_swish,
                              ops::Activation::tanh}) {
    ops::set_fused_activation(gemm, {act});
    CHECK(ops::fused_activation_of(gemm).act == act);
    CHECK(gemm.attributes.size() == 1);
  }
  ops::set_fused_activation(gemm, {ops::Activation::hard_sigmoid, 0.25f, 0.4f});
  CHECK(ops::fused_activation_of(gemm).alpha == 0.25f);
  CHECK(ops::fused_activation_of(gemm).beta == 0.4f);
  ops::set_fused_activation(gemm, {ops::Activation::leaky_relu, 0.1f});
  CHECK(ops::fused_activation_of(gemm).alpha == 0.1f);
  CHECK(gemm.attributes.size() == 2);
  ops::set_fused_activation(gemm, {ops::Activation::clip, 0.0f, 6.0f});
  const ops::FusedActivation clip = ops::fused_activation_of(gemm);
  CHECK(clip.act == ops::Activation::clip);
  CHECK(clip.alpha == 0.0f);
  CHECK(clip.beta == 6.0f);
  CHECK(gemm.attr_string("mhub_activation", "") == "Clip");
  ops::set_fused_activation(gemm, {});
  CHECK(gemm.attributes.empty());
  gemm.attributes.push_back(ir::string_attr("mhub_activation", "Mish"));
  CHECK_THROWS_AS(ops::fused_activation_of(gemm), Error);
}

}  // TEST_SUITE
