// The collective family: AllReduce (engine/ir/internal_ops.def) over the session's
// Collectives (engine/core/collectives.h). The inputs are packed end to end so that any number
// of them costs one collective; without collectives the session is a world of one and the
// outputs are copies of the inputs.
#include <cstring>
#include <vector>

#include "engine/cpu/cpu_kernels.h"
#include "engine/cpu/nn_util.h"

namespace mhub::engine::cpu {

namespace {

template <typename T>
void all_reduce_as(OpContext& ctx, ir::DataType dtype) {
  const size_t count = ctx.input_count();
  size_t total = 0;
  for (size_t i = 0; i < count; ++i) total += ctx.input(i).numel();
  std::vector<T> packed(total);
  size_t at = 0;
  for (size_t i = 0; i < count; ++i) {
    const ir::Tensor& x = ctx.input(i);
    if (x.numel()) std::memcpy(packed.data() + at, x.data<T>(), x.numel() * sizeof(T));
    at += x.numel();
  }
  if (Collectives* collectives = ctx.collectives(); collectives && total) collectives->all_reduce_sum(packed.data(), total);
  at = 0;
  for (size_t i = 0; i < count; ++i) {
    const ir::Tensor& x = ctx.input(i);
    ir::Tensor& y = ctx.allocate_output(i, dtype, x.dims);
    if (x.numel()) std::memcpy(y.storage->mutable_data() + y.offset, packed.data() + at, x.numel() * sizeof(T));
    at += x.numel();
  }
}

void all_reduce(OpContext& ctx) {
  if (ctx.input_count() == 0 || ctx.input_count() != ctx.output_count()) fail(ctx, "needs one output per input and at least one input");
  for (size_t i = 0; i < ctx.input_count(); ++i)
    if (!ctx.has_input(i)) fail(ctx, "input " + std::to_string(i) + " is absent");
  if (ctx.input(0).dtype == ir::DataType::float32)
    all_reduce_as<float>(ctx, ir::DataType::float32);
  else
    all_reduce_as<double>(ctx, ir::DataType::float64);
}

// float32 or float64, every input the same type.
bool one_float_type(const ir::Node&, std::span<const ir::DataType> types) {
  if (types.empty() || (types[0] != ir::DataType::float32 && types[0] != ir::DataType::float64)) return false;
  for (ir::DataType t : types)
    if (t != types[0]) return false;
  return true;
}

}  // namespace

void add_collective_kernels(std::vector<KernelDef>& table) {
  table.push_back({ir::OpKind::AllReduce, KernelKind::reference, all_reduce, one_float_type});
}

}  // namespace mhub::engine::cpu
