// Run under `mpirun -np 2`: data-parallel fine-tuning equals one process with the global batch.
//
// Rank 0 writes a small MLP (Gemm-Relu-Gemm, no BatchNorm) and a 160-example data set. Both
// ranks then run finetune() for one epoch with batch 4 each (20 optimizer steps over 8 examples),
// and rank 0 runs the same fine-tuning alone with batch 8. The final weights must agree within
// 1e-5 (|a - b| / max(1, |b|), fp32) for SGD with momentum, for AdamW, and for SGD with
// gradient clipping and 2-batch accumulation (10 steps), with and without ZeRO 1 (whose
// checkpoints must hold the same whole optimizer state while each rank keeps half of it). The
// evaluation must count every test example once (21: shards of 11 and 10), and a Trainer whose
// ranks start from different weights must start from rank 0's. Checkpoints resume across rank
// counts and ZeRO settings: a second epoch from each ends with the same weights. On the
// BatchNorm CNN fixture the ranks keep identical parameters and their own running statistics.
// Usage: mhub_dist_ddp_equivalence SCRATCH_DIR. Exit 0: equal; 1: a difference (printed);
// 77: not launched as 2 ranks (skipped). `--write-fixture DIR` (one process) only writes the
// model (DIR/mlp.onnx) and the data (DIR/data) for other tests (kill_rank.sh).
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <string>
#include <vector>

#include "common/error.h"
#include "engine/dist/communicator.h"
#include "engine/ir/npy.h"
#include "engine/train/checkpoint.h"
#include "engine/train/finetune.h"
#include "engine/train/rng.h"
#include "engine/train/trainer.h"
#include "onnx_io/model_io.h"
#include "tests/dist/equivalence_support.h"
#include "tests/test_paths.h"

using namespace mhub;
using test::expect;
namespace fs = std::filesystem;

namespace {

constexpr int64_t kFeatures = 16, kHidden = 32, kClasses = 4;

// The epoch's timings: one entry of phases per rank, this rank's within its own batches' time
// (train_seconds, itself within the epoch's), forward + backward measured, and time blocked on
// the other ranks only where there are others.
void expect_phases(const train::EpochReport& e, size_t ranks, int rank, const std::string& what) {
  expect(e.train_seconds > 0 && e.train_seconds <= e.seconds, what + ": train_seconds " + std::to_string(e.train_seconds) +
                                                                  " not within the epoch's " + std::to_string(e.seconds));
  expect(e.phases.size() == ranks, what + ": " + std::to_string(e.phases.size()) + " phase entries for " + std::to_string(ranks) + " ranks");
  if (e.phases.size() != ranks) return;
  for (const auto& p : e.phases) expect(p.run > 0 && p.load >= 0 && p.update >= 0, what + ": a rank without forward/backward time");
  const auto& mine = e.phases[static_cast<size_t>(rank)];
  const double sum = mine.load + mine.run + mine.gradient_sync + mine.agree + mine.update;
  expect(sum <= e.train_seconds * 1.001, what + ": rank " + std::to_string(rank) + "'s phases add up to " + std::to_string(sum) +
                                              " s, more than its batches' " + std::to_string(e.train_seconds) + " s");
  if (ranks == 1) expect(mine.gradient_sync == 0 && mine.agree == 0, what + ": one process waited on other ranks");
  else expect(mine.gradient_sync > 0 && mine.agree > 0, what + ": no time counted averaging gradients across ranks");
}

ir::Tensor random_tensor(const std::string& name, std::vector<int64_t> dims, train::Rng& rng, float scale) {
  ir::Tensor t = ir::Tensor::zeros(ir::DataType::float32, dims, name);
  float* v = reinterpret_cast<float*>(t.storage->mutable_data());
  for (uint64_t i = 0; i < t.numel(); ++i) v[i] = (2 * rng.uniform() - 1) * scale;
  return t;
}

ir::Node gemm(const std::string& name, std::vector<std::string> inputs, const std::string& out) {
  ir::Node n;
  n.op = ir::OpKind::Gemm;
  n.op_type = "Gemm";
  n.name = name;
  n.inputs = std::move(inputs);
  n.outputs = {out};
  ir::Attribute trans_b;
  trans_b.name = "transB";
  trans_b.type = ir::AttributeType::int_;
  trans_b.i = 1;
  n.attributes.push_back(trans_b);
  return n;
}

ir::Model mlp(uint64_t seed) {
  train::Rng rng(seed);
  ir::Model model;
  model.ir_version = 8;
  model.opset_imports = {{"", 17}};
  model.producer_name = "mhub-tests";
  model.graph.name = "mlp";
  auto port = [](const std::string& name, int64_t width) {
    ir::ValueInfo info;
    info.name = name;
    info.type = ir::Type::tensor(ir::DataType::float32, ir::Shape{{ir::Dim::symbol("N"), ir::Dim::of(width)}});
    return info;
  };
  model.graph.inputs = {port("x", kFeatures)};
  model.graph.outputs = {port("logits", kClasses)};
  model.graph.initializers = {random_tensor("fc1.weight", {kHidden, kFeatures}, rng, 0.25f), random_tensor("fc1.bias", {kHidden}, rng, 0.25f),
                              random_tensor("fc2.weight", {kClasses, kHidden}, rng, 0.18f), random_tensor("fc2.bias", {kClasses}, rng, 0.18f)};
  model.graph.nodes.push_back(gemm("fc1", {"x", "fc1.weight", "fc1.bias"}, "h"));
  ir::Node relu;
  relu.op = ir::OpKind::Relu;
  relu.op_type = "Relu";
  relu.name = "relu";
  relu.inputs = {"h"};
  relu.outputs = {"a"};
  model.graph.nodes.push_back(relu);
  model.graph.nodes.push_back(gemm("fc2", {"a", "fc2.weight", "fc2.bias"}, "logits"));
  return model;
}

// Inputs in [-1, 1], labels from a fixed random linear rule (learnable, not trivially).
void write_split(const fs::path& dir, int64_t count, uint64_t seed) {
  train::Rng rng(seed);
  std::vector<float> x(static_cast<size_t>(count * kFeatures));
  for (auto& v : x) v = 2 * rng.uniform() - 1;
  std::vector<int64_t> y(static_cast<size_t>(count));
  for (int64_t r = 0; r < count; ++r) {
    float best = -1e30f;
    for (int64_t c = 0; c < kClasses; ++c) {
      float score = 0;
      for (int64_t f = 0; f < kFeatures; ++f) score += x[r * kFeatures + f] * static_cast<float>(((c * 7 + f * 3) % 5) - 2);
      if (score > best) best = score, y[static_cast<size_t>(r)] = c;
    }
  }
  fs::create_directories(dir);
  ir::write_npy(dir / "inputs.npy", {count, kFeatures}, x);
  ir::write_npy(ir::Tensor::from_bytes(ir::DataType::int64, {count}, y.data(), y.size() * sizeof(int64_t)), dir / "labels.npy");
}

std::vector<float> weights(const ir::Model& model) {
  std::vector<float> all;
  for (const auto& t : model.graph.initializers) all.insert(all.end(), t.data<float>(), t.data<float>() + t.numel());
  return all;
}

}  // namespace

void write_fixture(const fs::path& dir) {
  fs::create_directories(dir);
  onnx_io::save_model(mlp(11), dir / "mlp.onnx");
  write_split(dir / "data" / "train", 160, 1);
  write_split(dir / "data" / "test", 21, 2);
}

// Float all-reduces longer than the transport's piece (1 MiB: mpi_communicator.cpp) are cut
// into pieces: every element, on both sides of each cut, must still get the exact sum (small
// integers, exact in float), blocking and started, averaged only once.
void check_long_all_reduce(dist::Communicator& comm) {
  const size_t count = (size_t{9} << 20) / 4 * 2 + 3;  // 18 MiB: many cuts and a short last piece
  std::vector<float> a(count), b(count);
  const float r = static_cast<float>(comm.rank());
  auto fill = [&](std::vector<float>& v) {
    for (size_t i = 0; i < count; ++i) v[i] = static_cast<float>(i % 1000) + 1000 * r;
  };
  fill(a);
  fill(b);
  comm.all_reduce(a.data(), count, dist::Reduce::sum);
  comm.start_all_reduce(b.data(), count, dist::Reduce::average);
  comm.wait_all_reduces();
  size_t wrong_sum = 0, wrong_average = 0;
  for (size_t i = 0; i < count; ++i) {
    const float base = static_cast<float>(i % 1000);
    wrong_sum += a[i] != 2 * base + 1000;
    wrong_average += b[i] != base + 500;
  }
  expect(wrong_sum == 0, "blocking all_reduce of " + std::to_string(count) + " floats: " + std::to_string(wrong_sum) + " wrong sums");
  expect(wrong_average == 0, "started all_reduce (average) of " + std::to_string(count) + " floats: " + std::to_string(wrong_average) + " wrong averages");
  if (comm.rank() == 0) std::printf("long all-reduce (%zu floats, in pieces): sums and averages exact\n", count);
}

// Both ranks: the checks above, in order.
void check_equivalence(dist::Communicator& communicator, const fs::path& dir) {
  dist::Communicator* const comm = &communicator;
  const int rank = comm->rank();
  check_long_all_reduce(communicator);
  if (rank == 0) {
    fs::remove_all(dir);
    write_fixture(dir);
  }
  comm->barrier();

  {  // Broadcast: rank 1 starts from other weights, the trainer starts it from rank 0's.
    train::TrainerOptions options;
    options.threads = 1;
    options.comm = comm;
    train::Trainer trainer(mlp(rank == 0 ? 11 : 12), dir, 4, options);
    const double difference = test::max_relative_error(weights(trainer.export_model()), weights(mlp(11)));
    expect(difference == 0, "rank " + std::to_string(rank) + " did not start from rank 0's weights (difference " + std::to_string(difference) + ")");
  }

  {  // A BatchNorm CNN (the training fixture): the ranks train on different batches; their
     // running statistics stay their own (local BatchNorm), their parameters stay identical.
    const fs::path cnn = fs::path(mhub::test::source_dir()) / "tests" / "fixtures" / "train" / "cnn";
    const auto inputs = ir::npy_floats(ir::read_npy(cnn / "inputs.npy"));  // 80 x 1x12x12
    const auto labels = ir::npy_int64s(ir::read_npy(cnn / "targets.npy"));
    train::TrainerOptions options;
    options.threads = 1;
    options.optimizer = "sgd";
    options.comm = comm;
    options.zero = 1;
    train::Trainer trainer(onnx_io::load_model(cnn / "model.onnx"), cnn, 4, options);
    for (size_t step = 0; step < 3; ++step) {
      train::Batch batch;
      batch.input_dims = {4, 1, 12, 12};
      const size_t first = (step * 2 + static_cast<size_t>(rank)) * 4;
      batch.inputs.assign(inputs.begin() + static_cast<std::ptrdiff_t>(first * 144), inputs.begin() + static_cast<std::ptrdiff_t>((first + 4) * 144));
      batch.labels.assign(labels.begin() + static_cast<std::ptrdiff_t>(first), labels.begin() + static_cast<std::ptrdiff_t>(first + 4));
      trainer.train_batch(batch, 0.05);
    }
    const ir::Model model = trainer.export_model();
    size_t same = 0, different = 0;
    for (const auto& t : model.graph.initializers) {
      if (t.dtype != ir::DataType::float32 || t.numel() == 0) continue;
      std::vector<float> mine(t.data<float>(), t.data<float>() + t.numel()), root = mine;
      comm->broadcast(root.data(), root.size(), 0);
      const bool trainable = std::find(trainer.trainable().begin(), trainer.trainable().end(), t.name) != trainer.trainable().end();
      const bool equal = mine == root;
      if (rank == 1 && trainable) expect(equal, "CNN: rank 1's parameter " + t.name + " differs from rank 0's");
      (equal ? same : different) += rank == 1 && !trainable;
    }
    if (rank == 1) {
      std::printf("CNN: %zu trainable parameters equal on both ranks, %zu running statistics differ\n", trainer.trainable().size(), different);
      expect(different > 0 && same == 0, "CNN: BatchNorm running statistics should stay local to each rank");
    }
  }

  // sgd-clip: gradient clipping (the global norm over ZeRO shards) and accumulation of 2 batches.
  for (const std::string run : {"sgd", "adamw", "sgd-clip"}) {
    const std::string optimizer = run == "adamw" ? "adamw" : "sgd";
    const bool clip = run == "sgd-clip";
    const int64_t steps = clip ? 10 : 20;
    train::FinetuneOptions o;
    o.model_path = dir / "mlp.onnx";
    o.data = (dir / "data").string();
    o.epochs = 1;
    o.seed = 3;
    o.lr = optimizer == "sgd" ? 0.05 : 0.01;
    o.schedule = "cosine";
    o.trainer.optimizer = optimizer;
    o.trainer.momentum = 0.9;
    o.trainer.threads = 1;
    o.trainer.comm = comm;
    o.trainer.bucket_bytes = 600 * 4;  // several buckets: fc2's gradients, then fc1's
    o.trainer.clip_norm = clip ? 0.05 : 0;
    o.trainer.accumulate = clip ? 2 : 1;
    o.batch_size = 4;
    size_t state_bytes[2] = {0, 0};
    for (int zero : {0, 1}) {
      o.trainer.zero = zero;
      o.out = dir / (run + "_ddp_zero" + std::to_string(zero) + ".onnx");
      const auto ddp = train::finetune(o);
      const std::string what = run + (zero ? " --zero 1" : "");
      expect(ddp.epochs.size() == 1 && ddp.epochs[0].steps == steps, what + ": 2 ranks x batch 4 took " + std::to_string(ddp.epochs[0].steps) + " steps");
      expect(ddp.epochs[0].eval_examples == 21, what + ": the sharded evaluation counted " + std::to_string(ddp.epochs[0].eval_examples) + " of 21 examples");
      expect_phases(ddp.epochs[0], 2, rank, what);
      state_bytes[zero] = ddp.optimizer_state_bytes;
    }
    // The model has 16*32 + 32 + 32*4 + 4 = 676 parameters; ZeRO 1 keeps 338 per rank.
    const size_t per_param = optimizer == "sgd" ? 4 : 8;
    expect(state_bytes[0] == 676 * per_param && state_bytes[1] == 338 * per_param,
           run + ": optimizer state per rank " + std::to_string(state_bytes[0]) + " bytes, with ZeRO 1 " +
               std::to_string(state_bytes[1]) + "; expected " + std::to_string(676 * per_param) + " and half of it");
    comm->barrier();  // rank 0 has written the models
    if (rank == 0) {  // the same fine-tuning in one process
      o.trainer.comm = nullptr;
      o.trainer.zero = 0;
      o.batch_size = 8;
      o.out = dir / (run + "_single.onnx");
      const auto single = train::finetune(o);
      expect(single.epochs[0].steps == steps, run + ": 1 process x batch 8 took " + std::to_string(single.epochs[0].steps) + " steps");
      expect_phases(single.epochs[0], 1, 0, run + " (1 process)");
      const auto reference = weights(onnx_io::load_model(o.out));
      const auto reference_checkpoint = train::load_checkpoint(dir / (run + "_single.onnx.ckpt.safetensors"));
      for (int zero : {0, 1}) {
        const std::string name = run + "_ddp_zero" + std::to_string(zero) + ".onnx";
        const std::string what = run + (zero ? " --zero 1" : "");
        const double difference = test::max_relative_error(weights(onnx_io::load_model(dir / name)), reference);
        std::printf("%s: max relative difference of the weights after 20 batches: %.3g\n", what.c_str(), difference);
        expect(difference <= 1e-5, what + ": 2 ranks x batch 4 and 1 process x batch 8 end with different weights");
        // The checkpoint holds the whole optimizer state (gathered under ZeRO), as one process has it.
        const auto checkpoint = train::load_checkpoint(dir / (name + ".ckpt.safetensors"));
        size_t compared = 0;
        for (const auto& expected : reference_checkpoint.tensors) {
          if (expected.name.rfind("optim/", 0) != 0) continue;
          bool found = false;
          for (const auto& t : checkpoint.tensors)
            if (t.name == expected.name) {
              found = true;
              const double d = test::max_relative_error(t.values, expected.values);
              expect(d <= 1e-5, what + ": checkpoint state " + t.name + " differs by " + std::to_string(d));
            }
          expect(found, what + ": the checkpoint lacks " + expected.name);
          ++compared;
        }
        expect(compared == (optimizer == "sgd" ? 4u : 8u), what + ": the single-process checkpoint should hold 4 state buffers per moment");
      }
      const double initial = test::max_relative_error(reference, weights(mlp(11)));
      expect(initial > 1e-3, run + ": training did not move the weights (the comparison would prove nothing)");
    }
    // Checkpoints hold the whole state: the single-process one resumes on 2 ranks with ZeRO 1
    // (each rank slicing its shard out of it), the ZeRO 1 one in one process; a second epoch
    // from either ends where the single-process run resumed in one process does.
    comm->barrier();
    o.epochs = 2;
    o.trainer.comm = comm;
    o.trainer.zero = 1;
    o.batch_size = 4;
    o.resume = dir / (run + "_single.onnx.ckpt.safetensors");
    o.out = dir / (run + "_resumed_ddp.onnx");
    train::finetune(o);
    comm->barrier();
    if (rank != 0) continue;
    o.trainer.comm = nullptr;
    o.trainer.zero = 0;
    o.batch_size = 8;
    o.out = dir / (run + "_resumed_single.onnx");
    train::finetune(o);
    o.resume = dir / (run + "_ddp_zero1.onnx.ckpt.safetensors");
    o.out = dir / (run + "_resumed_from_zero1.onnx");
    train::finetune(o);
    const auto resumed = weights(onnx_io::load_model(dir / (run + "_resumed_single.onnx")));
    for (const std::string name : {"_resumed_ddp.onnx", "_resumed_from_zero1.onnx"}) {
      const double difference = test::max_relative_error(weights(onnx_io::load_model(dir / (run + name))), resumed);
      std::printf("%s%s: max relative difference after resuming for a second epoch: %.3g\n", run.c_str(), name.c_str(), difference);
      expect(difference <= 1e-5, run + name + ": resuming gave other weights than the single-process resume");
    }
  }
  comm->barrier();
}

int main(int argc, char** argv) {
  if (argc == 3 && std::string(argv[1]) == "--write-fixture") {
    write_fixture(argv[2]);
    return 0;
  }
  return test::run_on_two_ranks(argc, argv, check_equivalence);
}
