// A backend: a device with its kernels and its memory (the CPU; CUDA when built with it).
//
// A session places each node on its preferred backend when that backend has the op (has_op),
// else on the CPU, and --verbose shows where each node runs. Values cross devices only in the
// session (Session::Impl::on_device): a kernel always sees its inputs on its own backend's
// device(), except the inputs its KernelDef lists in host_inputs (shape-like operands read by
// the host code), which it sees in host memory. Kernels write outputs into memory from
// allocate_storage (through OpContext::allocate_output and the session's pool per backend).
#pragma once

#include <memory>
#include <span>
#include <string_view>

#include "engine/core/kernel.h"
#include "engine/ir/storage.h"

namespace mhub::engine {

class Backend {
 public:
  virtual ~Backend() = default;
  virtual std::string_view name() const = 0;
  // Where this backend's tensors live. The CPU: host.
  virtual ir::Device device() const { return {}; }
  // Whether any kernel for the node's op exists here (input types not yet known: used at load
  // time to place nodes and to list unsupported ops up front).
  virtual bool has_op(const ir::Node& node) const = 0;
  // The kernel to run `node` with inputs of these element types; nullptr when none fits.
  virtual const KernelDef* find_kernel(const ir::Node& node,
                                       std::span<const ir::DataType> input_types,
                                       bool allow_fast) const = 0;
  // `bytes` of uninitialised memory on device(), owned by the returned storage (which may
  // outlive the session that asked). Throws mhub::Error (internal) when the device is out of
  // memory.
  virtual std::shared_ptr<ir::Storage> allocate_storage(size_t bytes) const;
  // A host (CPU memory) tensor with the same contents; may return `tensor` itself. Waits for
  // the work that writes `tensor` to finish.
  virtual ir::Tensor copy_to_host(const ir::Tensor& tensor) const = 0;
  // A tensor on device() with the contents of host tensor `tensor`; may return `tensor` itself.
  // The host bytes may be reused as soon as this returns.
  virtual ir::Tensor copy_from_host(const ir::Tensor& tensor) const = 0;
  // Blocks until every kernel this backend has queued has finished (devices run kernels
  // asynchronously; the CPU returns at once). The session calls it before timing a node.
  virtual void synchronize() const {}
};

}  // namespace mhub::engine
