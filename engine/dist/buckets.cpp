#include "engine/dist/buckets.h"

#include <algorithm>
#include <cstring>
#include <string>
#include <utility>

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

BucketedAverage::BucketedAverage(std::vector<size_t> counts, size_t bucket_bytes)
    : counts_(std::move(counts)), plan_(plan_buckets(counts_, bucket_bytes)) {
  bucket_of_.resize(counts_.size());
  staging_.resize(plan_.size());
  for (size_t b = 0; b < plan_.size(); ++b) {
    for (size_t i = plan_[b].first; i < plan_[b].last; ++i) bucket_of_[i] = b;
    if (plan_[b].last - plan_[b].first > 1) staging_[b].resize(plan_[b].floats);
  }
}

void BucketedAverage::begin(Communicator& comm) {
  comm_ = &comm;
  data_.assign(counts_.size(), nullptr);
  missing_.resize(plan_.size());
  for (size_t b = 0; b < plan_.size(); ++b) missing_[b] = plan_[b].last - plan_[b].first;
  next_ = 0;
  started_early_ = 0;
}

void BucketedAverage::ready(size_t i, float* data) {
  if (!comm_ || i >= counts_.size() || data_[i])
    throw Error(ErrorCategory::internal, "gradient buckets: gradient " + std::to_string(i) + " handed over twice, out of range or before begin()");
  data_[i] = data;
  --missing_[bucket_of_[i]];
  const size_t before = next_;
  start_ready_buckets();
  started_early_ += next_ - before;
  if (next_ == before) comm_->progress();  // a start tests the pending reductions itself
}

void BucketedAverage::progress() {
  if (comm_ && next_ > 0) comm_->progress();
}

void BucketedAverage::start_ready_buckets() {
  while (next_ < plan_.size() && missing_[next_] == 0) start(next_++);
}

void BucketedAverage::start(size_t b) {
  const Bucket& bucket = plan_[b];
  if (bucket.last - bucket.first == 1) {  // one gradient: reduce it where it lies
    comm_->start_all_reduce(data_[bucket.first], counts_[bucket.first], Reduce::average);
    return;
  }
  size_t at = 0;
  for (size_t i = bucket.first; i < bucket.last; ++i) {
    std::memcpy(staging_[b].data() + at, data_[i], counts_[i] * sizeof(float));
    at += counts_[i];
  }
  comm_->start_all_reduce(staging_[b].data(), bucket.floats, Reduce::average);
}

void BucketedAverage::finish(const std::vector<float*>& grads) {
  if (!comm_ || grads.size() != counts_.size())
    throw Error(ErrorCategory::internal, "gradient buckets: finish() without begin() or with another number of gradients");
  for (size_t i = 0; i < counts_.size(); ++i)
    if (!data_[i]) {
      data_[i] = grads[i];
      --missing_[bucket_of_[i]];
    }
  start_ready_buckets();
  comm_->wait_all_reduces();
  for (size_t b = 0; b < plan_.size(); ++b) {
    if (plan_[b].last - plan_[b].first == 1) continue;
    size_t at = 0;
    for (size_t i = plan_[b].first; i < plan_[b].last; ++i) {
      std::memcpy(data_[i], staging_[b].data() + at, counts_[i] * sizeof(float));
      at += counts_[i];
    }
  }
  comm_ = nullptr;
}

}  // namespace mhub::dist
