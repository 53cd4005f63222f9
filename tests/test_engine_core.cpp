// Engine core: session planning and execution, buffer reuse, function inlining, input checks,
// and the test-data readers (.npy, SequenceProto) the runner uses.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>

#include "common/atomic_file.h"
#include "common/error.h"
#include "engine/core/buffer_pool.h"
#include "engine/core/float_types.h"
#include "engine/core/session.h"
#include "onnx_io/data_value.h"
#include "engine/ir/npy.h"
#include "engine/devices.h"
#include "onnx_io/onnx_schema.pb.h"
#include "runner/compare.h"
#include "test_support.h"

using namespace mhub;

namespace {

ir::Node node_of(std::string op, std::vector<std::string> inputs, std::vector<std::string> outputs,
                 std::string domain = "") {
  ir::Node node;
  node.op_type = std::move(op);
  node.domain = std::move(domain);
  node.op = ir::lookup_op(node.domain, node.op_type);
  node.name = node.op_type + "_" + outputs.front();
  node.inputs = std::move(inputs);
  node.outputs = std::move(outputs);
  return node;
}

ir::ValueInfo port(const std::string& name, ir::DataType dtype, std::vector<int64_t> dims) {
  ir::Shape shape;
  for (int64_t d : dims) shape.dims.push_back(ir::Dim::of(d));
  return {name, ir::Type::tensor(dtype, shape), {}, {}, 0};
}

ir::Tensor floats(std::vector<float> values, std::string name = {}) {
  return ir::Tensor::from_bytes(ir::DataType::float32, {static_cast<int64_t>(values.size())},
                                values.data(), values.size() * 4, std::move(name));
}

std::vector<float> to_floats(const ir::Tensor& tensor) {
  std::vector<float> out(tensor.numel());
  std::memcpy(out.data(), tensor.bytes(), out.size() * 4);
  return out;
}

// x -> Relu -> a -> Relu -> b -> Relu -> y
ir::Model relu_chain(int64_t length) {
  ir::Model model;
  model.ir_version = 8;
  model.opset_imports = {{"", 17, 0}};
  model.graph.name = "relus";
  model.graph.inputs = {port("x", ir::DataType::float32, {length})};
  model.graph.outputs = {port("y", ir::DataType::float32, {length})};
  model.graph.nodes = {node_of("Relu", {"x"}, {"a"}), node_of("Relu", {"a"}, {"b"}),
                       node_of("Relu", {"b"}, {"y"})};
  return model;
}

}  // namespace

TEST_SUITE("engine_core") {
  TEST_CASE("a session runs nodes in order and returns outputs by position") {
    engine::Session session(relu_chain(5), engine::host_backend());
    float nan = std::numeric_limits<float>::quiet_NaN();
    auto outputs = session.run({{"x", engine::Value::of(floats({-1, 2, nan, -0.5f, 3}))}});
    REQUIRE(outputs.size() == 1);
    auto y = to_floats(outputs[0].tensor);
    CHECK(y[0] == 0);
    CHECK(y[1] == 2);
    CHECK(std::isnan(y[2]));
    CHECK(y[4] == 3);
    CHECK(session.inputs().at(0).name == "x");
    CHECK(session.outputs().at(0).name == "y");
  }

  TEST_CASE("RunHooks: output_ready right after the node producing each graph output, with the value run returns") {
    ir::Model model = relu_chain(3);
    // y, then a (an intermediate value the next node reads too), then x (fed, no node makes it)
    model.graph.outputs.push_back(port("a", ir::DataType::float32, {3}));
    model.graph.outputs.push_back(port("x", ir::DataType::float32, {3}));
    engine::Session session(model, engine::host_backend());
    std::vector<size_t> order;
    std::vector<const void*> bytes(3, nullptr);
    engine::RunHooks hooks;
    hooks.output_ready = [&](size_t index, const engine::Value& value) {
      order.push_back(index);
      bytes.at(index) = value.tensor.bytes();
      if (index == 1) CHECK(to_floats(value.tensor) == std::vector<float>{0, 2, 0});  // final already
    };
    auto outputs = session.run({{"x", engine::Value::of(floats({-1, 2, -3}))}}, hooks);
    CHECK(order == std::vector<size_t>{1, 0});  // a's node runs first; nothing for x
    CHECK(bytes[0] == outputs[0].tensor.bytes());
    CHECK(bytes[1] == outputs[1].tensor.bytes());
    CHECK(to_floats(outputs[0].tensor) == std::vector<float>{0, 2, 0});
    hooks.output_ready = [](size_t, const engine::Value&) { throw Error(ErrorCategory::network, "hook failed"); };
    CHECK_THROWS_WITH_AS(session.run({{"x", engine::Value::of(floats({1, 2, 3}))}}, hooks), "hook failed", Error);
    // The plain run calls nothing and still works after the failed one.
    CHECK(to_floats(session.run({{"x", engine::Value::of(floats({1, -2, 3}))}})[0].tensor) == std::vector<float>{1, 0, 3});
    // node_done after every node, each time after the outputs that node produced.
    std::vector<std::string> events;
    hooks.output_ready = [&](size_t index, const engine::Value&) { events.push_back("output " + std::to_string(index)); };
    hooks.node_done = [&] { events.push_back("node"); };
    session.run({{"x", engine::Value::of(floats({1, 2, 3}))}}, hooks);
    const auto nodes = std::count(events.begin(), events.end(), "node");
    CHECK(nodes >= 2);
    CHECK(nodes <= 3);
    REQUIRE(events.size() == static_cast<size_t>(nodes) + 2);
    CHECK(events.back() == "node");
    for (size_t i = 0; i + 1 < events.size(); ++i)
      if (events[i] != "node") CHECK(events[i + 1] == "node");
    hooks.output_ready = nullptr;
    events.clear();
    session.run({{"x", engine::Value::of(floats({1, 2, 3}))}}, hooks);
    CHECK(std::count(events.begin(), events.end(), "node") == nodes);
  }

  TEST_CASE("steady-state runs allocate no new buffers") {
    engine::Session session(relu_chain(1000), engine::host_backend());
    std::vector<float> data(1000, 1.5f);
    ir::Tensor x = ir::Tensor::from_bytes(ir::DataType::float32, {1000}, data.data(), 4000);
    session.run({{"x", engine::Value::of(x)}});
    auto first = session.stats();
    // Intermediate values die after their last use, so a chain of 3 needs at most 2 live
    // buffers plus the output the caller dropped.
    CHECK(first.buffers <= 3);
    for (int i = 0; i < 5; ++i) session.run({{"x", engine::Value::of(x)}});
    CHECK(session.stats().bytes_created == first.bytes_created);
  }

  TEST_CASE("unsupported ops are all listed when the session is created") {
    ir::Model model = relu_chain(4);
    model.graph.nodes[0] = node_of("Frobnicate", {"x"}, {"a"}, "com.example");
    model.graph.nodes[2] = node_of("Wibble", {"b"}, {"y"}, "com.example");
    try {
      engine::Session session(model, engine::host_backend());
      FAIL("expected an error");
    } catch (const Error& error) {
      CHECK(error.category() == ErrorCategory::unsupported);
      std::string text = error.what();
      CHECK(text.find("Frobnicate") != std::string::npos);
      CHECK(text.find("Wibble") != std::string::npos);
      CHECK(text.find("com.example") != std::string::npos);
    }
    auto ops = engine::unsupported_ops(model, engine::host_backend());
    CHECK(ops.size() == 2);
  }

  TEST_CASE("calls of model-local functions are inlined") {
    ir::Model model = relu_chain(3);
    ir::Function fn;
    fn.name = "DoubleRelu";
    fn.domain = "local";
    fn.inputs = {"in"};
    fn.outputs = {"out"};
    fn.opset_imports = {{"", 17, 0}};
    // internal name "a" collides with a caller value on purpose
    fn.nodes = {node_of("Relu", {"in"}, {"a"}), node_of("Relu", {"a"}, {"out"})};
    model.functions.push_back(fn);
    model.opset_imports.push_back({"local", 1, 0});
    model.graph.nodes = {node_of("Relu", {"x"}, {"a"}), node_of("DoubleRelu", {"a"}, {"y"}, "local")};
    engine::Session session(model, engine::host_backend());
    auto outputs = session.run({{"x", engine::Value::of(floats({-2, 4, 1}))}});
    CHECK(to_floats(outputs[0].tensor) == std::vector<float>{0, 4, 1});
    CHECK(engine::unsupported_ops(model, engine::host_backend()).empty());
  }

  TEST_CASE("inputs are checked by name, type and shape") {
    engine::Session session(relu_chain(3), engine::host_backend());
    auto category_of = [&](std::vector<std::pair<std::string, engine::Value>> inputs) {
      try {
        session.run(inputs);
      } catch (const Error& error) {
        return error.category();
      }
      return ErrorCategory::internal;
    };
    CHECK(category_of({}) == ErrorCategory::usage);
    CHECK(category_of({{"nope", engine::Value::of(floats({1, 2, 3}))}}) == ErrorCategory::usage);
    CHECK(category_of({{"x", engine::Value::of(floats({1, 2}))}}) == ErrorCategory::usage);
    int64_t ints[3] = {1, 2, 3};
    CHECK(category_of({{"x", engine::Value::of(ir::Tensor::from_bytes(ir::DataType::int64, {3}, ints, 24))}}) ==
          ErrorCategory::usage);
  }

  TEST_CASE("nodes that read only initializers are folded at load") {
    ir::Model model = relu_chain(3);
    model.graph.initializers.push_back(floats({-1, 5, 2}, "w"));
    model.graph.nodes.push_back(node_of("Relu", {"w"}, {"w_relu"}));
    model.graph.outputs.push_back(port("w_relu", ir::DataType::float32, {3}));
    engine::SessionOptions options;
    options.verbose = true;
    engine::Session session(model, engine::host_backend(), options);
    CHECK(session.stats().nodes == 3);  // the Relu on "w" ran at load
    auto outputs = session.run({{"x", engine::Value::of(floats({1, 1, 1}))}});
    CHECK(to_floats(outputs[1].tensor) == std::vector<float>{0, 5, 2});
  }

  TEST_CASE("npy files round-trip and bad ones are rejected with the file named") {
    auto dir = test::scratch_dir("npy");
    int64_t values[6] = {1, -2, 3, -4, 5, 1LL << 40};
    ir::Tensor t = ir::Tensor::from_bytes(ir::DataType::int64, {2, 3}, values, sizeof values);
    std::string path = (dir / "a.npy").string();
    ir::write_npy(t, path);
    ir::Tensor back = ir::read_npy(path);
    CHECK(back.dtype == ir::DataType::int64);
    CHECK(back.dims == std::vector<int64_t>{2, 3});
    CHECK(std::memcmp(back.bytes(), values, sizeof values) == 0);
    CHECK(ir::serialize_npy(t).find("\n") % 64 == 63);  // data aligned to 64 bytes

    ir::Tensor scalar = floats({7});
    scalar.dims = {};
    ir::Tensor scalar_back = ir::parse_npy(ir::serialize_npy(scalar), "s.npy");
    CHECK(scalar_back.dims.empty());

    // a version 2 header, bool
    std::string header = "{'descr': '|b1', 'fortran_order': False, 'shape': (3,), }\n";
    std::string v2 = std::string("\x93NUMPY\x02\x00", 8);
    uint32_t len = static_cast<uint32_t>(header.size());
    v2.append(reinterpret_cast<const char*>(&len), 4);
    v2 += header;
    v2 += std::string("\x01\x00\x01", 3);
    ir::Tensor flags = ir::parse_npy(v2, "v2.npy");
    CHECK(flags.dtype == ir::DataType::boolean);
    CHECK(flags.dims == std::vector<int64_t>{3});

    auto error_of = [](std::string bytes) -> std::string {
      try {
        ir::parse_npy(std::move(bytes), "bad.npy");
      } catch (const Error& error) {
        return error.what();
      }
      return "";
    };
    std::string good = ir::serialize_npy(t);
    std::string fortran = good;
    fortran.replace(fortran.find("False"), 5, "True ");
    CHECK(error_of(fortran).find("Fortran") != std::string::npos);
    CHECK(error_of("hello world, not numpy").find("bad.npy") != std::string::npos);
    CHECK(error_of(good.substr(0, good.size() - 3)).find("data bytes") != std::string::npos);
    std::string object = good;
    object.replace(object.find("<i8"), 3, "|O8");
    CHECK(error_of(object).find("not supported") != std::string::npos);
  }

  TEST_CASE("SequenceProto and OptionalProto files become values") {
    auto dir = test::scratch_dir("seq");
    mhub::onnxpb::SequenceProto seq;
    seq.set_elem_type(1);
    for (int k = 0; k < 2; ++k) {
      auto* t = seq.add_tensor_values();
      t->set_data_type(1);
      t->add_dims(2);
      t->add_float_data(k);
      t->add_float_data(k + 0.5f);
    }
    std::string path = (dir / "s.pb").string();
    write_file_atomically(path, seq.SerializeAsString());
    ir::Type type;
    type.kind = ir::Type::Kind::sequence;
    auto value = onnx_io::read_data_file(path, type);
    CHECK(value.kind == onnx_io::DataValue::Kind::sequence);
    CHECK(value.sequence.size() == 2);
    CHECK(value.sequence_elem == ir::DataType::float32);

    mhub::onnxpb::OptionalProto empty;
    write_file_atomically(path, empty.SerializeAsString());
    type.kind = ir::Type::Kind::optional;
    CHECK(onnx_io::read_data_file(path, type).kind == onnx_io::DataValue::Kind::optional_none);

    write_file_atomically(path, std::string("\xff\xff\xff", 3));
    CHECK_THROWS_AS(onnx_io::read_data_file(path, ir::Type{}), Error);
  }

  TEST_CASE("comparison follows the backend suite's tolerance") {
    float nan = std::numeric_limits<float>::quiet_NaN();
    auto v = [](std::vector<float> x) { return engine::Value::of(floats(std::move(x))); };
    CHECK_FALSE(runner::compare_values(v({1, nan, 100}), v({1.0005f, nan, 100.09f})));
    CHECK(runner::compare_values(v({1, 2}), v({1, 2.01f})));
    CHECK(runner::compare_values(v({nan}), v({1})));
    CHECK(runner::compare_values(v({1, 2}), v({1, 2, 3})));
  }

  TEST_CASE("narrow float conversions") {
    CHECK(engine::half_to_float(engine::float_to_half(1.5f)) == 1.5f);
    CHECK(engine::half_to_float(engine::float_to_half(65504.f)) == 65504.f);
    CHECK(std::isinf(engine::half_to_float(engine::float_to_half(1e6f))));
    CHECK(engine::half_to_float(engine::float_to_half(1e-7f)) == doctest::Approx(1.1920929e-7).epsilon(0.01));
    CHECK(engine::bfloat16_to_float(engine::float_to_bfloat16(3.0f)) == 3.0f);
    using ir::DataType;
    CHECK(engine::small_float_to_float(DataType::float8e4m3fn, 0x7e) == 448.f);
    CHECK(engine::float_to_small_float(DataType::float8e4m3fn, 1000.f, true) == 0x7e);
    CHECK(std::isnan(engine::small_float_to_float(DataType::float8e4m3fn,
                                                  engine::float_to_small_float(DataType::float8e4m3fn, 1000.f, false))));
    CHECK(engine::small_float_to_float(DataType::float8e5m2, engine::float_to_small_float(DataType::float8e5m2, -3.0f, true)) == -3.0f);
    CHECK(std::isnan(engine::small_float_to_float(DataType::float8e4m3fnuz, 0x80)));
    CHECK(engine::small_float_to_float(DataType::float4e2m1, engine::float_to_small_float(DataType::float4e2m1, 5.1f, true)) == 6.0f);
    CHECK(engine::small_float_to_float(DataType::float4e2m1, engine::float_to_small_float(DataType::float4e2m1, 2.5f, true)) == 2.0f);
  }
}

TEST_SUITE("engine_core") {
  TEST_CASE("the pool drops buffers the last run did not use; verbose sessions time nodes") {
    engine::SessionOptions options;
    options.verbose = true;
    engine::Session session(relu_chain(1), engine::host_backend());
    engine::Session timed(relu_chain(4096), engine::host_backend(), options);
    std::vector<float> big(4096, 1.0f);
    ir::Tensor x = ir::Tensor::from_bytes(ir::DataType::float32, {4096}, big.data(), big.size() * 4);
    timed.run({{"x", engine::Value::of(x)}});
    auto times = timed.node_times();
    REQUIRE(times.size() == 3);
    CHECK(times[0].calls == 1);
    CHECK(times[0].op == "Relu");
    CHECK(session.node_times().empty());
  }

  TEST_CASE("the pool hands out the smallest free buffer that fits, never a busy one") {
    engine::BufferPool pool;
    auto floats = [&](int64_t n) { return pool.allocate(ir::DataType::float32, {n}); };
    // buffers of 4 KB, 1 KB, 2 KB and 1 KB again, created in that order
    ir::Tensor big = floats(1024), small = floats(256), mid = floats(512), small2 = floats(256);
    const ir::Storage* small_bytes = small.storage.get();
    const ir::Storage* small2_bytes = small2.storage.get();
    const ir::Storage* mid_bytes = mid.storage.get();
    CHECK(pool.buffer_count() == 4);
    big = {}, small = {}, mid = {}, small2 = {};
    pool.end_run();  // every buffer was used in this run: all kept
    CHECK(pool.buffer_count() == 4);
    // 900 bytes: of the two free 1 KB buffers first the one handed out last (its bytes are the
    // warmest), then the other, then 2 KB (within 2x + 256)
    ir::Tensor a = floats(225), b = floats(225), c = floats(225);
    CHECK(a.storage.get() == small2_bytes);
    CHECK(b.storage.get() == small_bytes);
    CHECK(c.storage.get() == mid_bytes);
    // both 1 KB buffers free again: b was handed out after a, so b's comes back first
    a = {}, b = {};
    ir::Tensor again = floats(256);
    CHECK(again.storage.get() == small_bytes);
    again = {};
    a = floats(225), b = floats(225);
    CHECK(a.storage.get() == small_bytes);
    CHECK(b.storage.get() == small2_bytes);
    // 400 bytes: the free 4 KB buffer is more than twice too big, so a new one is made
    ir::Tensor d = floats(100);
    CHECK(pool.buffer_count() == 5);
    CHECK(pool.bytes_created() == 4096 + 1024 + 2048 + 1024 + 448);
    // end_run drops only the buffer nobody used in this run and nobody holds (the 4 KB one)
    pool.end_run();
    CHECK(pool.buffer_count() == 4);
    a = {}, b = {}, c = {}, d = {};
    pool.end_run();
    CHECK(pool.buffer_count() == 0);
  }

  TEST_CASE("memory follows the latest run's shapes") {
    ir::Model model = relu_chain(4);
    model.graph.inputs[0].type->shape->dims[0] = ir::Dim::symbol("n");
    model.graph.outputs[0].type->shape->dims[0] = ir::Dim::symbol("n");
    engine::Session session(model, engine::host_backend());
    auto run_with = [&](int64_t n) {
      std::vector<float> data(static_cast<size_t>(n), 2.0f);
      ir::Tensor x = ir::Tensor::from_bytes(ir::DataType::float32, {n}, data.data(), data.size() * 4);
      session.run({{"x", engine::Value::of(x)}});
    };
    run_with(100000);
    CHECK(session.stats().bytes_held >= 400000);
    run_with(10);
    run_with(10);
    // the 400 KB buffers of the first run are gone; the small run's few remain
    CHECK(session.stats().bytes_held < 1000);
    size_t small_count = session.stats().buffers;
    size_t before = session.stats().bytes_created;
    run_with(10);
    CHECK(session.stats().bytes_created == before);
    CHECK(session.stats().buffers == small_count);
  }
}
