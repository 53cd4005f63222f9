#include <doctest/doctest.h>

#include "common/error.h"
#include "engine/ir/graph.h"

using namespace mhub::ir;

namespace {

Node make_node(std::string op, std::vector<std::string> inputs, std::vector<std::string> outputs) {
  Node node;
  node.op_type = std::move(op);
  node.op = lookup_op("", node.op_type);
  node.name = node.op_type + "_" + outputs.front();
  node.inputs = std::move(inputs);
  node.outputs = std::move(outputs);
  return node;
}

ValueInfo value(std::string name) {
  ValueInfo info;
  info.name = std::move(name);
  info.type = Type::tensor(DataType::float32, Shape{{Dim::symbol("n"), Dim::of(3)}});
  return info;
}

}  // namespace

TEST_SUITE("ir") {
  TEST_CASE("data types follow ONNX numbering and sizes") {
    CHECK(static_cast<int>(DataType::float32) == 1);
    CHECK(static_cast<int>(DataType::bfloat16) == 16);
    CHECK(static_cast<int>(DataType::int4) == 22);
    CHECK(bits_of(DataType::float16) == 16);
    CHECK(bits_of(DataType::int4) == 4);
    CHECK(bits_of(DataType::string) == 0);
    CHECK(storage_bytes(DataType::int4, 3) == 2);
    CHECK(storage_bytes(DataType::uint2, 5) == 2);
    CHECK(storage_bytes(DataType::complex128, 2) == 32);
    CHECK(name_of(DataType::float32) == "float");
    CHECK(parse_data_type("bf16") == DataType::bfloat16);
    CHECK_FALSE(is_known(0));
    CHECK_FALSE(is_known(kMaxDataType + 1));
  }

  TEST_CASE("op table resolves default-domain names and keeps others opaque") {
    CHECK(lookup_op("", "Conv") == OpKind::Conv);
    CHECK(lookup_op("ai.onnx", "Relu") == OpKind::Relu);
    CHECK(lookup_op("com.microsoft", "Conv") == OpKind::opaque);
    CHECK(lookup_op("", "NotAnOp") == OpKind::opaque);
    CHECK(op_name(OpKind::Where) == "Where");
    CHECK(op_first_opset(OpKind::Gelu) == 20);
    // every name in the table finds itself
    for (int index = 0; index < kOpCount; ++index) {
      auto op = static_cast<OpKind>(index);
      CHECK(lookup_op("", op_name(op)) == op);
    }
  }

  TEST_CASE("element_count rejects negative and overflowing shapes") {
    CHECK(element_count({2, 3, 4}) == 24);
    CHECK(element_count({}) == 1);
    CHECK(element_count({5, 0}) == 0);
    CHECK_THROWS_AS(element_count({-1}), mhub::Error);
    CHECK_THROWS_AS(element_count({1LL << 40, 1LL << 40}), mhub::Error);
  }

  TEST_CASE("tensor storage: owned, zeros and read-only views") {
    float values[3] = {1, 2, 3};
    Tensor tensor = Tensor::from_bytes(DataType::float32, {3}, values, sizeof values, "w");
    CHECK(tensor.data<float>()[2] == 3.0f);
    CHECK(tensor.byte_size() == 12);
    auto owner = std::make_shared<int>(0);
    auto view = Storage::view(owner, tensor.bytes(), 12);
    CHECK(view->is_view());
    CHECK_THROWS_AS(view->mutable_data(), mhub::Error);
  }

  TEST_CASE("topological order, unused removal and renaming") {
    Graph graph;
    graph.name = "g";
    graph.inputs = {value("x")};
    graph.outputs = {value("y")};
    // out of order on purpose: y needs a, a needs x
    graph.nodes.push_back(make_node("Relu", {"a"}, {"y"}));
    graph.nodes.push_back(make_node("Neg", {"x"}, {"a"}));
    graph.nodes.push_back(make_node("Abs", {"x"}, {"dead"}));
    graph.initializers.push_back(Tensor::zeros(DataType::float32, {1}, "unused_weight"));
    auto order = graph.topological_order();
    REQUIRE(order.size() == 3);
    CHECK(order[0] == 1);
    CHECK(std::find(order.begin(), order.end(), 0) > std::find(order.begin(), order.end(), 1));

    CHECK(graph.remove_unused() == 1);
    CHECK(graph.nodes.size() == 2);
    CHECK(graph.initializers.empty());

    graph.sort_topologically();
    CHECK(graph.nodes[0].op_type == "Neg");
    graph.rename_value("a", "hidden");
    CHECK(graph.nodes[0].outputs[0] == "hidden");
    CHECK(graph.nodes[1].inputs[0] == "hidden");

    Node replacement = make_node("Sigmoid", {"hidden"}, {"y"});
    graph.replace_node(1, replacement);
    CHECK(graph.nodes[1].op == OpKind::Sigmoid);
    CHECK_THROWS_AS(graph.replace_node(7, replacement), mhub::Error);
  }

  TEST_CASE("cycles are reported, subgraph outer-scope reads keep producers alive") {
    Graph graph;
    graph.name = "cyclic";
    graph.nodes.push_back(make_node("Neg", {"b"}, {"a"}));
    graph.nodes.push_back(make_node("Neg", {"a"}, {"b"}));
    CHECK_THROWS_AS(graph.topological_order(), mhub::Error);

    Graph outer;
    outer.inputs = {value("x"), value("cond")};
    outer.outputs = {value("y")};
    outer.nodes.push_back(make_node("Neg", {"x"}, {"captured"}));
    auto body = std::make_shared<Graph>();
    body->outputs = {value("z")};
    body->nodes.push_back(make_node("Identity", {"captured"}, {"z"}));
    Node branch = make_node("If", {"cond"}, {"y"});
    Attribute then_branch;
    then_branch.name = "then_branch";
    then_branch.type = AttributeType::graph;
    then_branch.g = body;
    branch.attributes.push_back(then_branch);
    outer.nodes.insert(outer.nodes.begin(), branch);  // consumer first
    CHECK(body->outer_scope_names() == std::vector<std::string>{"captured"});
    auto order = outer.topological_order();
    CHECK(order == std::vector<size_t>{1, 0});
    CHECK(outer.remove_unused() == 0);
    outer.rename_value("captured", "c2");
    CHECK(body->nodes[0].inputs[0] == "c2");
  }
}
