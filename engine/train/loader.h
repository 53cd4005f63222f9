// Batches for training and evaluation, assembled on a background thread.
//
// Contract: one BatchLoader covers one epoch. The example order is a permutation drawn from
// Rng::derived(seed, epoch) (or dataset order without shuffling), and each example's
// augmentation draws from Rng::derived(seed, epoch, index), so a given (seed, epoch) yields the
// same batches whatever the timing: this is what makes --seed and --resume reproducible.
// The producer stays at most `queue_capacity` batches ahead; destroying the loader stops it.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <exception>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

#include "engine/train/augment.h"
#include "engine/train/dataset.h"

namespace mhub::train {

struct Batch {
  std::vector<int64_t> input_dims;  // [rows, ...example shape]
  std::vector<float> inputs;
  std::vector<int64_t> labels;      // one per row (classification)
  std::vector<float> targets;       // rows x target width (regression)
  int64_t rows() const { return input_dims.empty() ? 0 : input_dims[0]; }
};

struct LoaderOptions {
  int64_t batch_size = 32;
  bool shuffle = true;
  bool drop_last = false;
  uint64_t seed = 0;
  int64_t epoch = 0;
  size_t queue_capacity = 4;
  bool augment = false;           // apply `augmentation` (training); otherwise normalise only
  Augmentation augmentation;      // image data ([C, H, W] examples) only
  std::vector<int64_t> image_shape;  // [C, H, W] the model takes (fit_image); empty: the data's own
  int64_t skip_batches = 0;       // resume inside an epoch: start after this many batches
  // Data-parallel runs: this rank's share of the epoch's order (engine/dist/sampler.h): shard
  // `shard_rank` of `shard_count`, padded by wrapping (training) or not (evaluation).
  int shard_rank = 0, shard_count = 1;
  bool shard_pad = true;
};

class BatchLoader {
 public:
  // `dataset` must outlive the loader. Throws mhub::Error (usage) for batch_size < 1.
  BatchLoader(const Dataset& dataset, LoaderOptions options);
  ~BatchLoader();
  BatchLoader(const BatchLoader&) = delete;
  BatchLoader& operator=(const BatchLoader&) = delete;

  // The next batch, or nullopt after the last. Rethrows an error the producer hit (e.g. a
  // corrupt image) on the caller's thread.
  std::optional<Batch> next();
  int64_t batch_count() const { return batch_count_; }

 private:
  void produce();
  Batch assemble(size_t first, size_t rows) const;

  const Dataset& dataset_;
  LoaderOptions options_;
  std::vector<size_t> order_;
  int64_t batch_count_ = 0;
  std::mutex mutex_;
  std::condition_variable changed_;
  std::deque<Batch> queue_;
  bool finished_ = false, stopping_ = false;
  std::exception_ptr error_;
  std::thread thread_;
};

}  // namespace mhub::train
