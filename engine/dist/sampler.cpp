#include "engine/dist/sampler.h"

#include <string>

#include "common/error.h"

namespace mhub::dist {

std::vector<size_t> shard_order(const std::vector<size_t>& order, int rank, int count, bool pad) {
  if (count < 1 || rank < 0 || rank >= count)
    throw Error(ErrorCategory::usage, "data shard " + std::to_string(rank) + " of " + std::to_string(count) + " does not exist");
  const size_t n = order.size(), ranks = static_cast<size_t>(count);
  if (n == 0) return {};
  const size_t total = pad ? (n + ranks - 1) / ranks * ranks : n;
  std::vector<size_t> shard;
  shard.reserve(total / ranks + 1);
  for (size_t position = static_cast<size_t>(rank); position < total; position += ranks) shard.push_back(order[position % n]);
  return shard;
}

}  // namespace mhub::dist
