#include "engine/train/loader.h"

#include "common/error.h"
#include "engine/dist/sampler.h"

namespace mhub::train {

BatchLoader::BatchLoader(const Dataset& dataset, LoaderOptions options) : dataset_(dataset), options_(std::move(options)) {
  if (options_.batch_size < 1) throw Error(ErrorCategory::usage, "--batch-size must be at least 1");
  if (options_.queue_capacity < 1) options_.queue_capacity = 1;
  order_.resize(dataset_.size());
  for (size_t i = 0; i < order_.size(); ++i) order_[i] = i;
  if (options_.shuffle) {
    Rng rng = Rng::derived(options_.seed, static_cast<uint64_t>(options_.epoch));
    for (size_t i = order_.size(); i > 1; --i) std::swap(order_[i - 1], order_[rng.below(i)]);  // Fisher-Yates
  }
  if (options_.shard_count > 1) order_ = dist::shard_order(order_, options_.shard_rank, options_.shard_count, options_.shard_pad);
  const auto n = static_cast<int64_t>(order_.size());
  batch_count_ = options_.drop_last ? n / options_.batch_size : (n + options_.batch_size - 1) / options_.batch_size;
  thread_ = std::thread([this] { produce(); });
}

BatchLoader::~BatchLoader() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  changed_.notify_all();
  thread_.join();
}

Batch BatchLoader::assemble(size_t first, size_t rows) const {
  Batch batch;
  const auto data_shape = dataset_.example_shape();
  const bool image = data_shape.size() == 3;
  const auto shape = image && !options_.image_shape.empty() ? options_.image_shape : data_shape;
  batch.input_dims = {static_cast<int64_t>(rows)};
  batch.input_dims.insert(batch.input_dims.end(), shape.begin(), shape.end());
  for (size_t r = 0; r < rows; ++r) {
    const size_t index = order_[first + r];
    Example e = dataset_.get(index);
    if (image) {
      e.input = fit_image(e.input, data_shape, shape);
      if (options_.augment) {
        Rng rng = Rng::derived(options_.seed, static_cast<uint64_t>(options_.epoch) + 1, index);
        augment_image(e.input, shape[0], shape[1], shape[2], options_.augmentation, rng);
      } else {
        normalize_image(e.input, shape[0], options_.augmentation.mean, options_.augmentation.std);
      }
    }
    batch.inputs.insert(batch.inputs.end(), e.input.begin(), e.input.end());
    if (e.target.empty()) batch.labels.push_back(e.label);
    else batch.targets.insert(batch.targets.end(), e.target.begin(), e.target.end());
  }
  return batch;
}

void BatchLoader::produce() {
  try {
    for (int64_t b = options_.skip_batches; b < batch_count_; ++b) {
      const size_t first = static_cast<size_t>(b * options_.batch_size);
      const size_t rows = std::min(order_.size() - first, static_cast<size_t>(options_.batch_size));
      Batch batch = assemble(first, rows);
      std::unique_lock lock(mutex_);
      changed_.wait(lock, [&] { return stopping_ || queue_.size() < options_.queue_capacity; });
      if (stopping_) return;
      queue_.push_back(std::move(batch));
      changed_.notify_all();
    }
  } catch (...) {
    std::lock_guard lock(mutex_);
    error_ = std::current_exception();
  }
  std::lock_guard lock(mutex_);
  finished_ = true;
  changed_.notify_all();
}

std::optional<Batch> BatchLoader::next() {
  std::unique_lock lock(mutex_);
  changed_.wait(lock, [&] { return !queue_.empty() || finished_; });
  if (!queue_.empty()) {
    Batch batch = std::move(queue_.front());
    queue_.pop_front();
    changed_.notify_all();
    return batch;
  }
  if (error_) std::rethrow_exception(error_);
  return std::nullopt;
}

}  // namespace mhub::train
