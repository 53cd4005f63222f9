// Layout ops on the CUDA backend: Transpose (float32, a gather through the broadcast plan) and
// Concat (any whole-byte element type, one 2-D device memcpy per input).
#include "common/error.h"
#include "engine/core/op_context.h"
#include "engine/cuda/cuda_check.h"
#include "engine/cuda/cuda_context.h"
#include "engine/cuda/cuda_kernels.h"
#include "engine/cuda/layout.cuh"
#include "engine/ops/shape.h"

namespace mhub::engine::cuda {

namespace {

void transpose(OpContext& ctx) {
  const ir::Tensor& x = ctx.input(0);
  std::vector<int64_t> perm = ctx.node().attr_ints("perm");
  if (perm.empty())
    for (size_t i = x.dims.size(); i-- > 0;) perm.push_back(static_cast<int64_t>(i));  // default: reversed
  ops::BroadcastPlan plan;
  if (!ops::make_transpose_plan(x.dims, perm, plan))
    throw_error(ErrorCategory::format, ctx.describe() + ": perm is not a permutation of the input's axes (or rank > 8)");
  std::vector<int64_t> out_dims(perm.size());
  for (size_t i = 0; i < perm.size(); ++i) out_dims[i] = x.dims[static_cast<size_t>(perm[i])];
  ir::Tensor& y = ctx.allocate_output(0, x.dtype, out_dims);
  broadcast_copy_f32(plan, x.data<float>(), device_floats(y), current_context().stream);
}

// Concat needs no kernel: each input is a block of `outer` rows copied into its column range of
// the output, one 2-D memcpy per input. Any element type of whole bytes.
bool concat_supported(const ir::Node&, std::span<const ir::DataType> types) {
  if (types.empty()) return false;
  for (ir::DataType type : types)
    if (type != types[0] || type == ir::DataType::string || ir::bits_of(type) % 8 != 0 || ir::bits_of(type) == 0) return false;
  return true;
}

void concat(OpContext& ctx) {
  const ir::Tensor& first = ctx.input(0);
  const int64_t rank = static_cast<int64_t>(first.dims.size());
  if (rank == 0) throw_error(ErrorCategory::format, ctx.describe() + ": Concat inputs must have rank >= 1");
  const int64_t axis = ops::normalize_axis(ctx.node(), ctx.node().attr_int("axis", 0), rank);
  std::vector<int64_t> out_dims = first.dims;
  out_dims[axis] = 0;
  for (size_t i = 0; i < ctx.input_count(); ++i) {
    const ir::Tensor& t = ctx.input(i);
    if (static_cast<int64_t>(t.dims.size()) != rank)
      throw_error(ErrorCategory::format, ctx.describe() + ": Concat inputs must have the same rank");
    for (int64_t d = 0; d < rank; ++d)
      if (d != axis && t.dims[d] != first.dims[d])
        throw_error(ErrorCategory::format, ctx.describe() + ": Concat inputs differ outside the axis");
    out_dims[axis] += t.dims[axis];
  }
  ir::Tensor& y = ctx.allocate_output(0, first.dtype, out_dims);
  if (y.numel() == 0) return;
  const size_t element = ir::bits_of(first.dtype) / 8;
  const int64_t outer = ops::dims_product(first.dims, 0, static_cast<size_t>(axis));
  const int64_t inner = ops::dims_product(first.dims, static_cast<size_t>(axis + 1), first.dims.size());
  const size_t out_row = static_cast<size_t>(out_dims[axis] * inner) * element;
  uint8_t* out = y.storage->mutable_data() + y.offset;
  CudaContext& context = current_context();
  size_t column = 0;
  for (size_t i = 0; i < ctx.input_count(); ++i) {
    const ir::Tensor& t = ctx.input(i);
    const size_t row = static_cast<size_t>(t.dims[axis] * inner) * element;
    if (row > 0 && outer > 0)
      MHUB_CUDA_CHECK(cudaMemcpy2DAsync(out + column, out_row, t.bytes(), row, row, static_cast<size_t>(outer),
                                        cudaMemcpyDeviceToDevice, context.stream));
    column += row;
  }
}

}  // namespace

void add_layout_kernels(std::vector<KernelDef>& table) {
  const KernelKind fast = KernelKind::fast;
  table.push_back({ir::OpKind::Transpose, fast, transpose, float32_inputs});
  table.push_back({ir::OpKind::Concat, fast, concat, concat_supported});
}

}  // namespace mhub::engine::cuda
