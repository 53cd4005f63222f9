// A backend: a device with its kernels and its memory (the CPU now; CUDA later).
//
// The session asks each backend, in priority order, whether it can run a node; nodes no
// preferred backend takes fall back to the CPU, and --verbose shows where each node runs.
// Tensors handed between backends cross through copy_to_host / copy_from_host; for the CPU
// both are the identity (no copy).
#pragma once

#include <span>
#include <string_view>

#include "engine/core/kernel.h"

namespace mhub::engine {

class Backend {
 public:
  virtual ~Backend() = default;
  virtual std::string_view name() const = 0;
  // Whether any kernel for the node's op exists here (input types not yet known: used at load
  // time to place nodes and to list unsupported ops up front).
  virtual bool has_op(const ir::Node& node) const = 0;
  // The kernel to run `node` with inputs of these element types; nullptr when none fits.
  virtual const KernelDef* find_kernel(const ir::Node& node,
                                       std::span<const ir::DataType> input_types,
                                       bool allow_fast) const = 0;
  // A host (CPU memory) tensor with the same contents; may return `tensor` itself.
  virtual ir::Tensor copy_to_host(const ir::Tensor& tensor) const = 0;
  // A tensor living on this backend with the contents of host tensor `tensor`.
  virtual ir::Tensor copy_from_host(const ir::Tensor& tensor) const = 0;
};

}  // namespace mhub::engine
