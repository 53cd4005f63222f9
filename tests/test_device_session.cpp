// Sessions with a preferred device backend: placement, CPU fallback, where values cross devices
// and how often. The device here is a test backend whose memory is host memory tagged as
// another device (tests/test_device.h), so every rule the CUDA backend relies on is checked on
// machines without GPUs.
#include <doctest/doctest.h>

#include <cstring>

#include "engine/core/session.h"
#include "engine/devices.h"
#include "tests/test_device.h"

using namespace mhub;

namespace {

using test::TestDevice;
using test::kTestDevice;

ir::Node dev_node(std::string op, std::vector<std::string> inputs, std::vector<std::string> outputs) {
  ir::Node node;
  node.op_type = std::move(op);
  node.op = ir::lookup_op("", node.op_type);
  node.name = node.op_type + "_" + outputs.front();
  node.inputs = std::move(inputs);
  node.outputs = std::move(outputs);
  return node;
}

ir::ValueInfo dev_port(const std::string& name, std::vector<int64_t> dims) {
  ir::Shape shape;
  for (int64_t d : dims) shape.dims.push_back(ir::Dim::of(d));
  return {name, ir::Type::tensor(ir::DataType::float32, shape), {}, {}, 0};
}

// r = Relu(x); a = Add(r, W); b = Reshape(a, [6]); c = Softmax(b) (CPU only); d = Add(c, c).
// Outputs a (made on the device) and d.
ir::Model mixed_model() {
  ir::Model model;
  model.ir_version = 8;
  model.opset_imports = {{"", 17, 0}};
  model.graph.name = "mixed";
  model.graph.inputs = {dev_port("x", {2, 3})};
  model.graph.outputs = {dev_port("a", {2, 3}), dev_port("d", {6})};
  std::vector<float> w = {0.5f, -1.0f, 2.0f, 0.25f, -0.75f, 1.5f};
  model.graph.initializers.push_back(ir::Tensor::from_bytes(ir::DataType::float32, {2, 3}, w.data(), 24, "W"));
  int64_t six = 6;
  model.graph.initializers.push_back(ir::Tensor::from_bytes(ir::DataType::int64, {1}, &six, 8, "S"));
  model.graph.nodes = {dev_node("Relu", {"x"}, {"r"}), dev_node("Add", {"r", "W"}, {"a"}),
                       dev_node("Reshape", {"a", "S"}, {"b"}), dev_node("Softmax", {"b"}, {"c"}),
                       dev_node("Add", {"c", "c"}, {"d"})};
  return model;
}

std::vector<float> dev_floats(const engine::Value& value) {
  REQUIRE(value.is_tensor());
  REQUIRE(value.tensor.storage);
  CHECK(value.tensor.storage->on_host());
  const float* data = value.tensor.data<float>();
  return std::vector<float>(data, data + value.tensor.numel());
}

}  // namespace

TEST_SUITE("engine_core") {

TEST_CASE("a session's host backend must keep its tensors in host memory") {
  // The core knows no backend by name: the caller hands it the host backend, and one whose
  // tensors live elsewhere (here the test device) is refused before anything is placed.
  TestDevice device;
  CHECK_THROWS_WITH_AS(engine::Session(mixed_model(), device), doctest::Contains("must keep its tensors in host memory"),
                       Error);
  engine::Session session(mixed_model(), engine::host_backend());
  CHECK(session.outputs().size() == 2);
}

TEST_CASE("a device session places nodes, moves values only where needed and matches the CPU") {
  std::vector<float> x = {-1.0f, 2.0f, -3.0f, 4.0f, 0.5f, -0.5f};
  auto feed = [&] {
    return std::vector<std::pair<std::string, engine::Value>>{
        {"x", engine::Value::of(ir::Tensor::from_bytes(ir::DataType::float32, {2, 3}, x.data(), 24))}};
  };
  engine::Session cpu_session(mixed_model(), engine::host_backend());
  auto expected = cpu_session.run(feed());

  TestDevice device;
  engine::SessionOptions options;
  options.preferred_backend = &device;
  options.verbose = true;
  engine::Session session(mixed_model(), engine::host_backend(), options);
  std::string placement;
  for (const std::string& line : session.log()) placement += line + "\n";
  CHECK(placement.find("test  Relu") != std::string::npos);
  CHECK(placement.find("test  Reshape") != std::string::npos);
  CHECK(placement.find("cpu  Softmax") != std::string::npos);

  auto first = session.run(feed());
  REQUIRE(first.size() == 2);
  CHECK(dev_floats(first[0]) == dev_floats(expected[0]));
  CHECK(dev_floats(first[1]) == dev_floats(expected[1]));
  // Up: x, W (once per session), c (one copy shared by both inputs of the last Add).
  // Down: a (graph output), b (for the CPU's Softmax), d (graph output). S stays on the host.
  auto after_first = session.stats();
  CHECK(after_first.copies_to_device == 3);
  CHECK(after_first.copies_to_host == 3);

  auto second = session.run(feed());
  CHECK(dev_floats(second[1]) == dev_floats(expected[1]));
  auto after_second = session.stats();
  CHECK(after_second.copies_to_device - after_first.copies_to_device == 2);  // W is not sent again
  CHECK(after_second.copies_to_host - after_first.copies_to_host == 3);

  // The device's pool reaches a steady state like the host's.
  size_t created = session.stats().bytes_created;
  session.run(feed());
  CHECK(session.stats().bytes_created == created);
}

TEST_CASE("a node the device has the op for but not the input types runs on the CPU") {
  ir::Model model;
  model.ir_version = 8;
  model.opset_imports = {{"", 17, 0}};
  model.graph.name = "ints";
  ir::Shape shape;
  shape.dims.push_back(ir::Dim::of(3));
  model.graph.inputs = {{"x", ir::Type::tensor(ir::DataType::int64, shape), {}, {}, 0}};
  model.graph.outputs = {{"y", ir::Type::tensor(ir::DataType::int64, shape), {}, {}, 0}};
  model.graph.nodes = {dev_node("Add", {"x", "x"}, {"y"})};
  TestDevice device;
  engine::SessionOptions options;
  options.preferred_backend = &device;
  engine::Session session(model, engine::host_backend(), options);
  std::vector<int64_t> x = {1, -2, 3};
  auto out = session.run({{"x", engine::Value::of(ir::Tensor::from_bytes(ir::DataType::int64, {3}, x.data(), 24))}});
  REQUIRE(out[0].is_tensor());
  CHECK(out[0].tensor.storage->on_host());
  CHECK(out[0].tensor.data<int64_t>()[1] == -4);
  CHECK(session.stats().copies_to_device == 0);
  CHECK(device.allocations == 0);
}

TEST_CASE("dims-only ops (the CPU's view kernels) keep device values on the device") {
  // y = Relu(Unsqueeze(Flatten(Relu(x)), axes [0])): one copy up (x), one down (y).
  ir::Model model;
  model.ir_version = 8;
  model.opset_imports = {{"", 17, 0}};
  model.graph.name = "views";
  model.graph.inputs = {dev_port("x", {2, 3, 2})};
  model.graph.outputs = {dev_port("y", {1, 2, 6})};
  int64_t zero = 0;
  model.graph.initializers.push_back(ir::Tensor::from_bytes(ir::DataType::int64, {1}, &zero, 8, "axes"));
  model.graph.nodes = {dev_node("Relu", {"x"}, {"r"}), dev_node("Flatten", {"r"}, {"f"}),
                       dev_node("Unsqueeze", {"f", "axes"}, {"u"}), dev_node("Relu", {"u"}, {"y"})};
  std::vector<float> x = {-1, 2, -3, 4, 5, -6, 7, -8, 9, 10, -11, 12};
  auto feed = [&] {
    return std::vector<std::pair<std::string, engine::Value>>{
        {"x", engine::Value::of(ir::Tensor::from_bytes(ir::DataType::float32, {2, 3, 2}, x.data(), x.size() * 4))}};
  };
  engine::Session cpu_session(model, engine::host_backend());
  TestDevice device;
  engine::SessionOptions options;
  options.preferred_backend = &device;
  engine::Session session(model, engine::host_backend(), options);
  auto out = session.run(feed());
  CHECK(out[0].tensor.dims == std::vector<int64_t>{1, 2, 6});
  CHECK(dev_floats(out[0]) == dev_floats(cpu_session.run(feed())[0]));
  CHECK(session.stats().copies_to_device == 1);
  CHECK(session.stats().copies_to_host == 1);
}

TEST_CASE("without a preferred backend nothing crosses devices") {
  engine::Session session(mixed_model(), engine::host_backend());
  std::vector<float> x(6, 1.0f);
  session.run({{"x", engine::Value::of(ir::Tensor::from_bytes(ir::DataType::float32, {2, 3}, x.data(), 24))}});
  CHECK(session.stats().copies_to_device == 0);
  CHECK(session.stats().copies_to_host == 0);
}

// A device that runs MatMul and Softmax (with the CPU's kernels: its memory is host memory) but
// not the internal FusedAttention.
class MatMulDevice final : public engine::Backend {
 public:
  std::string_view name() const override { return "test-matmul"; }
  ir::Device device() const override { return kTestDevice; }
  bool has_op(const ir::Node& node) const override {
    return node.op == ir::OpKind::MatMul || node.op == ir::OpKind::Softmax;
  }
  const engine::KernelDef* find_kernel(const ir::Node& node, std::span<const ir::DataType> types,
                                       bool allow_fast) const override {
    return has_op(node) ? engine::find_kernel(engine::cpu::cpu_kernel_table(), node, types, allow_fast) : nullptr;
  }
  std::shared_ptr<ir::Storage> allocate_storage(size_t bytes) const override {
    auto memory = std::make_shared<std::vector<uint8_t>>(bytes);
    return ir::Storage::device_buffer(memory, memory->data(), bytes, kTestDevice);
  }
  ir::Tensor copy_to_host(const ir::Tensor& tensor) const override {
    return ir::Tensor::from_bytes(tensor.dtype, tensor.dims, tensor.bytes(), tensor.byte_size(), tensor.name);
  }
  ir::Tensor copy_from_host(const ir::Tensor& tensor) const override {
    ir::Tensor moved = tensor;
    moved.offset = 0;
    moved.storage = allocate_storage(tensor.byte_size());
    std::memcpy(moved.storage->mutable_data(), tensor.bytes(), tensor.byte_size());
    return moved;
  }
};

// O = MatMul(Softmax(MatMul(Q, K), axis -1), V): the attention fusion's pattern.
ir::Model attention_model() {
  ir::Model model;
  model.ir_version = 8;
  model.opset_imports = {{"", 17, 0}};
  model.graph.name = "attention";
  model.graph.inputs = {dev_port("q", {1, 2, 4}), dev_port("k", {1, 4, 3}), dev_port("v", {1, 3, 2})};
  model.graph.outputs = {dev_port("o", {1, 2, 2})};
  ir::Node softmax = dev_node("Softmax", {"s"}, {"p"});
  softmax.attributes.push_back(ir::int_attr("axis", -1));
  model.graph.nodes = {dev_node("MatMul", {"q", "k"}, {"s"}), softmax, dev_node("MatMul", {"p", "v"}, {"o"})};
  return model;
}

std::vector<std::string> labels_of(const engine::Session& session) {
  std::vector<std::string> placed;
  for (const std::string& line : session.log())
    if (line.find("  ") != std::string::npos) placed.push_back(line);
  return placed;
}

TEST_CASE("load-time passes rewrite a pattern only into ops the placing backend runs") {
  engine::SessionOptions cpu_only;
  cpu_only.verbose = true;
  engine::Session on_cpu(attention_model(), engine::host_backend(), cpu_only);
  const auto cpu_steps = labels_of(on_cpu);
  REQUIRE(cpu_steps.size() == 1);  // the CPU runs FusedAttention: one fused node
  CHECK(cpu_steps[0].find("FusedAttention") != std::string::npos);

  static const MatMulDevice device;
  engine::SessionOptions on_device_options;
  on_device_options.verbose = true;
  on_device_options.preferred_backend = &device;
  engine::Session on_device(attention_model(), engine::host_backend(), on_device_options);
  const auto device_steps = labels_of(on_device);
  REQUIRE(device_steps.size() == 3);  // left unfused: the device has no FusedAttention
  for (const std::string& step : device_steps) CHECK(step.rfind("test-matmul  ", 0) == 0);

  std::vector<float> q = {1, 0, 2, -1, 0.5f, 1, -2, 0}, k(12), v = {1, 2, 3, 4, 5, 6};
  for (size_t i = 0; i < k.size(); ++i) k[i] = 0.25f * static_cast<float>(i) - 1.0f;
  const std::vector<std::pair<std::string, engine::Value>> feeds = {
      {"q", engine::Value::of(ir::Tensor::from_bytes(ir::DataType::float32, {1, 2, 4}, q.data(), 32))},
      {"k", engine::Value::of(ir::Tensor::from_bytes(ir::DataType::float32, {1, 4, 3}, k.data(), 48))},
      {"v", engine::Value::of(ir::Tensor::from_bytes(ir::DataType::float32, {1, 3, 2}, v.data(), 24))}};
  const ir::Tensor fused = on_cpu.run(feeds).at(0).tensor;
  const ir::Tensor unfused = on_device.run(feeds).at(0).tensor;
  REQUIRE(fused.numel() == 4);
  REQUIRE(unfused.numel() == 4);
  for (size_t i = 0; i < 4; ++i) CHECK(unfused.data<float>()[i] == doctest::Approx(fused.data<float>()[i]).epsilon(1e-5));
}

}  // TEST_SUITE
