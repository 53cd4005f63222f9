#include "engine/cpu/cpu_backend.h"

#include "engine/cpu/cpu_kernels.h"

namespace mhub::engine::cpu {

namespace {

class CpuBackend final : public Backend {
 public:
  std::string_view name() const override { return "cpu"; }

  bool has_op(const ir::Node& node) const override {
    if (node.op == ir::OpKind::opaque) return false;
    for (const KernelDef& def : cpu_kernel_table())
      if (def.op == node.op) return true;
    return false;
  }

  const KernelDef* find_kernel(const ir::Node& node, std::span<const ir::DataType> input_types,
                               bool allow_fast) const override {
    return engine::find_kernel(cpu_kernel_table(), node, input_types, allow_fast);
  }

  // Host memory is this backend's memory: nothing to move.
  ir::Tensor copy_to_host(const ir::Tensor& tensor) const override { return tensor; }
  ir::Tensor copy_from_host(const ir::Tensor& tensor) const override { return tensor; }
};

}  // namespace

const Backend& cpu_backend() {
  static const CpuBackend backend;
  return backend;
}

}  // namespace mhub::engine::cpu
