// A runtime value flowing between kernels: a tensor, a sequence of tensors, an optional that
// holds nothing, or nothing at all (an absent optional input).
//
// Tensors at run time are ir::Tensor: contiguous row-major bytes in a shared Storage. Copying a
// Value copies the shared_ptr, not the bytes.
#pragma once

#include <vector>

#include "engine/ir/tensor.h"

namespace mhub::engine {

struct Value {
  enum class Kind : uint8_t {
    absent,         // input not given ("" in the node's input list)
    tensor,
    sequence,       // seq(tensor)
    optional_none,  // an optional value that holds nothing
  };
  Kind kind = Kind::absent;
  ir::Tensor tensor;
  std::vector<ir::Tensor> sequence;
  ir::DataType sequence_elem = ir::DataType::undefined;  // element type, also for empty sequences

  static Value of(ir::Tensor t) {
    Value v;
    v.kind = Kind::tensor;
    v.tensor = std::move(t);
    return v;
  }
  static Value of_sequence(std::vector<ir::Tensor> items, ir::DataType elem) {
    Value v;
    v.kind = Kind::sequence;
    v.sequence = std::move(items);
    v.sequence_elem = elem;
    return v;
  }
  static Value none() {
    Value v;
    v.kind = Kind::optional_none;
    return v;
  }
  bool is_tensor() const { return kind == Kind::tensor; }
};

}  // namespace mhub::engine
