// Which examples each rank reads: PyTorch's DistributedSampler.
//
// Contract: every rank starts from the same order (one seeded permutation of the whole data
// set per epoch, engine/train/loader.h), and rank r takes positions r, r + N, r + 2N, ... of it.
// With `pad` (PyTorch's default, drop_last=False) the order is first extended by wrapping
// around to its start until its length is a multiple of N, so every rank gets
// ceil(n / N) examples and a few examples are seen twice per epoch; without it (evaluation,
// where counts must be exact) the shards are disjoint and cover every example once, ranks
// below n mod N holding one more.
#pragma once

#include <cstddef>
#include <vector>

namespace mhub::dist {

// Throws mhub::Error (usage) when count < 1 or rank is outside [0, count).
std::vector<size_t> shard_order(const std::vector<size_t>& order, int rank, int count, bool pad);

}  // namespace mhub::dist
