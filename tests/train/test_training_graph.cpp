// The training graph built from the CNN fixture: structure, and (when the engine has every op
// it uses) loss and gradients against PyTorch's first step.
#include <doctest/doctest.h>

#include "common/error.h"
#include "engine/autograd/training_graph.h"
#include "engine/core/session.h"
#include "engine/devices.h"
#include "onnx_io/model_io.h"
#include "tests/train/train_test_support.h"

using namespace mhub;

namespace {

const std::vector<std::string> kCnnParams = {"conv1.weight", "bn1.weight", "bn1.bias", "conv2.weight",
                                             "bn2.weight", "bn2.bias",   "fc.weight",  "fc.bias"};

std::vector<float> one_hot(const std::vector<int64_t>& labels, int64_t classes) {
  std::vector<float> t(labels.size() * classes, 0.0f);
  for (size_t r = 0; r < labels.size(); ++r) t[r * classes + labels[r]] = 1.0f;
  return t;
}

engine::Value float_value(std::vector<int64_t> dims, const std::vector<float>& values) {
  auto t = ir::Tensor::from_bytes(ir::DataType::float32, std::move(dims), values.data(), values.size() * 4);
  return engine::Value::of(t);
}

}  // namespace

TEST_SUITE("train") {

TEST_CASE("training graph for the BatchNorm CNN: every parameter gets a gradient, running stats update") {
  const auto path = mhub::test::train_fixtures() / "cnn" / "model.onnx";
  const auto forward = onnx_io::load_model(path);
  // Standard ONNX ops only: scripts/check_training_graph_with_ort.py runs this file in ONNX Runtime.
  autograd::TrainingGraphOptions standard;
  standard.standard_ops_only = true;
  const auto training = autograd::build_training_model(forward, kCnnParams, path.parent_path(), standard);
  for (const auto& n : training.model.graph.nodes) CHECK(n.domain.empty());
  // By default the Conv gradients are mhub's internal ops (no ConvTranspose / swapped-axes Conv).
  const auto fast = autograd::build_training_model(forward, kCnnParams, path.parent_path());
  int grad_input = 0, grad_weight = 0, transposed = 0;
  for (const auto& n : fast.model.graph.nodes) {
    grad_input += n.op == ir::OpKind::ConvGradInput;
    grad_weight += n.op == ir::OpKind::ConvGradWeight;
    transposed += n.op == ir::OpKind::ConvTranspose;
  }
  CHECK(grad_input == 1);  // conv1's input is the data: no gradient wanted
  CHECK(grad_weight == 2);
  CHECK(transposed == 0);
  CHECK(training.params == kCnnParams);
  CHECK(training.running_buffers.size() == 4);
  std::vector<std::string> outputs;
  for (const auto& o : training.model.graph.outputs) outputs.push_back(o.name);
  CHECK(outputs.front() == "loss");
  CHECK(std::find(outputs.begin(), outputs.end(), "grad/conv1.weight") != outputs.end());
  CHECK(std::find(outputs.begin(), outputs.end(), "running/bn2.running_var") != outputs.end());
  // The graph must be a DAG in standard ONNX ops that mhub can save.
  CHECK_NOTHROW(training.model.graph.topological_order());
  const auto out = mhub::test::scratch_dir("train_graph") / "cnn_training.onnx";
  onnx_io::save_model(training.model, out);
  CHECK(std::filesystem::file_size(out) > 1000);

  CHECK_THROWS_WITH_AS(autograd::build_training_model(forward, {"nope"}, path.parent_path()),
                       doctest::Contains("nope"), Error);
}

TEST_CASE("training graph: loss and gradients match PyTorch's first step") {
  const auto path = mhub::test::train_fixtures() / "cnn" / "model.onnx";
  const auto training = autograd::build_training_model(onnx_io::load_model(path), kCnnParams, path.parent_path());
  // Every op of the training graph has a CPU kernel: a missing one is a failure, not a skip.
  REQUIRE(engine::unsupported_ops(training.model, engine::host_backend()).empty());
  const auto inputs = mhub::test::fixture_floats("cnn/inputs.npy");
  const auto labels = ir::npy_int64s(ir::read_npy(mhub::test::train_fixtures() / "cnn/targets.npy"));
  engine::Session session(training.model, engine::host_backend());
  const std::vector<float> x(inputs.begin(), inputs.begin() + 4 * 144);
  const auto outputs = session.run({{"input", float_value({4, 1, 12, 12}, x)},
                                    {"target", float_value({4, 5}, one_hot({labels.begin(), labels.begin() + 4}, 5))}});
  const float loss = outputs[0].tensor.data<float>()[0];
  CHECK(loss == doctest::Approx(mhub::test::fixture_floats("cnn/sgd/losses.npy")[0]).epsilon(1e-4));
  for (size_t k = 0; k < kCnnParams.size(); ++k) {
    CAPTURE(kCnnParams[k]);
    const auto& g = outputs[2 + k].tensor;
    const std::vector<float> actual(g.data<float>(), g.data<float>() + g.numel());
    const auto all = mhub::test::fixture_floats("cnn/sgd/grads__" + kCnnParams[k] + ".npy");
    CHECK(mhub::test::max_relative_error(actual, {all.begin(), all.begin() + actual.size()}) < 1e-4);
  }
}

}  // TEST_SUITE
