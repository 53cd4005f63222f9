// Fine-tuning an ONNX classifier on the CPU engine: a training graph (engine/autograd) run by a
// Session whose trainable initializers the optimizer updates in place between runs.
//
// Contract: the Trainer owns its copy of the model; parameters live in owned storage shared
// with the session, which knows them as mutable initializers (never folded, never cached by
// kernels), so updates are always seen. One Trainer serves one
// batch size (the training graph has static shapes); the data loader drops the last partial
// batch. The loss is TrainerOptions::loss (losses.h: mean cross-entropy with optional label
// smoothing, MSE, L1 or BCE-with-logits against the batch's class labels).
#pragma once

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "engine/dist/buckets.h"
#include "engine/dist/communicator.h"
#include "engine/dist/zero.h"
#include "engine/ir/graph.h"
#include "engine/train/checkpoint.h"
#include "engine/train/loader.h"
#include "engine/train/losses.h"
#include "engine/train/optimizers.h"

namespace mhub::engine {
class Backend;
class Collectives;
class Session;
class ThreadPool;
}

namespace mhub::train {

struct TrainerOptions {
  int threads = 0;
  std::string optimizer = "adamw";      // sgd | adamw
  double momentum = 0.9;                // sgd
  bool nesterov = false;                // sgd
  double weight_decay = -1;             // < 0: 0 for sgd, 0.01 for adamw
  LossKind loss = LossKind::cross_entropy;
  float label_smoothing = 0;            // cross-entropy only
  double clip_norm = 0;                 // 0: no clipping
  int accumulate = 1;                   // batches per optimizer step
  std::vector<std::string> freeze;      // globs of parameter names kept fixed
  uint64_t seed = 0;                    // dropout masks: Rng::derived(seed, batch number, mask)
  bool verbose = false;                 // time every node of the training graph (op_times_ms)
  // Where the training graph runs (engine/devices.h; e.g. CUDA), the CPU taking what it lacks;
  // nullptr: the CPU. The optimizer updates the parameters in host memory after each step.
  const engine::Backend* backend = nullptr;
  // "fp32"; "bf16": Conv, ConvTranspose, Gemm and MatMul (and their gradients) compute in
  // bfloat16 (torch.autocast's split) with float32 master weights and optimizer: on the CPU
  // through the session's bf16 compute hint (float32 values, bfloat16 products where the CPU has
  // bf16 units, float32 elsewhere), on a device through autocast.h's Casts; "fp16": the
  // same in float16 with dynamic loss scaling as torch's GradScaler: the scale starts at
  // initial_loss_scale, a step whose gradients hold inf/NaN is skipped and halves it, and 2000
  // clean steps in a row double it.
  std::string precision = "fp32";
  double initial_loss_scale = 65536.0;
  // A batch whose input, loss or gradients hold NaN/inf (outside fp16's loss scaling): "stop"
  // throws mhub::Error (format) naming the step and the first such tensor; "skip" drops the
  // accumulation window as fp16 does (StepStats::nonfinite) and goes on.
  std::string on_nonfinite = "stop";
  // Data-parallel training (PyTorch DDP semantics; docs/DISTRIBUTED.md): with a communicator of
  // more than one rank, the constructor broadcasts rank 0's float initializers, every optimizer
  // step averages the gradients across ranks (all-reduce in buckets of about `bucket_bytes`,
  // filled in the order backward produces the gradients), and ranks agree on skipping or
  // stopping at a non-finite batch. A bucket's non-blocking all-reduce starts as soon as the
  // session has produced its last gradient (engine::RunHooks), while backward computes the rest;
  // with `accumulate` > 1 that is during the window's last batch, on the summed and divided
  // gradients (the same values as averaging after backward). BatchNorm statistics stay local to
  // each rank unless sync_batchnorm.
  // nullptr or one rank: a plain single-process trainer. Must outlive the Trainer.
  dist::Communicator* comm = nullptr;
  size_t bucket_bytes = dist::kDefaultBucketBytes;
  // Synchronised BatchNorm (torch's SyncBatchNorm; --sync-bn): training-mode BatchNormalization
  // normalises with the mean and variance of the global batch (every rank's examples), forward
  // and backward, and the running statistics follow those, so they stay the same on every rank.
  // Costs two small all-reduces per BatchNormalization per batch (one in forward, one in
  // backward). With one rank it changes nothing (plain BatchNorm), as in torch.
  bool sync_batchnorm = false;
  // 1: ZeRO stage 1 (engine/dist/zero.h): each rank keeps the optimizer state of its 1/N of
  // the parameters; a step reduce-scatters the gradients instead of all-reducing them, updates
  // the rank's shard and all-gathers the parameters. checkpoint() gathers the whole state (a
  // collective: every rank calls it), restore() takes a whole one, so checkpoints resume on any
  // number of ranks, with or without ZeRO. 0: every rank holds all optimizer state.
  int zero = 0;
  // The optimizer's element loops: fast (one vectorised pass over all parameters, threaded) or
  // the reference loops it is tested against (optimizers.h); both compute the same values.
  UpdateKernels update_kernels = UpdateKernels::fast;
};

struct StepStats {
  double loss = 0;
  int64_t correct = 0, rows = 0;
  bool stepped = false;                 // an optimizer step happened after this batch
  double grad_norm = 0;                 // before clipping (when clipping is on)
  bool skipped = false;                 // fp16: the gradients overflowed; no step, scale halved
  double loss_scale = 1;                // the scale this batch ran with (fp16), else 1
  bool nonfinite = false;               // on_nonfinite "skip" dropped this batch (loss not meaningful)
};

// Data-parallel bookkeeping (counts since construction), e.g. to see the overlap happen.
struct DistStats {
  uint64_t averaged_steps = 0;               // steps whose gradients were averaged in buckets
  uint64_t buckets = 0;                      // buckets all-reduced over those steps
  uint64_t buckets_started_in_backward = 0;  // of them, started before the session run returned
};

// Wall time of train_batch's phases on this rank, summed over every batch so far (a few clock
// reads per batch, always kept): where a data-parallel step loses time against one process.
struct PhaseTimes {
  double run_ms = 0;            // the session run: forward and backward (buckets start inside)
  double gradient_sync_ms = 0;  // after the run, blocked averaging gradients across ranks
                                // (the buckets' wait; ZeRO 1: reduce-scatter, update, all-gather)
  double agree_ms = 0;          // ranks agreeing on non-finite batches (one small all-reduce)
  double update_ms = 0;         // the rest: gradient copies, checks, clipping, optimizer step
};

class Trainer {
 public:
  // Throws mhub::Error: usage (no trainable parameters left, batch size < 1), unsupported (an
  // op without a backward rule, dynamic shapes the batch size does not fix).
  Trainer(const ir::Model& forward, const std::filesystem::path& base_dir, int64_t batch_size, TrainerOptions options);
  ~Trainer();

  // Forward + backward on one batch (rows must equal the batch size); every `accumulate`
  // batches the optimizer steps with learning rate `lr` on the averaged gradients.
  StepStats train_batch(const Batch& batch, double lr);

  const std::vector<std::string>& trainable() const { return trainable_; }
  int64_t classes() const { return classes_; }
  // With TrainerOptions::verbose: milliseconds spent per op type of the training graph, summed
  // over every batch so far, plus "(update)" for the gradient copies and optimizer steps;
  // largest first. Empty without verbose.
  std::vector<std::pair<std::string, double>> op_times_ms() const;
  Optimizer& optimizer() { return *optimizer_; }
  // The forward model with the current weights, BatchNormalization switched to inference mode.
  ir::Model export_model() const;
  // Weights ("param/<name>" for every float initializer) and optimizer state ("optim/...").
  Checkpoint checkpoint() const;
  // Throws mhub::Error (format) when the checkpoint does not fit this model.
  void restore(const Checkpoint& checkpoint);
  // Bytes of optimizer state this rank holds (with ZeRO 1 about 1/N of the whole).
  size_t optimizer_state_bytes() const;
  // Tensor storage the training step allocated so far: the session's buffer pool and the
  // trainer's own feeds (input, targets, dropout masks, loss scale). After the first step a
  // single-process step with a fixed batch shape allocates none.
  struct AllocationStats {
    size_t pool_bytes_created = 0;  // engine::Session::Stats::bytes_created
    size_t feed_bytes_created = 0;
  };
  AllocationStats allocation_stats() const;
  const DistStats& dist_stats() const { return dist_stats_; }
  PhaseTimes phase_times() const;

 private:
  float* initializer_data(const std::string& name);
  ir::Model forward_;
  std::vector<ir::ValueInfo> original_inputs_, original_outputs_;  // before the batch dim was fixed
  ir::Model training_;
  TrainerOptions options_;
  int64_t batch_size_, classes_ = 0;
  std::string input_name_;
  ir::DataType input_dtype_ = ir::DataType::float32;  // float32, or int64/int32 (token ids)
  std::vector<std::string> trainable_, running_;
  struct Mask {
    std::string input;
    std::vector<int64_t> dims;
    float ratio;
  };
  std::vector<Mask> masks_;
  int64_t batches_seen_ = 0;
  std::unique_ptr<engine::Collectives> collectives_;  // --sync-bn's AllReduce nodes: options_.comm
  std::unique_ptr<engine::Session> session_;
  std::unique_ptr<Optimizer> optimizer_;
  std::unique_ptr<engine::ThreadPool> pool_;  // the update's threads (the session has its own)
  ParallelFor parallel_;
  // Every trainable parameter, pointing at its storage; `grad` is set each step (this batch's
  // gradient output, or grad_sums_ when batches are summed or averaged across ranks).
  std::vector<Parameter> params_;
  std::vector<float*> running_data_;  // running_[k]'s storage
  GradientScan scan_;
  // Feeds reused from step to step while nothing else holds their storage.
  ir::Tensor input_feed_, target_feed_, scale_feed_;
  std::vector<ir::Tensor> mask_feeds_;
  size_t feed_bytes_created_ = 0;
  // `t` with `dims`, its bytes overwritten by the caller: the old storage when only `t` holds it.
  ir::Tensor& reusable_feed(ir::Tensor& t, const std::vector<int64_t>& dims, ir::DataType dtype = ir::DataType::float32);
  std::vector<std::vector<float>> grad_sums_;
  int pending_ = 0;
  double update_ms_ = 0;    // everything after the run; phases_ splits it
  PhaseTimes phases_;
  double loss_scale_ = 1;   // fp16 only
  int clean_steps_ = 0;     // fp16: steps since the scale last changed or overflowed
  // Adds this batch's gradient k to grad_sums_[k] (the first batch of a window assigns it); on
  // the window's last batch (`window_end`) the sum is divided by the window's length too.
  void add_gradient(size_t k, const ir::Tensor& gradient, bool window_end);
  // Data-parallel: trainable indices in the order backward produces their gradients, and the
  // bucketed averaging over them (without ZeRO).
  bool distributed() const { return options_.comm && options_.comm->size() > 1; }
  bool sharded() const { return distributed() && options_.zero == 1; }
  void sharded_step(double lr, StepStats& stats);  // ZeRO 1: reduce-scatter, update, all-gather
  std::vector<StateBuffer> gathered_state() const;
  std::unique_ptr<dist::FlatLayout> layout_;
  std::vector<dist::ShardPiece> pieces_;
  std::vector<float> flat_, shard_grads_, shard_params_;
  std::vector<size_t> backward_order_, backward_position_;  // position_[k]: k's place in order_
  std::unique_ptr<dist::BucketedAverage> averager_;
  std::vector<bool> handed_over_;  // per trainable: given to averager_ during this run
  DistStats dist_stats_;
};

}  // namespace mhub::train
