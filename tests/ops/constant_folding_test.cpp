// Load-time constant folding through static shapes (engine/core/passes/static_facts.h and the
// session's fold_constants): subgraphs computed from a value's known dims and constants become
// initializers, folded and unfolded sessions give identical outputs, values that depend on a
// symbolic dim stay run-time nodes, and folding a small input into a large constant is refused.
#include <doctest/doctest.h>

#include <cstring>

#include "engine/core/passes/static_facts.h"
#include "engine/core/session.h"
#include "engine/devices.h"
#include "tests/model_builder.h"

using namespace mhub;
using engine::passes::KnownInt;
using engine::passes::StaticFacts;

namespace folding_test {

ir::Attribute float_tensor_attr(const std::string& name, float value) {
  ir::Attribute a;
  a.name = name;
  a.type = ir::AttributeType::tensor;
  a.t = std::make_shared<ir::Tensor>(ir::Tensor::from_bytes(ir::DataType::float32, {1}, &value, 4));
  return a;
}

ir::Tensor int64s(std::vector<int64_t> values, const std::string& name, bool scalar = false) {
  std::vector<int64_t> dims;
  if (!scalar) dims.push_back(static_cast<int64_t>(values.size()));
  return ir::Tensor::from_bytes(ir::DataType::int64, dims, values.data(), values.size() * 8, name);
}

ir::ValueInfo float_input_dims(const std::string& name, std::vector<ir::Dim> dims) {
  ir::ValueInfo info;
  info.name = name;
  info.type = ir::Type::tensor(ir::DataType::float32, ir::Shape{std::move(dims)});
  return info;
}

ir::ValueInfo untyped_output(const std::string& name) {
  ir::ValueInfo info;
  info.name = name;
  return info;
}

// x [batch, 4, h, 5] (h symbolic when `h` < 0). The exporter-style mask: ConstantOfShape of
// [H, W] read from Shape(x), scaled by a constant row, added to x; then x reshaped to
// [batch, -1] with the batch read from Shape(x) too.
ir::Model shape_built_mask(int64_t h) {
  using test::make_node;
  ir::Model model;
  model.ir_version = 8;
  model.opset_imports = {{"", 17}};
  model.graph.name = "mask";
  model.graph.inputs = {float_input_dims("x", {ir::Dim::symbol("batch"), ir::Dim::of(4),
                                          h < 0 ? ir::Dim::symbol("h") : ir::Dim::of(h), ir::Dim::of(5)})};
  model.graph.outputs = {untyped_output("y"), untyped_output("z")};
  std::vector<float> row{1, -2, 3, -4, 5};
  model.graph.initializers = {int64s({0}, "i0", true), int64s({2}, "i2", true), int64s({3}, "i3", true),
                              int64s({0}, "axes0"), int64s({-1}, "minus_one"),
                              ir::Tensor::from_bytes(ir::DataType::float32, {5}, row.data(), 20, "row")};
  auto& n = model.graph.nodes;
  n.push_back(make_node("Shape", {"x"}, "s"));
  n.push_back(make_node("Gather", {"s", "i2"}, "h"));
  n.push_back(make_node("Gather", {"s", "i3"}, "w"));
  n.push_back(make_node("Unsqueeze", {"h", "axes0"}, "h1"));
  n.push_back(make_node("Unsqueeze", {"w", "axes0"}, "w1"));
  n.push_back(make_node("Concat", {"h1", "w1"}, "hw", {ir::int_attr("axis", 0)}));
  n.push_back(make_node("ConstantOfShape", {"hw"}, "ones", {float_tensor_attr("value", 0.5f)}));
  n.push_back(make_node("Mul", {"ones", "row"}, "mask"));
  n.push_back(make_node("Add", {"x", "mask"}, "y"));
  n.push_back(make_node("Gather", {"s", "i0"}, "b"));
  n.push_back(make_node("Unsqueeze", {"b", "axes0"}, "b1"));
  n.push_back(make_node("Concat", {"b1", "minus_one"}, "target", {ir::int_attr("axis", 0)}));
  n.push_back(make_node("Reshape", {"y", "target"}, "z"));
  return model;
}

ir::Tensor mask_input(int64_t batch, int64_t h) {
  std::vector<float> values(static_cast<size_t>(batch * 4 * h * 5));
  for (size_t i = 0; i < values.size(); ++i) values[i] = static_cast<float>(i % 13) * 0.25f - 1.0f;
  return ir::Tensor::from_bytes(ir::DataType::float32, {batch, 4, h, 5}, values.data(), values.size() * 4);
}

bool same_tensor(const ir::Tensor& a, const ir::Tensor& b) {
  return a.dtype == b.dtype && a.dims == b.dims && a.byte_size() == b.byte_size() &&
         std::memcmp(a.bytes(), b.bytes(), a.byte_size()) == 0;
}

TEST_SUITE("ops") {
  TEST_CASE("constant folding: a mask built from static dims folds, the batch-dependent reshape stays") {
    ir::Model model = shape_built_mask(6);
    engine::SessionOptions unfolded_options;
    unfolded_options.fold_constants = false;
    engine::Session folded(model, engine::host_backend());
    engine::Session unfolded(model, engine::host_backend(), unfolded_options);
    // Left: Shape, Gather(batch), Unsqueeze, Concat, Add, Reshape.
    CHECK(folded.stats().nodes == 6);
    CHECK(unfolded.stats().nodes == model.graph.nodes.size());
    for (int64_t batch : {1, 3}) {
      auto a = folded.run({{"x", engine::Value::of(mask_input(batch, 6))}});
      auto b = unfolded.run({{"x", engine::Value::of(mask_input(batch, 6))}});
      REQUIRE(a.size() == 2);
      CHECK(same_tensor(a[0].tensor, b[0].tensor));
      CHECK(same_tensor(a[1].tensor, b[1].tensor));
      CHECK(a[1].tensor.dims == std::vector<int64_t>{batch, 4 * 6 * 5});
    }
  }

  TEST_CASE("constant folding: values read from a symbolic dim stay run-time nodes") {
    ir::Model model = shape_built_mask(-1);
    engine::Session session(model, engine::host_backend());
    // Only Gather(w), Unsqueeze(w) read a declared dim; everything after Concat needs h.
    CHECK(session.stats().nodes == model.graph.nodes.size() - 2);
    auto out = session.run({{"x", engine::Value::of(mask_input(2, 3))}});
    CHECK(out[1].tensor.dims == std::vector<int64_t>{2, 60});
  }

  TEST_CASE("constant folding: a small input is not folded into a large constant") {
    using test::make_node;
    for (int64_t side : {16, 1024}) {  // 1 KiB folds; 4 MiB from 16 bytes stays a node
      ir::Model model;
      model.ir_version = 8;
      model.opset_imports = {{"", 17}};
      model.graph.initializers = {int64s({side, side}, "shape")};
      model.graph.nodes = {make_node("ConstantOfShape", {"shape"}, "big", {float_tensor_attr("value", 1.f)}),
                           make_node("ReduceSum", {"big"}, "sum")};
      model.graph.outputs = {untyped_output("sum")};
      engine::Session session(model, engine::host_backend());
      CHECK(session.stats().nodes == (side == 16 ? 0u : 2u));
      auto out = session.run({});
      CHECK(out[0].tensor.data<float>()[0] == static_cast<float>(side * side));
    }
  }

  TEST_CASE("constant folding: an input's declared dims count only when its initializer default has them") {
    using test::make_node;
    ir::Model model;
    model.ir_version = 8;
    model.opset_imports = {{"", 17}};
    model.graph.inputs = {float_input_dims("x", {ir::Dim::of(3)})};
    std::vector<float> four{1, 2, 3, 4};
    model.graph.initializers = {ir::Tensor::from_bytes(ir::DataType::float32, {4}, four.data(), 16, "x")};
    model.graph.nodes = {make_node("Shape", {"x"}, "s")};
    model.graph.outputs = {untyped_output("s")};
    engine::Session session(model, engine::host_backend());
    auto out = session.run({});  // the default runs unchecked: its own dims
    CHECK(out[0].tensor.data<int64_t>()[0] == 4);
  }

  TEST_CASE("static facts: partial shapes through Reshape, Slice, Transpose, MatMul and broadcasting") {
    using test::make_node;
    auto dims_of = [](std::vector<KnownInt> dims) {
      StaticFacts f;
      f.rank_known = true;
      f.dims = std::move(dims);
      f.dtype = ir::DataType::float32;
      return f;
    };
    const KnownInt unknown;
    StaticFacts x = dims_of({unknown, 56, 56, 96});
    // Shape(x) sliced to [56, 56]: known elements, so a constant.
    ir::Node shape = make_node("Shape", {"x"}, "s");
    StaticFacts s = engine::passes::infer_static_facts(shape, std::span(&x, 1), 17)[0];
    CHECK(s.has_elements);
    CHECK_FALSE(s.fully_known());
    StaticFacts slice_in[] = {s, StaticFacts::of_tensor(int64s({1}, "")), StaticFacts::of_tensor(int64s({3}, ""))};
    StaticFacts hw = engine::passes::infer_static_facts(make_node("Slice", {"s", "a", "b"}, "hw"), slice_in, 17)[0];
    REQUIRE(hw.fully_known());
    CHECK(hw.to_tensor().data<int64_t>()[1] == 56);
    // Reshape to [?, 8, 7, 8, 7, 96] from partial elements; -1 stays unknown with the batch unknown.
    StaticFacts target;
    target.rank_known = true;
    target.dims = {6};
    target.dtype = ir::DataType::int64;
    target.has_elements = true;
    target.elements = {unknown, 8, 7, 8, 7, -1};
    StaticFacts reshape_in[] = {x, target};
    StaticFacts r = engine::passes::infer_static_facts(make_node("Reshape", {"x", "t"}, "r"), reshape_in, 17)[0];
    CHECK(r.dims == std::vector<KnownInt>{unknown, 8, 7, 8, 7, unknown});
    target.elements = {0, 8, 7, 8, 7, 96};
    StaticFacts reshape_zero[] = {x, target};
    r = engine::passes::infer_static_facts(make_node("Reshape", {"x", "t"}, "r"), reshape_zero, 17)[0];
    CHECK(r.dims == std::vector<KnownInt>{unknown, 8, 7, 8, 7, 96});
    // Slice with a negative step on a known axis.
    StaticFacts neg_in[] = {x, StaticFacts::of_tensor(int64s({-1}, "")), StaticFacts::of_tensor(int64s({-100}, "")),
                            StaticFacts::of_tensor(int64s({2}, "")), StaticFacts::of_tensor(int64s({-3}, ""))};
    CHECK(engine::passes::infer_static_facts(make_node("Slice", {"x", "a", "b", "c", "d"}, "y"), neg_in, 17)[0].dims ==
          std::vector<KnownInt>{unknown, 56, 19, 96});
    // A negative step from a start before the axis: one element (ONNX clamps the start to 0).
    StaticFacts before_in[] = {x, StaticFacts::of_tensor(int64s({-100}, "")), StaticFacts::of_tensor(int64s({-200}, "")),
                               StaticFacts::of_tensor(int64s({2}, "")), StaticFacts::of_tensor(int64s({-1}, ""))};
    CHECK(engine::passes::infer_static_facts(make_node("Slice", {"x", "a", "b", "c", "d"}, "y"), before_in, 17)[0].dims ==
          std::vector<KnownInt>{unknown, 56, 1, 96});
    // Transpose, MatMul with broadcast batch dims, and Add broadcasting against an unknown dim.
    ir::Attribute perm = ir::ints_attr("perm", {0, 3, 1, 2});
    StaticFacts t = engine::passes::infer_static_facts(make_node("Transpose", {"x"}, "t", {perm}), std::span(&x, 1), 17)[0];
    CHECK(t.dims == std::vector<KnownInt>{unknown, 96, 56, 56});
    StaticFacts mm_in[] = {dims_of({unknown, 3, 49, 32}), dims_of({32, 49})};
    CHECK(engine::passes::infer_static_facts(make_node("MatMul", {"a", "b"}, "m"), mm_in, 17)[0].dims ==
          std::vector<KnownInt>{unknown, 3, 49, 49});
    StaticFacts add_in[] = {dims_of({unknown, 1, 49}), dims_of({64, unknown, 1})};
    CHECK(engine::passes::infer_static_facts(make_node("Add", {"a", "b"}, "c"), add_in, 17)[0].dims ==
          std::vector<KnownInt>{64, unknown, 49});
    // Pad's axes input exists from opset 18 on; before that the kernel pads every axis.
    StaticFacts pad_in[] = {dims_of({unknown, 4, 5}), StaticFacts::of_tensor(int64s({0, 1, 2, 0, 1, 2}, "")), StaticFacts{},
                            StaticFacts::of_tensor(int64s({1}, ""))};
    CHECK(engine::passes::infer_static_facts(make_node("Pad", {"x", "p", "", "a"}, "y"), pad_in, 17)[0].dims ==
          std::vector<KnownInt>{unknown, 6, 9});
    // Pooling: N and C kept, the spatial dims from the geometry (ceil_mode rounds up), an unknown
    // spatial dim leaves every spatial dim unknown.
    StaticFacts pool_in = dims_of({unknown, 24, 112, 111});
    CHECK(engine::passes::infer_static_facts(
              make_node("MaxPool", {"x"}, "y",
                        {ir::ints_attr("kernel_shape", {3, 3}), ir::ints_attr("strides", {2, 2}), ir::ints_attr("pads", {1, 1, 1, 1})}),
              std::span(&pool_in, 1), 17)[0]
              .dims == std::vector<KnownInt>{unknown, 24, 56, 56});
    CHECK(engine::passes::infer_static_facts(
              make_node("AveragePool", {"x"}, "y",
                        {ir::ints_attr("kernel_shape", {3, 3}), ir::ints_attr("strides", {2, 2}), ir::int_attr("ceil_mode", 1)}),
              std::span(&pool_in, 1), 17)[0]
              .dims == std::vector<KnownInt>{unknown, 24, 56, 55});
    StaticFacts pool_unknown = dims_of({unknown, 24, unknown, 111});
    CHECK(engine::passes::infer_static_facts(make_node("MaxPool", {"x"}, "y", {ir::ints_attr("kernel_shape", {2, 2})}),
                                             std::span(&pool_unknown, 1), 17)[0]
              .dims == std::vector<KnownInt>{unknown, 24, unknown, unknown});
    // An op without a rule: rank unknown.
    CHECK_FALSE(engine::passes::infer_static_facts(make_node("TopK", {"x", "k"}, "v"), std::span(&x, 1), 17)[0].rank_known);
  }
}

}  // namespace folding_test
