// Multidirectional (numpy) broadcasting for the engine-misc reference kernels.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace mhub::engine::cpu {

// The broadcast shape of a and b (ops::broadcast_shapes); throws mhub::Error (format) naming `who` when incompatible.
std::vector<int64_t> broadcast_shape(const std::vector<int64_t>& a, const std::vector<int64_t>& b,
                                     const std::string& who);

// Maps flat indices of an output of shape `out` to flat indices of an input of shape `in`
// (right-aligned, size-1 axes repeat).
class BroadcastMap {
 public:
  BroadcastMap(const std::vector<int64_t>& in, const std::vector<int64_t>& out);
  uint64_t operator()(uint64_t out_index) const;

 private:
  std::vector<int64_t> out_dims_;
  std::vector<uint64_t> in_strides_;  // per output axis; 0 where broadcast
};

}  // namespace mhub::engine::cpu
