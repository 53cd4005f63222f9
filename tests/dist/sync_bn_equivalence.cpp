// Run under `mpirun -np 2`: with --sync-bn (TrainerOptions::sync_batchnorm), data-parallel
// training of a BatchNorm CNN equals one process with the global batch.
//
// The PyTorch BatchNorm CNN fixture (conv-BN-relu-pool twice, then a Gemm; its batch dimension
// made symbolic) trains for 20 steps: each rank on batch 4 (rank r takes examples r*4.. of each
// global batch of 8), and rank 0 alone on batch 8 without synchronisation. Parameters and
// BatchNorm running statistics must agree within 1e-5 (|a - b| / max(1, |b|), fp32) for SGD with
// momentum and for AdamW (SGD also with ZeRO 1), and be the same on both ranks. Without
// --sync-bn the same comparison must fail (the running statistics are each rank's own), so the
// test can tell the two apart.
// Usage: mhub_dist_sync_bn SCRATCH_DIR. Exit 0: equal; 1: a difference (printed); 77: not
// launched as 2 ranks (skipped). For the command-line test (sync_bn_cli.sh), in one process:
// `--write-fixture DIR` writes the fixture with a symbolic batch (DIR/cnn.onnx) and its 80
// examples as DIR/data/{train,test}/{inputs,labels}.npy; `--compare A.onnx B.onnx` prints the
// max relative difference of the two models' float initializers (parameters and running
// statistics) and exits 0 when it is <= 1e-5, 1 when larger, 3 when B equals the fixture's start.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <string>
#include <vector>

#include "common/error.h"
#include "engine/dist/communicator.h"
#include "engine/ir/npy.h"
#include "engine/train/trainer.h"
#include "onnx_io/model_io.h"
#include "tests/dist/equivalence_support.h"

using namespace mhub;
using test::expect;
namespace fs = std::filesystem;

namespace {

constexpr int64_t kSteps = 20, kPerRank = 4, kExamples = 80, kPixels = 144;

// The fixture fixes batch 4; the runs need 4 and 8.
ir::Model with_symbolic_batch(ir::Model model) {
  for (auto* ports : {&model.graph.inputs, &model.graph.outputs})
    for (auto& port : *ports)
      if (port.type && port.type->shape && !port.type->shape->dims.empty()) port.type->shape->dims[0] = ir::Dim::symbol("N");
  model.graph.value_info.clear();
  return model;
}

std::vector<float> initializer_values(const ir::Model& model) {
  std::vector<float> all;
  for (const auto& t : model.graph.initializers)
    if (t.dtype == ir::DataType::float32) all.insert(all.end(), t.data<float>(), t.data<float>() + t.numel());
  return all;
}

struct Run {
  std::string optimizer = "sgd";
  bool sync = true;
  int zero = 0;
};

// 20 steps from the fixture's weights; `comm` nullptr: one process on the whole global batch.
std::vector<float> train_20_steps(const fs::path& cnn, const Run& run, dist::Communicator* comm) {
  const auto inputs = ir::npy_floats(ir::read_npy(cnn / "inputs.npy"));
  const auto labels = ir::npy_int64s(ir::read_npy(cnn / "targets.npy"));
  const int64_t rows = comm ? kPerRank : 2 * kPerRank;
  train::TrainerOptions options;
  options.threads = 1;
  options.optimizer = run.optimizer;
  options.momentum = 0.9;
  options.comm = comm;
  options.zero = run.zero;
  options.sync_batchnorm = run.sync;
  train::Trainer trainer(with_symbolic_batch(onnx_io::load_model(cnn / "model.onnx")), cnn, rows, options);
  const double lr = run.optimizer == "sgd" ? 0.05 : 0.01;
  for (int64_t step = 0; step < kSteps; ++step) {
    // Global batch `step` holds 8 examples (wrapping over the 80); rank r takes its r-th 4.
    const int64_t first = (step * 2 * kPerRank + (comm ? comm->rank() * kPerRank : 0)) % kExamples;
    train::Batch batch;
    batch.input_dims = {rows, 1, 12, 12};
    batch.inputs.assign(inputs.begin() + first * kPixels, inputs.begin() + (first + rows) * kPixels);
    batch.labels.assign(labels.begin() + first, labels.begin() + first + rows);
    trainer.train_batch(batch, lr);
  }
  return initializer_values(trainer.export_model());
}

// Both ranks: the four runs, each compared with one process on the global batch.
void check_equivalence(dist::Communicator& communicator, const fs::path&) {
  dist::Communicator* const comm = &communicator;
  const fs::path cnn = test::train_fixtures() / "cnn";
  const std::vector<float> initial = initializer_values(onnx_io::load_model(cnn / "model.onnx"));
  for (const Run& run : {Run{"sgd", true, 0}, Run{"adamw", true, 0}, Run{"sgd", true, 1}, Run{"sgd", false, 0}}) {
    const std::string what = run.optimizer + (run.zero ? " --zero 1" : "") + (run.sync ? " --sync-bn" : " without --sync-bn");
    const std::vector<float> mine = train_20_steps(cnn, run, comm);
    std::vector<float> root = mine;
    comm->broadcast(root.data(), root.size(), 0);
    if (run.sync) expect(mine == root, what + ": rank " + std::to_string(comm->rank()) + "'s weights or running statistics differ from rank 0's");
    if (comm->rank() != 0) continue;
    const std::vector<float> single = train_20_steps(cnn, run, nullptr);
    const double difference = test::max_relative_error(mine, single);
    std::printf("%s: max relative difference to 1 process x batch 8 after %lld steps: %.3g\n", what.c_str(),
                static_cast<long long>(kSteps), difference);
    if (run.sync)
      expect(difference <= 1e-5, what + ": 2 ranks x batch 4 and 1 process x batch 8 end with different weights or running statistics");
    else
      expect(difference > 1e-5, what + ": local BatchNorm should differ from the global batch's (else this test cannot tell)");
    expect(test::max_relative_error(single, initial) > 1e-3, what + ": training did not move the weights");
  }
  comm->barrier();
}

void write_fixture(const fs::path& dir) {
  const fs::path cnn = test::train_fixtures() / "cnn";
  fs::create_directories(dir);
  onnx_io::save_model(with_symbolic_batch(onnx_io::load_model(cnn / "model.onnx")), dir / "cnn.onnx");
  const std::vector<float> inputs = ir::npy_floats(ir::read_npy(cnn / "inputs.npy"));
  const std::vector<int64_t> labels = ir::npy_int64s(ir::read_npy(cnn / "targets.npy"));
  for (const char* split : {"train", "test"}) {
    fs::create_directories(dir / "data" / split);
    ir::write_npy(dir / "data" / split / "inputs.npy", {kExamples, 1, 12, 12}, inputs);
    ir::write_npy(ir::Tensor::from_bytes(ir::DataType::int64, {kExamples}, labels.data(), labels.size() * sizeof(int64_t)),
                  dir / "data" / split / "labels.npy");
  }
}

int compare(const fs::path& a, const fs::path& b) {
  const std::vector<float> weights = initializer_values(onnx_io::load_model(b));
  const double difference = test::max_relative_error(initializer_values(onnx_io::load_model(a)), weights);
  std::printf("max relative difference of %s to %s: %.3g\n", a.filename().c_str(), b.filename().c_str(), difference);
  const std::vector<float> initial = initializer_values(onnx_io::load_model(test::train_fixtures() / "cnn" / "model.onnx"));
  if (test::max_relative_error(weights, initial) <= 1e-3) {
    std::printf("%s has (almost) the fixture's initial weights: training did not move them\n", b.filename().c_str());
    return 3;
  }
  return difference <= 1e-5 ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    if (argc == 3 && std::string(argv[1]) == "--write-fixture") {
      write_fixture(argv[2]);
      return 0;
    }
    if (argc == 4 && std::string(argv[1]) == "--compare") return compare(argv[2], argv[3]);
  } catch (const Error& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 2;
  }
  return test::run_on_two_ranks(argc, argv, check_equivalence);
}
