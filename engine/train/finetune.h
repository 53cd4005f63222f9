// What `mhub finetune` and `mhub eval` do, as library calls (the CLI only parses and prints).
//
// finetune: data (dataset.h) -> background loader -> Trainer steps with a learning-rate
// schedule -> per-epoch evaluation on the test split -> metrics (metrics.jsonl + TensorBoard,
// when logdir is set) -> checkpoint `<out>.ckpt.safetensors` after every epoch (weights,
// optimizer state, epoch, optimizer steps, seed) -> the fine-tuned model written atomically.
// `resume` continues from such a checkpoint and ends with the same weights an uninterrupted
// run would have (data order and augmentation are functions of seed and epoch).
//
// Data-parallel (trainer.comm with N > 1 ranks, e.g. under mpirun): every rank runs finetune
// with the same options; rank r reads shard r of each epoch's permutation (engine/dist/
// sampler.h: padded by wrapping, so each epoch has ceil(n / N) / batch_size batches per rank)
// with batch_size examples per rank, so one optimizer step sees N x batch_size examples.
// Training loss and accuracy and the evaluation are reduced over all ranks; only rank 0 writes
// the checkpoint, the model, metrics.jsonl / TensorBoard events and reports progress. --resume
// reads the checkpoint on every rank (a shared file system, or a copy on each machine).
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include "engine/ir/graph.h"
#include "engine/train/augment.h"
#include "engine/train/schedules.h"
#include "engine/train/trainer.h"

namespace mhub::train {

struct FinetuneOptions {
  std::filesystem::path model_path;
  std::string data;
  std::filesystem::path out;
  int epochs = 1;
  int64_t batch_size = 32;
  double lr = 1e-3;
  std::string schedule = "constant";
  int64_t warmup_steps = 0;
  int64_t num_classes = 0;          // > 0: replace the classifier head when its width differs
  uint64_t seed = 0;
  std::filesystem::path logdir;     // empty: no logs
  std::filesystem::path resume;     // empty: start fresh
  bool augment = false;             // random crop (padding 2) + horizontal flip on image data
  std::vector<float> mean, std;     // normalisation of image data
  std::vector<int64_t> input_size;  // {H, W} for models whose input leaves them open (else the data's)
  int64_t limit_batches = 0;        // > 0: at most this many batches per epoch (quick runs)
  int stop_after_epochs = 0;        // > 0: end this run after that many epochs (resume later)
  TrainerOptions trainer;
};

struct EpochReport {
  int epoch = 0;
  int64_t steps = 0;                // optimizer steps so far
  double train_loss = 0, train_accuracy = 0;
  double eval_loss = 0, eval_accuracy = 0;
  int64_t eval_examples = 0;
  double seconds = 0;               // the whole epoch: its batches, evaluation and checkpoint
  double train_seconds = 0;         // its batches alone: steady-state throughput, without evaluation
  // Where each rank's training time went in this epoch, in seconds (index: rank; one entry
  // without ranks): waiting for the loader's next batch, then the Trainer's PhaseTimes.
  struct Phases {
    double load = 0, run = 0, gradient_sync = 0, agree = 0, update = 0;
  };
  std::vector<Phases> phases;
};

struct Progress {
  int epoch = 0, epochs = 0;
  int64_t batch = 0, batches = 0;
  double loss = 0, accuracy = 0;    // running means over the epoch so far
};

struct FinetuneResult {
  std::vector<EpochReport> epochs;
  std::vector<std::string> trainable;
  std::filesystem::path checkpoint;
  size_t optimizer_state_bytes = 0;  // held by this rank at the end (ZeRO 1: about 1/N of the whole)
};

FinetuneResult finetune(const FinetuneOptions& options, const std::function<void(const Progress&)>& on_progress = {});

struct EvalReport {
  int64_t examples = 0;
  double loss = 0, accuracy = 0;
  // The top-1 class of each example this rank evaluated, in the loader's (unshuffled) order: two
  // evaluations of the same data (e.g. fp32 and bf16) can be compared example by example.
  std::vector<int32_t> predictions;
};
// Mean `loss` (losses.h; cross-entropy unless told) and accuracy of `model` on `dataset`;
// batches of `batch_size` (the model's own batch size when its input has a fixed one). Images are fitted to the model's fixed input
// dims (fit_image); a final Softmax is skipped so the loss is computed on logits. Throws
// mhub::Error as the session does. `backend`: where the model runs (nullptr: the CPU).
EvalReport evaluate(const ir::Model& model, const Dataset& dataset, int64_t batch_size, int threads,
                    const std::vector<float>& mean = {}, const std::vector<float>& std = {},
                    const engine::Backend* backend = nullptr, LossKind loss = LossKind::cross_entropy,
                    dist::Communicator* comm = nullptr, const std::string& compute_precision = "fp32");
// With `comm` of N ranks, rank r evaluates examples r, r + N, ... (no padding: each counted
// once) and the sums are all-reduced, so every rank returns the whole data set's report.
// `compute_precision`: the session's (engine::SessionOptions::compute_precision, fp32 or bf16).

// Replaces the final Gemm's (or MatMul + bias Add's) weight and bias with freshly initialised
// ones for `classes` outputs (uniform in +-1/sqrt(fan_in), as torch.nn.Linear), or those of a
// final 1x1 Conv (group 1) whose output reaches the model's through activations, pooling,
// Dropout and Flatten(axis 1) only (SqueezeNet's head; fan_in = its input channels). Throws
// mhub::Error (unsupported) when the output is not produced by such a layer.
void replace_head(ir::Model& model, int64_t classes, uint64_t seed);

}  // namespace mhub::train
