// float16 / bfloat16 conversion: element rounding, graph rewriting, range checks, error hook.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <map>
#include <set>

#include "common/error.h"
#include "onnx_io/fp16.h"
#include "onnx_io/model_io.h"
#include "onnx_io/onnx_tools.h"
#include "onnx_io/ort_cpu_kernels.h"
#include "tests/format_test_support.h"
#include "tests/model_builder.h"
#include "tests/test_support.h"

using namespace mhub;
using mhub::test::format_fixture;

namespace {

size_t count_ops(const ir::Model& model, const std::string& op) {
  size_t count = 0;
  for (const auto& node : model.graph.nodes) count += node.op_type == op;
  return count;
}

// Saves `model` and runs libonnx's checker and shape inference on the file.
void check_with_libonnx(const ir::Model& model, const std::string& scratch) {
  auto dir = mhub::test::scratch_dir(scratch);
  onnx_io::save_model(model, dir / "model.onnx");
  auto check = onnx_io::check_model_file(dir / "model.onnx");
  INFO(check.checker_message << " / " << check.shapes_message);
  CHECK(check.checker_passed);
  CHECK(check.shapes_passed);
}

}  // namespace

TEST_SUITE("formats") {

TEST_CASE("float16 rounding: known values and every half value round-trips") {
  CHECK(onnx_io::float_to_half(1.0f) == 0x3C00);
  CHECK(onnx_io::float_to_half(-2.0f) == 0xC000);
  CHECK(onnx_io::float_to_half(0.1f) == 0x2E66);
  CHECK(onnx_io::float_to_half(65504.0f) == 0x7BFF);
  CHECK(onnx_io::float_to_half(65519.0f) == 0x7BFF);
  CHECK(onnx_io::float_to_half(65520.0f) == 0x7C00);                  // rounds to inf
  CHECK(onnx_io::float_to_half(std::ldexp(1.0f, -24)) == 0x0001);     // smallest subnormal
  CHECK(onnx_io::float_to_half(std::ldexp(1.0f, -25)) == 0x0000);     // tie to even: zero
  CHECK(onnx_io::float_to_half(std::ldexp(1.5f, -25)) == 0x0001);
  CHECK(onnx_io::float_to_half(1.0f + std::ldexp(1.0f, -11)) == 0x3C00);  // tie to even
  CHECK(onnx_io::float_to_half(1.0f + 3 * std::ldexp(1.0f, -11)) == 0x3C02);
  CHECK(std::isnan(onnx_io::half_to_float(onnx_io::float_to_half(NAN))));
  for (uint32_t bits = 0; bits < 0x10000; ++bits) {
    float value = onnx_io::half_to_float(static_cast<uint16_t>(bits));
    if (std::isnan(value)) continue;
    if (onnx_io::float_to_half(value) != bits) {
      FAIL("half 0x" << std::hex << bits << " does not round-trip");
      break;
    }
  }
  CHECK(onnx_io::float_to_bfloat16(1.0f) == 0x3F80);
  CHECK(onnx_io::float_to_bfloat16(1.0f + std::ldexp(1.0f, -8)) == 0x3F80);       // tie to even
  CHECK(onnx_io::float_to_bfloat16(1.0f + 3 * std::ldexp(1.0f, -8)) == 0x3F82);
  CHECK(onnx_io::bfloat16_to_float(0x3F80) == 1.0f);
  CHECK(onnx_io::float_to_bfloat16(1e30f) != 0x7F80);  // bfloat16 keeps float32's range
}

TEST_CASE("fp16 transformer: normalizations and Softmax stay float32, the result passes the ONNX checker") {
  ir::Model model = onnx_io::load_model(format_fixture("transformer.onnx"));
  size_t nodes_before = model.graph.nodes.size();
  auto report = onnx_io::convert_to_low_precision(model, {}, format_fixture(""));
  CHECK(report.kept_fp32_nodes == 3);  // 2 LayerNormalization + Softmax
  CHECK(report.casts_inserted > 0);
  CHECK(model.graph.nodes.size() == nodes_before + report.casts_inserted);
  CHECK(report.out_of_range == 0);
  for (const auto& initializer : model.graph.initializers) CHECK(initializer.dtype != ir::DataType::float32);
  check_with_libonnx(model, "fp16");
}

TEST_CASE("fp16 with --keep-io-types: inputs and outputs stay float32, bf16 too") {
  for (auto target : {ir::DataType::float16, ir::DataType::bfloat16}) {
    ir::Model model = onnx_io::load_model(format_fixture("cnn.onnx"));
    onnx_io::LowPrecisionOptions options;
    options.target = target;
    options.keep_io_types = true;
    options.runtime = onnx_io::LowPrecisionRuntime::any;  // the schema alone decides here
    auto report = onnx_io::convert_to_low_precision(model, options, format_fixture(""));
    CHECK(model.graph.inputs[0].type->dtype() == ir::DataType::float32);
    CHECK(model.graph.outputs[0].type->dtype() == ir::DataType::float32);
    // ReduceSum; for bf16 also the ops ONNX defines no bfloat16 kernel type for (Conv, AveragePool)
    CHECK(report.kept_fp32_nodes == (target == ir::DataType::float16 ? 1u : 4u));
    CHECK(count_ops(model, "Cast") == report.casts_inserted);
    check_with_libonnx(model, "fp16_io");
  }
}

TEST_CASE("bf16 for ONNX Runtime's CPU provider: only ops it has bf16 kernels for see bf16, weights stay bf16") {
  for (const char* fixture : {"cnn.onnx", "transformer.onnx"}) {
    for (bool keep_io : {false, true}) {
      INFO(fixture << (keep_io ? " --keep-io-types" : ""));
      ir::Model model = onnx_io::load_model(format_fixture(fixture));
      onnx_io::LowPrecisionOptions options;
      options.target = ir::DataType::bfloat16;
      options.keep_io_types = keep_io;
      auto report = onnx_io::convert_to_low_precision(model, options, format_fixture(""));
      CHECK(report.kept_for_runtime > 0);
      CHECK(report.runtime_fp32_ops.count("Relu") + report.runtime_fp32_ops.count("MatMul") > 0);
      // Weights: bfloat16, except those only precision-kept nodes read.
      for (const auto& tensor : model.graph.initializers) {
        bool precision_kept = std::find(report.kept_fp32_initializers.begin(), report.kept_fp32_initializers.end(),
                                        tensor.name) != report.kept_fp32_initializers.end();
        if (tensor.dtype == ir::DataType::float32) CHECK_MESSAGE(precision_kept, tensor.name);
      }
      // Every node that reads or writes a bfloat16 value has a bfloat16 kernel in ORT.
      ir::Model typed = onnx_io::infer_shapes(model, format_fixture(""));
      std::map<std::string, ir::DataType> types;
      for (const auto& tensor : typed.graph.initializers) types[tensor.name] = tensor.dtype;
      for (const auto* list : {&typed.graph.inputs, &typed.graph.outputs, &typed.graph.value_info})
        for (const auto& info : *list)
          if (info.type && info.type->kind == ir::Type::Kind::tensor) types[info.name] = info.type->dtype();
      std::set<std::string> read;
      for (const auto& node : typed.graph.nodes) read.insert(node.inputs.begin(), node.inputs.end());
      for (const auto& output : typed.graph.outputs) read.insert(output.name);
      size_t bf16_nodes = 0;
      for (const auto& node : typed.graph.nodes) {
        bool bf16 = false;
        for (const auto* names : {&node.inputs, &node.outputs})
          for (const auto& name : *names) bf16 = bf16 || (types.count(name) && types[name] == ir::DataType::bfloat16);
        bf16_nodes += bf16;
        if (bf16) CHECK_MESSAGE(onnx_io::ort_cpu_runs_in(node.op_type, node.domain, model.default_opset(), ir::DataType::bfloat16),
                                node.op_type << " '" << node.name << "' computes in bfloat16");
        if (node.op_type == "Cast") CHECK_MESSAGE(read.count(node.outputs[0]), "nothing reads " << node.outputs[0]);
      }
      CHECK(bf16_nodes > 0);
      check_with_libonnx(model, "bf16_ort");
    }
  }
  // The table itself: compute ops have no bfloat16 kernel, data movement has; float16 always runs.
  CHECK_FALSE(onnx_io::ort_cpu_runs_in("Relu", "", 17, ir::DataType::bfloat16));
  CHECK_FALSE(onnx_io::ort_cpu_runs_in("Add", "", 17, ir::DataType::bfloat16));
  CHECK(onnx_io::ort_cpu_runs_in("Reshape", "", 17, ir::DataType::bfloat16));
  CHECK_FALSE(onnx_io::ort_cpu_runs_in("IsNaN", "", 17, ir::DataType::bfloat16));
  CHECK(onnx_io::ort_cpu_runs_in("IsNaN", "", 20, ir::DataType::bfloat16));
  CHECK(onnx_io::ort_cpu_runs_in("Relu", "", 17, ir::DataType::float16));
}

TEST_CASE("bfloat16 below opset 13 is refused with the fix named; IR<4 initializer inputs follow their initializer") {
  ir::Model old = onnx_io::load_model(format_fixture("cnn.onnx"));
  for (auto& opset : old.opset_imports)
    if (opset.domain.empty()) opset.version = 12;
  onnx_io::LowPrecisionOptions options;
  options.target = ir::DataType::bfloat16;
  CHECK_THROWS_WITH_AS(onnx_io::convert_to_low_precision(old, options, format_fixture("")),
                       doctest::Contains("add --opset 13"), Error);

  ir::Model model = onnx_io::load_model(format_fixture("cnn.onnx"));
  ir::ValueInfo as_input;
  as_input.name = "fc.weight";
  as_input.type = ir::Type::tensor(ir::DataType::float32, ir::Shape{{ir::Dim::of(5), ir::Dim::of(64)}});
  model.graph.inputs.push_back(as_input);
  onnx_io::convert_to_low_precision(model, {}, format_fixture(""));
  CHECK(model.graph.inputs.back().type->dtype() == ir::DataType::float16);
}

TEST_CASE("--keep-io-types: a float32 node feeding a graph output writes it directly") {
  // x -> Add w0 -> Add w1 = s -> Softmax = y (output) -> Add w0 = z (output)
  ir::Model model = mhub::test::chain_of_adds(2, 4);
  model.graph.nodes.back().outputs = {"s"};
  ir::Node softmax;
  softmax.op_type = "Softmax";
  softmax.name = "softmax";
  softmax.inputs = {"s"};
  softmax.outputs = {"y"};
  model.graph.nodes.push_back(softmax);
  ir::Node add;
  add.op_type = "Add";
  add.name = "after";
  add.inputs = {"y", "w0"};
  add.outputs = {"z"};
  model.graph.nodes.push_back(add);
  model.graph.outputs.push_back(mhub::test::float_port("z", 4));
  onnx_io::LowPrecisionOptions options;
  options.keep_io_types = true;
  auto report = onnx_io::convert_to_low_precision(model, options, {});
  // x -> fp16, s -> fp32 for Softmax, y -> fp16 for the Add after it, z's fp16 -> fp32.
  CHECK(report.casts_inserted == 4);
  const ir::Node* writer_of_y = nullptr;
  for (const auto& node : model.graph.nodes)
    for (const auto& output : node.outputs)
      if (output == "y") writer_of_y = &node;
  REQUIRE(writer_of_y);
  CHECK(writer_of_y->op_type == "Softmax");
  check_with_libonnx(model, "fp16_softmax_output");
}

TEST_CASE("values beyond float16's range are counted and refused unless clamping is allowed") {
  ir::Model model = onnx_io::load_model(format_fixture("cnn.onnx"));
  for (auto& initializer : model.graph.initializers)
    if (initializer.name == "fc.bias") {
      float values[5] = {1e6f, -7e4f, 1.0f, 2.0f, 3.0f};
      initializer = ir::Tensor::from_bytes(ir::DataType::float32, {5}, values, sizeof(values), "fc.bias");
    }
  ir::Model copy = model;
  CHECK_THROWS_WITH_AS(onnx_io::convert_to_low_precision(copy, {}, format_fixture("")),
                       doctest::Contains("2 weight values lie outside float16's range"), Error);
  CHECK(copy.graph.initializer("fc.bias")->dtype == ir::DataType::float32);  // unchanged
  onnx_io::LowPrecisionOptions options;
  options.allow_clamp = true;
  auto report = onnx_io::convert_to_low_precision(model, options, format_fixture(""));
  CHECK(report.out_of_range == 2);
  const ir::Tensor* bias = model.graph.initializer("fc.bias");
  CHECK(onnx_io::half_to_float(bias->data<uint16_t>()[0]) == 65504.0f);
  CHECK(onnx_io::half_to_float(bias->data<uint16_t>()[1]) == -65504.0f);
}

TEST_CASE("the precision hook runs both models and reports max abs/rel error") {
  ir::Model reference = onnx_io::load_model(format_fixture("cnn.onnx"));
  ir::Model converted = reference;
  onnx_io::convert_to_low_precision(converted, {}, format_fixture(""));
  // A stand-in for the engine: "runs" a model by returning its fc.weight, so the measured error
  // is exactly float16's rounding of those weights.
  onnx_io::ModelRunner fake = [](const ir::Model& model, const std::vector<ir::Tensor>& inputs) {
    REQUIRE(inputs.size() == 1);
    CHECK(inputs[0].dtype == model.graph.inputs[0].type->dtype());  // inputs cast for the fp16 model
    return std::vector<ir::Tensor>{*model.graph.initializer("fc.weight")};
  };
  auto input = ir::Tensor::zeros(ir::DataType::float32, {2, 1, 8, 8}, "input");
  auto errors = onnx_io::measure_precision_error(reference, converted, {input}, fake);
  REQUIRE(errors.size() == 1);
  CHECK(errors[0].output == "output");
  CHECK(errors[0].elements == 5 * 64);
  CHECK(errors[0].max_abs_error > 0);
  CHECK(errors[0].max_rel_error <= std::ldexp(1.0, -11) * 1.0001);
  CHECK_THROWS_AS(onnx_io::measure_precision_error(reference, converted, {input}, onnx_io::ModelRunner{}), Error);
}

}  // TEST_SUITE
