#include "engine/cpu/misc_broadcast.h"

#include "common/error.h"
#include "engine/ops/broadcast.h"

namespace mhub::engine::cpu {

std::vector<int64_t> broadcast_shape(const std::vector<int64_t>& a, const std::vector<int64_t>& b,
                                     const std::string& who) {
  std::vector<int64_t> out;
  if (!ops::broadcast_shapes({a, b}, out))
    throw_error(ErrorCategory::format, who + ": shapes cannot broadcast (" + std::to_string(a.size()) + "-D vs " +
                                           std::to_string(b.size()) + "-D, a dimension differs)");
  return out;
}

BroadcastMap::BroadcastMap(const std::vector<int64_t>& in, const std::vector<int64_t>& out)
    : out_dims_(out), in_strides_(out.size(), 0) {
  uint64_t stride = 1;
  size_t shift = out.size() - in.size();
  for (size_t i = in.size(); i-- > 0;) {
    if (in[i] != 1) in_strides_[i + shift] = stride;
    stride *= static_cast<uint64_t>(in[i]);
  }
}

uint64_t BroadcastMap::operator()(uint64_t out_index) const {
  uint64_t result = 0;
  for (size_t d = out_dims_.size(); d-- > 0;) {
    uint64_t size = static_cast<uint64_t>(out_dims_[d]);
    result += (out_index % size) * in_strides_[d];
    out_index /= size;
  }
  return result;
}

}  // namespace mhub::engine::cpu
