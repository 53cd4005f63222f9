#include "engine/dist/buckets.h"

#include <algorithm>
#include <cstring>

#include "common/error.h"

namespace mhub::dist {

std::vector<Bucket> plan_buckets(const std::vector<size_t>& counts, size_t bucket_bytes) {
  if (bucket_bytes < sizeof(float)) throw Error(ErrorCategory::usage, "the gradient bucket must hold at least one float");
  const size_t capacity = bucket_bytes / sizeof(float);
  std::vector<Bucket> plan;
  for (size_t i = 0; i < counts.size(); ++i) {
    if (plan.empty() || (plan.back().floats > 0 && plan.back().floats + counts[i] > capacity)) plan.push_back({i, i, 0});
    plan.back().last = i + 1;
    plan.back().floats += counts[i];
  }
  return plan;
}

void average_in_buckets(Communicator& comm, const std::vector<float*>& grads, const std::vector<size_t>& counts,
                        const std::vector<Bucket>& plan, std::vector<float>& staging) {
  if (comm.size() == 1) return;
  for (const Bucket& bucket : plan) {
    if (bucket.last - bucket.first == 1) {  // one gradient: reduce it where it lies
      comm.all_reduce(grads[bucket.first], counts[bucket.first], Reduce::average);
      continue;
    }
    staging.resize(std::max(staging.size(), bucket.floats));
    size_t at = 0;
    for (size_t i = bucket.first; i < bucket.last; ++i) {
      std::memcpy(staging.data() + at, grads[i], counts[i] * sizeof(float));
      at += counts[i];
    }
    comm.all_reduce(staging.data(), bucket.floats, Reduce::average);
    at = 0;
    for (size_t i = bucket.first; i < bucket.last; ++i) {
      std::memcpy(grads[i], staging.data() + at, counts[i] * sizeof(float));
      at += counts[i];
    }
  }
}

}  // namespace mhub::dist
