// The training loop against PyTorch: 20 steps of SGD (momentum, Nesterov, weight decay) and
// 20 of AdamW on the BatchNorm CNN and the transformer-block fixtures; every loss within 1e-4 relative, final weights and
// running statistics within 1e-4.
#include <doctest/doctest.h>

#include <fstream>
#include <nlohmann/json.hpp>

#include "common/error.h"
#include "engine/core/session.h"
#include "engine/train/trainer.h"
#include "onnx_io/model_io.h"
#include "tests/train/train_test_support.h"

using namespace mhub;
using namespace mhub::train;
using mhub::test::fixture_floats;
using mhub::test::max_relative_error;

namespace {

void replay_fixture(const std::string& model_name, const std::string& opt_name, int64_t rows, std::vector<int64_t> example_dims) {
  const auto root = mhub::test::train_fixtures() / model_name;
  std::ifstream hyper_file(root / opt_name / "hyper.json");
  const auto hyper = nlohmann::json::parse(hyper_file);
  TrainerOptions options;
  options.optimizer = opt_name;
  options.weight_decay = hyper["weight_decay"];
  if (opt_name == "sgd") {
    options.momentum = hyper["momentum"];
    options.nesterov = hyper["nesterov"];
  }
  options.threads = 1;
  const auto forward = onnx_io::load_model(root / "model.onnx");
  Trainer trainer(forward, root, rows, options);
  const auto inputs = fixture_floats(model_name + "/inputs.npy");
  const auto labels = read_npy(root / "targets.npy").to_int64s();
  const auto losses = fixture_floats(model_name + "/" + opt_name + "/losses.npy");
  size_t per_batch = static_cast<size_t>(rows);
  for (auto d : example_dims) per_batch *= static_cast<size_t>(d);
  double worst_loss = 0;
  for (int step = 0; step < 20; ++step) {
    Batch batch;
    batch.input_dims = {rows};
    batch.input_dims.insert(batch.input_dims.end(), example_dims.begin(), example_dims.end());
    batch.inputs.assign(inputs.begin() + step * per_batch, inputs.begin() + (step + 1) * per_batch);
    batch.labels.assign(labels.begin() + step * rows, labels.begin() + (step + 1) * rows);
    const auto stats = trainer.train_batch(batch, hyper["lr"].get<double>());
    CHECK(stats.stepped);
    worst_loss = std::max(worst_loss, std::fabs(stats.loss - losses[step]) / std::fabs(losses[step]));
  }
  MESSAGE(model_name << "/" << opt_name << ": worst loss relative error " << worst_loss);
  CHECK(worst_loss < 1e-4);
  const auto trained = trainer.export_model();
  double worst_weight = 0;
  for (const auto& t : trained.graph.initializers) {
    const auto file = root / opt_name / ("final__" + t.name + ".npy");
    const auto state_file = root / opt_name / ("final_state__" + t.name + ".npy");
    const auto path = std::filesystem::exists(file) ? file : state_file;
    if (!std::filesystem::exists(path)) continue;
    const std::vector<float> actual(t.data<float>(), t.data<float>() + t.numel());
    const double err = max_relative_error(actual, read_npy(path).to_floats());
    CAPTURE(t.name);
    CHECK(err < 1e-4);
    worst_weight = std::max(worst_weight, err);
  }
  MESSAGE(model_name << "/" << opt_name << ": worst final weight/buffer error " << worst_weight);
}

bool engine_can_train(const std::string& model_name, int64_t rows) {
  const auto root = mhub::test::train_fixtures() / model_name;
  try {
    Trainer probe(onnx_io::load_model(root / "model.onnx"), root, rows, TrainerOptions{});
    return true;
  } catch (const Error& e) {
    MESSAGE("skipped: " << std::string(e.what()));
    return false;
  }
}

}  // namespace

TEST_SUITE("train") {

TEST_CASE("Trainer reproduces PyTorch's 20 SGD-Nesterov steps on the BatchNorm CNN") {
  if (engine_can_train("cnn", 4)) replay_fixture("cnn", "sgd", 4, {1, 12, 12});
}

TEST_CASE("Trainer reproduces PyTorch's 20 AdamW steps on the BatchNorm CNN") {
  if (engine_can_train("cnn", 4)) replay_fixture("cnn", "adamw", 4, {1, 12, 12});
}

TEST_CASE("restore() reaches frozen weights too: the fast kernels never keep the old ones") {
  const auto root = mhub::test::train_fixtures() / "cnn";
  const auto inputs = fixture_floats("cnn/inputs.npy");
  const auto labels = read_npy(root / "targets.npy").to_int64s();
  Batch batch;
  batch.input_dims = {4, 1, 12, 12};
  batch.inputs.assign(inputs.begin(), inputs.begin() + 4 * 144);
  batch.labels.assign(labels.begin(), labels.begin() + 4);
  TrainerOptions options;
  options.optimizer = "sgd";
  options.threads = 1;
  options.freeze = {"conv1.*"};
  const auto forward = onnx_io::load_model(root / "model.onnx");
  Trainer trainer(forward, root, 4, options);
  trainer.train_batch(batch, 0.0);  // runs (and lets kernels cache) with the original conv1
  Checkpoint changed = trainer.checkpoint();
  for (auto& t : changed.tensors)
    if (t.name == "param/conv1.weight")
      for (float& v : t.values) v *= 2;
  trainer.restore(changed);
  const double restored = trainer.train_batch(batch, 0.0).loss;
  // The same weights from the start.
  auto doubled = forward;
  for (auto& t : doubled.graph.initializers)
    if (t.name == "conv1.weight") {
      std::vector<float> v(t.data<float>(), t.data<float>() + t.numel());
      for (float& x : v) x *= 2;
      t = ir::Tensor::from_bytes(ir::DataType::float32, t.dims, v.data(), v.size() * 4, t.name);
    }
  Trainer fresh(doubled, root, 4, options);
  CHECK(restored == doctest::Approx(fresh.train_batch(batch, 0.0).loss).epsilon(1e-6));
}

TEST_CASE("Trainer reproduces PyTorch's 20 SGD-Nesterov steps on the transformer block") {
  if (engine_can_train("transformer", 3)) replay_fixture("transformer", "sgd", 3, {6, 16});
}

TEST_CASE("Trainer reproduces PyTorch's 20 AdamW steps on the transformer block") {
  if (engine_can_train("transformer", 3)) replay_fixture("transformer", "adamw", 3, {6, 16});
}

}  // TEST_SUITE
