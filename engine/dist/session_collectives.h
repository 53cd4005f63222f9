// A Communicator as the collectives a Session's kernels call in the middle of a run
// (engine/core/collectives.h: the AllReduce op of synchronised BatchNorm). Each call is the
// communicator's blocking all-reduce: ordered after the non-blocking gradient reductions started
// before it, and bounded by the communicator's timeout (--dist-timeout) like every collective.
#pragma once

#include "engine/core/collectives.h"
#include "engine/dist/communicator.h"

namespace mhub::dist {

class SessionCollectives final : public engine::Collectives {
 public:
  explicit SessionCollectives(Communicator& comm) : comm_(comm) {}  // `comm` must outlive this
  int size() const override { return comm_.size(); }
  void all_reduce_sum(float* data, size_t count) override { comm_.all_reduce(data, count, Reduce::sum); }
  void all_reduce_sum(double* data, size_t count) override { comm_.all_reduce(data, count, Reduce::sum); }

 private:
  Communicator& comm_;
};

}  // namespace mhub::dist
