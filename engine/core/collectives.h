// Collective communication a kernel may need in the middle of a run: the AllReduce op
// (engine/ir/internal_ops.def), which synchronised BatchNorm places between the batch statistics
// and the normalisation. Whoever builds the session hands one in (SessionOptions::collectives;
// the Trainer wraps its dist::Communicator, engine/dist/session_collectives.h); a session without
// one is a world of one process, where a sum over the ranks is the value itself.
//
// Contract: every rank's session calls the same collectives in the same order with the same
// sizes (ranks run the same graph, whose plan is deterministic); a call returns when this rank's
// result is complete, the same on every rank. Failures and timeouts throw mhub::Error, which
// ends the run like any kernel error.
#pragma once

#include <cstddef>

namespace mhub::engine {

class Collectives {
 public:
  virtual ~Collectives() = default;
  virtual int size() const = 0;  // number of ranks
  // In place: every rank's `count` values summed element by element.
  virtual void all_reduce_sum(float* data, size_t count) = 0;
  virtual void all_reduce_sum(double* data, size_t count) = 0;
};

}  // namespace mhub::engine
