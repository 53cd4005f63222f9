// ZeRO stage 1 (DeepSpeed's optimizer-state sharding): which floats of the parameters each rank
// updates and keeps optimizer state for.
//
// Contract: the trainable parameters are laid end to end in the given order, the length padded
// to a multiple of N; rank r owns the `shard` floats from r × shard. A step reduce-scatters the
// gradients over this layout (each rank receives the average of its shard), updates its own
// pieces of the parameters with its own optimizer state, and all-gathers the parameters. Pieces
// are the parts of parameters inside a shard, in layout order; a parameter may be split between
// ranks. Same counts and ranks give the same layout on every rank.
#pragma once

#include <cstddef>
#include <vector>

namespace mhub::dist {

struct ShardPiece {
  size_t param = 0;     // index into the counts
  size_t begin = 0;     // first float within the parameter
  size_t count = 0;
  size_t shard_at = 0;  // where it starts within the rank's shard
};

class FlatLayout {
 public:
  // Throws mhub::Error (usage) for ranks < 1.
  FlatLayout(const std::vector<size_t>& counts, int ranks);
  size_t offset(size_t param) const { return offsets_[param]; }
  size_t padded() const { return shard_ * ranks_; }
  size_t shard() const { return shard_; }
  // Throws mhub::Error (usage) for a rank outside [0, ranks).
  std::vector<ShardPiece> pieces(int rank) const;

 private:
  std::vector<size_t> counts_, offsets_;
  size_t shard_ = 0, ranks_ = 1;
};

}  // namespace mhub::dist
