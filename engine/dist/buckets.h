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

// Averages the gradients across the communicator's ranks in place, one all-reduce per bucket of
// `plan` (from plan_buckets over the same counts); `grads[i]` holds counts[i] floats.
// `staging` is scratch reused between calls.
void average_in_buckets(Communicator& comm, const std::vector<float*>& grads, const std::vector<size_t>& counts,
                        const std::vector<Bucket>& plan, std::vector<float>& staging);

}  // namespace mhub::dist
