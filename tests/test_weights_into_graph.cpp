// Pretrained weights into ONNX architectures (the torch.onnx.export fixtures).
#include <doctest/doctest.h>

#include "common/error.h"
#include "onnx_io/model_io.h"
#include "onnx_io/pth/checkpoint.h"
#include "onnx_io/safetensors.h"
#include "onnx_io/weights_into_graph.h"
#include "tests/format_test_support.h"
#include "tests/test_support.h"

using namespace mhub;
using mhub::test::format_fixture;
using mhub::test::same_tensor;

namespace {

// The exported model already holds the trained weights; zero them so a test can only pass if
// loading really put the weights in.
ir::Model zeroed_architecture(const std::string& name) {
  ir::Model model = onnx_io::load_model(format_fixture(name));
  for (auto& initializer : model.graph.initializers) {
    auto zeros = ir::Tensor::zeros(initializer.dtype, initializer.dims);
    initializer.storage = zeros.storage;
    initializer.offset = 0;
  }
  return model;
}

}  // namespace

TEST_SUITE("formats") {

TEST_CASE("transformer: every initializer filled from the .pth equals the state dict byte for byte") {
  auto checkpoint = onnx_io::pth::read_checkpoint(format_fixture("transformer.pth"));
  ir::Model model = zeroed_architecture("transformer.onnx");
  auto report = onnx_io::load_weights_into_graph(model, checkpoint.weights, {});
  CHECK(report.complete());
  CHECK(report.matched.size() == model.graph.initializers.size());
  // norm2.* were deduplicated into norm1.* by the exporter and head.weight is tied to embed.weight.
  CHECK(report.unused_weights == std::vector<std::string>{"norm2.weight", "norm2.bias", "head.weight"});
  for (const auto& initializer : model.graph.initializers) {
    INFO(initializer.name);
    const ir::Tensor* weight = checkpoint.weights.find(initializer.name);
    REQUIRE(weight);
    CHECK(same_tensor(initializer, *weight));
  }
  // Written and read back, the values are still those of the state dict.
  auto dir = mhub::test::scratch_dir("weights_into_graph");
  onnx_io::save_model(model, dir / "filled.onnx");
  ir::Model reloaded = onnx_io::load_model(dir / "filled.onnx");
  for (const auto& initializer : reloaded.graph.initializers)
    CHECK(same_tensor(initializer, *checkpoint.weights.find(initializer.name)));
}

TEST_CASE("an architecture exported with other weights gets exactly the checkpoint's weights") {
  auto checkpoint = onnx_io::pth::read_checkpoint(format_fixture("transformer.pth"));
  ir::Model model = onnx_io::load_model(format_fixture("transformer_arch.onnx"));
  size_t differing = 0;
  for (const auto& initializer : model.graph.initializers)
    differing += !same_tensor(initializer, *checkpoint.weights.find(initializer.name));
  CHECK(differing == model.graph.initializers.size());
  auto report = onnx_io::load_weights_into_graph(model, checkpoint.weights, {});
  CHECK(report.complete());
  for (const auto& initializer : model.graph.initializers)
    CHECK(same_tensor(initializer, *checkpoint.weights.find(initializer.name)));
}

TEST_CASE("cnn: folded Conv+BN initializers are reported, the rest match; partial needs the flag") {
  auto twin = onnx_io::read_safetensors(format_fixture("cnn.safetensors"));
  ir::Model model = zeroed_architecture("cnn.onnx");
  std::string message;
  try {
    onnx_io::load_weights_into_graph(model, twin, {});
  } catch (const Error& error) {
    message = error.what();
  }
  CHECK(message.find("2 unmatched") != std::string::npos);
  CHECK(message.find("named by the exporter") != std::string::npos);
  CHECK(message.find("--allow-partial") != std::string::npos);
  CHECK(model.graph.initializer("fc.weight")->data<float>()[0] == 0.0f);  // unchanged after the error

  onnx_io::WeightsIntoGraphOptions options;
  options.allow_partial = true;
  auto report = onnx_io::load_weights_into_graph(model, twin, options);
  CHECK(report.matched.size() == 4);
  CHECK(report.generated_initializers == std::vector<std::string>{"onnx::Conv_23", "onnx::Conv_24"});
  for (const char* name : {"mix", "layer1.0.weight", "fc.weight", "fc.bias"})
    CHECK(same_tensor(*model.graph.initializer(name), *twin.find(name)));
}

TEST_CASE("--map rules: prefix and regex renames; suffix matching; shape mismatches reported") {
  auto nested = onnx_io::pth::read_checkpoint(format_fixture("cnn_nested.pth"));  // "module." names
  onnx_io::WeightsIntoGraphOptions options;
  options.allow_partial = true;
  options.rules.push_back(onnx_io::parse_rename_rule("module.="));
  ir::Model model = zeroed_architecture("cnn.onnx");
  auto report = onnx_io::load_weights_into_graph(model, nested.weights, options);
  CHECK(report.matched.size() == 4);
  for (const auto& match : report.matched) CHECK(match.exact);

  auto regex = onnx_io::parse_rename_rule("^module\\.(fc)\\.=head.$1.");
  CHECK(regex.is_regex);
  CHECK(onnx_io::apply_rename_rules({regex}, "module.fc.weight") == "head.fc.weight");
  // The example in `mhub convert --help`.
  CHECK(onnx_io::apply_rename_rules({onnx_io::parse_rename_rule("^blocks\\.(\\d+)\\.=layer$1.")}, "blocks.3.attn.weight") ==
        "layer3.attn.weight");
  CHECK(onnx_io::apply_rename_rules({onnx_io::parse_rename_rule("module.=")}, "other.module.x") == "other.module.x");
  CHECK_THROWS_AS(onnx_io::parse_rename_rule("no-equals-sign"), Error);
  CHECK_THROWS_AS(onnx_io::parse_rename_rule("^([a=b"), Error);

  // Without the rule, "module.fc.weight" still matches "fc.weight" by suffix.
  ir::Model by_suffix = zeroed_architecture("cnn.onnx");
  auto suffix_report = onnx_io::load_weights_into_graph(by_suffix, nested.weights, {{}, true});
  CHECK(suffix_report.matched.size() == 4);
  CHECK_FALSE(suffix_report.matched[0].exact);

  // A weight of the wrong shape is a mismatch, never loaded.
  onnx_io::WeightsMap wrong;
  wrong.add(ir::Tensor::zeros(ir::DataType::float32, {5, 63}, "fc.weight"), "test");
  ir::Model target = zeroed_architecture("cnn.onnx");
  auto mismatch = onnx_io::load_weights_into_graph(target, wrong, {{}, true});
  REQUIRE(mismatch.mismatched.size() == 1);
  CHECK(mismatch.mismatched[0].expected == "float[5,64]");
  CHECK(mismatch.mismatched[0].found == "float[5,63]");
}

}  // TEST_SUITE
