// finetune / evaluate end to end on small data: checkpoints, bit-for-bit resume, freezing,
// head replacement, logs.
#include <doctest/doctest.h>

#include "common/atomic_file.h"
#include "common/error.h"
#include "engine/train/checkpoint.h"
#include "engine/train/finetune.h"
#include "engine/train/metrics.h"
#include "onnx_io/model_io.h"
#include "tests/train/train_test_support.h"

using namespace mhub;
using namespace mhub::train;
namespace fs = std::filesystem;

namespace {

// 24 training and 8 test examples shaped like the CNN fixture's input, labels 0..4.
fs::path tiny_dataset(const std::string& name) {
  const auto dir = mhub::test::scratch_dir(name);
  const auto inputs = mhub::test::fixture_floats("cnn/inputs.npy");  // 80 examples of 1x12x12
  const auto labels = ir::npy_int64s(ir::read_npy(mhub::test::train_fixtures() / "cnn/targets.npy"));
  for (const auto& [split, first, count] : {std::tuple{"train", 0, 24}, std::tuple{"test", 24, 8}}) {
    fs::create_directories(dir / split);
    std::vector<float> x(inputs.begin() + first * 144, inputs.begin() + (first + count) * 144);
    ir::write_npy(dir / split / "inputs.npy", {count, 1, 12, 12}, x);
    // Integer labels (float ones would mean regression targets).
    const std::vector<int64_t> y(labels.begin() + first, labels.begin() + first + count);
    ir::write_npy(ir::Tensor::from_bytes(ir::DataType::int64, {count}, y.data(), y.size() * sizeof(int64_t)), dir / split / "labels.npy");
  }
  return dir;
}

FinetuneOptions base_options(const fs::path& data, const fs::path& out) {
  FinetuneOptions o;
  o.model_path = mhub::test::train_fixtures() / "cnn" / "model.onnx";
  o.data = data.string();
  o.out = out;
  o.epochs = 2;
  o.lr = 0.01;
  o.seed = 5;
  o.schedule = "cosine";
  o.trainer.optimizer = "adamw";
  o.trainer.threads = 1;
  return o;
}

std::vector<float> weights_of(const fs::path& model_path, const std::string& name) {
  const auto model = onnx_io::load_model(model_path);
  const ir::Tensor* t = model.graph.initializer(name);
  REQUIRE(t);
  return {t->data<float>(), t->data<float>() + t->numel()};
}

}  // namespace

TEST_SUITE("train") {

TEST_CASE("finetune: logs, checkpoint, and --resume ends bit-for-bit where an uninterrupted run does") {
  const auto data = tiny_dataset("finetune_data");
  const auto dir = mhub::test::scratch_dir("finetune_resume");
  auto full = base_options(data, dir / "full.onnx");
  full.logdir = dir / "logs";
  const auto result = finetune(full);
  REQUIRE(result.epochs.size() == 2);
  CHECK(result.epochs[1].steps == 12);  // 24 examples / batch 4 (the model's fixed batch) x 2 epochs
  CHECK(result.epochs[1].eval_examples == 8);
  CHECK(std::isfinite(result.epochs[1].train_loss));
  fs::path events_file;
  for (const auto& entry : fs::directory_iterator(dir / "logs"))
    if (entry.path().filename().string().rfind("events.out.tfevents.", 0) == 0) events_file = entry.path();
  CHECK(fs::exists(dir / "logs" / "metrics.jsonl"));
  const auto events = read_event_file(events_file);
  CHECK(events.scalars.size() == 12 * 2 + 2 * 4);  // loss + lr per step, four per epoch
  const auto checkpoint = load_checkpoint(result.checkpoint);
  CHECK(checkpoint.metadata.at("epoch") == "2");
  CHECK(checkpoint.find("optim/fc.weight/exp_avg") != nullptr);

  auto first = base_options(data, dir / "part.onnx");
  first.stop_after_epochs = 1;
  finetune(first);
  auto rest = base_options(data, dir / "part.onnx");
  rest.resume = dir / "part.onnx.ckpt.safetensors";
  const auto resumed = finetune(rest);
  CHECK(resumed.epochs.size() == 1);
  for (const char* name : {"conv1.weight", "bn2.running_var", "fc.bias"}) {
    CAPTURE(std::string(name));
    CHECK(weights_of(dir / "full.onnx", name) == weights_of(dir / "part.onnx", name));
  }
  // The fine-tuned model evaluates like finetune said it would.
  const auto test = open_dataset(data.string(), "test");
  const auto eval = evaluate(onnx_io::load_model(dir / "full.onnx"), *test, 4, 1);
  CHECK(eval.accuracy == doctest::Approx(result.epochs[1].eval_accuracy));
  CHECK(eval.loss == doctest::Approx(result.epochs[1].eval_loss).epsilon(1e-5));

  auto wrong_seed = rest;
  wrong_seed.seed = 6;
  CHECK_THROWS_AS(finetune(wrong_seed), Error);
}

TEST_CASE("finetune: --freeze keeps parameters, --num-classes replaces the head") {
  const auto data = tiny_dataset("finetune_data2");
  const auto dir = mhub::test::scratch_dir("finetune_freeze");
  auto o = base_options(data, dir / "frozen.onnx");
  o.epochs = 1;
  o.trainer.freeze = {"conv*", "bn1.*"};
  const auto result = finetune(o);
  CHECK(std::find(result.trainable.begin(), result.trainable.end(), "conv1.weight") == result.trainable.end());
  CHECK(weights_of(dir / "frozen.onnx", "conv2.weight") == mhub::test::fixture_floats("cnn/initial__conv2.weight.npy"));
  CHECK(weights_of(dir / "frozen.onnx", "fc.weight") != mhub::test::fixture_floats("cnn/initial__fc.weight.npy"));
  auto all_frozen = o;
  all_frozen.trainer.freeze = {"*"};
  CHECK_THROWS_WITH_AS(finetune(all_frozen), doctest::Contains("--freeze"), Error);

  auto head = base_options(data, dir / "head.onnx");
  head.epochs = 1;
  head.num_classes = 7;
  finetune(head);
  const auto model = onnx_io::load_model(dir / "head.onnx");
  CHECK(model.graph.initializer("fc.weight")->dims == std::vector<int64_t>{7, 72});
  CHECK(model.graph.initializer("fc.bias")->dims == std::vector<int64_t>{7});
}

}  // TEST_SUITE
