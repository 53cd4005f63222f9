// Gradient averaging in buckets, as PyTorch DDP does it: gradients are grouped, in the order the
// backward pass produces them, into buckets of about `bucket_bytes` (25 MiB by default), and each
// bucket is averaged across ranks with one all-reduce. Few large messages pay the per-message
// latency rarely; buckets that are not too large let the first ones travel while later
// gradients are still being computed (docs/DISTRIBUTED.md has the cost model).
//
// Contract: a gradient is never split; one larger than a bucket gets a bucket of its own. The
// plan depends only on the sizes and the bucket size, so every rank makes the same one.
#pragma once

#include <cstddef>
#include <vector>

#include "engine/dist/communicator.h"

namespace mhub::dist {

constexpr size_t kDefaultBucketBytes = size_t{25} << 20;

struct Bucket {
  size_t first = 0, last = 0;  // gradients [first, last) of the given order
  size_t floats = 0;           // their total length
};

// `counts[i]`: the length (floats) of gradient i, in the order backward produces them.
// Throws mhub::Error (usage) for bucket_bytes < 4.
std::vector<Bucket> plan_buckets(const std::vector<size_t>& counts, size_t bucket_bytes);

// Averages gradients across the communicator's ranks bucket by bucket while backward still
// runs: ready() hands over a gradient once its values are final; a bucket whose gradients are
// all in starts its non-blocking all-reduce (Communicator::start_all_reduce) as soon as every
// earlier bucket has started, so all ranks start the same reductions in the same order;
// finish() starts the rest and waits for all. The sums are the same as one blocking
// all-reduce per bucket after backward: the same buckets, packed the same way.
//
// Contract: begin(), then ready() at most once per gradient, then finish(); a gradient's
// memory stays untouched from its ready() to the end of finish(). A bucket of one gradient is
// reduced where it lies; the others are packed into staging memory owned here.
class BucketedAverage {
 public:
  // `counts[i]`: the length (floats) of gradient i, in the order backward produces them.
  BucketedAverage(std::vector<size_t> counts, size_t bucket_bytes);
  const std::vector<Bucket>& plan() const { return plan_; }

  void begin(Communicator& comm);
  // Gradient i (counts[i] floats at `data`) is final. When it starts no bucket, the reductions
  // already started are moved on instead (Communicator::progress).
  void ready(size_t i, float* data);
  // Between two gradients (e.g. after every node of backward): lets the buckets started so far
  // move on (Communicator::progress); nothing to do before the first has started.
  void progress();
  // Starts the buckets still waiting (gradients not handed over are taken from `grads`, which
  // holds every gradient's memory) and returns when every bucket is averaged in place.
  void finish(const std::vector<float*>& grads);
  // Buckets this step started before finish() (from ready()).
  size_t started_early() const { return started_early_; }

 private:
  void start_ready_buckets();
  void start(size_t bucket);
  std::vector<size_t> counts_;
  std::vector<Bucket> plan_;
  std::vector<size_t> bucket_of_;               // per gradient
  Communicator* comm_ = nullptr;
  std::vector<float*> data_;                    // per gradient, from ready(); nullptr: not yet
  std::vector<size_t> missing_;                 // per bucket: gradients not handed over yet
  size_t next_ = 0;                             // buckets [0, next_) have started
  size_t started_early_ = 0;
  std::vector<std::vector<float>> staging_;     // per bucket of several gradients
};

}  // namespace mhub::dist
