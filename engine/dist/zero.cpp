#include "engine/dist/zero.h"

#include <algorithm>
#include <string>

#include "common/error.h"

namespace mhub::dist {

FlatLayout::FlatLayout(const std::vector<size_t>& counts, int ranks) : counts_(counts) {
  if (ranks < 1) throw Error(ErrorCategory::usage, "ZeRO: " + std::to_string(ranks) + " ranks");
  ranks_ = static_cast<size_t>(ranks);
  size_t total = 0;
  for (size_t c : counts_) {
    offsets_.push_back(total);
    total += c;
  }
  shard_ = (total + ranks_ - 1) / ranks_;
}

std::vector<ShardPiece> FlatLayout::pieces(int rank) const {
  if (rank < 0 || static_cast<size_t>(rank) >= ranks_) throw Error(ErrorCategory::usage, "ZeRO: no rank " + std::to_string(rank));
  const size_t lo = static_cast<size_t>(rank) * shard_, hi = lo + shard_;
  std::vector<ShardPiece> out;
  for (size_t k = 0; k < counts_.size(); ++k) {
    const size_t begin = std::max(lo, offsets_[k]), end = std::min(hi, offsets_[k] + counts_[k]);
    if (begin < end) out.push_back({k, begin - offsets_[k], end - begin, begin - lo});
  }
  return out;
}

}  // namespace mhub::dist
