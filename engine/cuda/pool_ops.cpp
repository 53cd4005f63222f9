// Pooling on the CUDA backend (float32, NCHW): MaxPool / AveragePool through cuDNN (1-D and 2-D;
// a ceil_mode that adds a window, asymmetric pads, dilations and the Indices output are left to
// the CPU or refused with a clear error), GlobalAveragePool with an own kernel (pool.cu).
#include "engine/cuda/cuda_context.h"
#include "engine/cuda/cuda_kernels.h"
#include "engine/cuda/cudnn_util.h"
#include "engine/cuda/pool.cuh"
#include "engine/ops/shape.h"

namespace mhub::engine::cuda {

namespace {

bool pool_supported(const ir::Node& node, std::span<const ir::DataType> types) {
  // MaxPool's Indices output and dilations are left to the CPU.
  if (!float32_inputs(node, types) || node.outputs.size() > 1 || node.attribute("dilations")) return false;
  return node.attr_int("storage_order", 0) == 0;
}

void pool(OpContext& ctx, bool max) {
  const ir::Node& node = ctx.node();
  const ir::Tensor& x = ctx.input(0);
  if (x.dims.size() < 3) throw_error(ErrorCategory::format, ctx.describe() + ": X must have rank >= 3");
  const std::vector<int64_t> in(x.dims.begin() + 2, x.dims.end());
  const std::vector<int64_t> kernel = node.attr_ints("kernel_shape");
  if (kernel.size() != in.size()) throw_error(ErrorCategory::format, ctx.describe() + ": kernel_shape does not fit X");
  const bool ceil_mode = node.attr_int("ceil_mode", 0) != 0;
  const ops::ConvGeometry g = ops::conv_geometry(ctx.node(), in, kernel, ceil_mode);
  const Geometry2d s = geometry_2d(ctx, g);
  std::vector<int64_t> out_dims = {x.dims[0], x.dims[1]};
  out_dims.insert(out_dims.end(), g.out.begin(), g.out.end());
  // cuDNN rounds output sizes down; a ceil_mode that adds a window is the CPU's to run.
  const int64_t floor_h = (s.in_h + 2 * s.pad_h - s.k_h) / s.stride_h + 1, floor_w = (s.in_w + 2 * s.pad_w - s.k_w) / s.stride_w + 1;
  if (floor_h != s.out_h || floor_w != s.out_w)
    throw_error(ErrorCategory::unsupported, ctx.describe() + ": ceil_mode adds a window cuDNN does not make; use --device cpu");
  ir::Tensor& y = ctx.allocate_output(0, x.dtype, out_dims);
  if (y.numel() == 0) return;
  CudaContext& context = current_context();
  const cudnnPoolingMode_t mode = max ? CUDNN_POOLING_MAX_DETERMINISTIC
                                      : (node.attr_int("count_include_pad", 0) ? CUDNN_POOLING_AVERAGE_COUNT_INCLUDE_PADDING
                                                                               : CUDNN_POOLING_AVERAGE_COUNT_EXCLUDE_PADDING);
  PoolDesc pool_desc;
  MHUB_CUDNN_CHECK(cudnnSetPooling2dDescriptor(pool_desc.d, mode, CUDNN_PROPAGATE_NAN, static_cast<int>(s.k_h),
                                               static_cast<int>(s.k_w), static_cast<int>(s.pad_h), static_cast<int>(s.pad_w),
                                               static_cast<int>(s.stride_h), static_cast<int>(s.stride_w)));
  TensorDesc x_desc, y_desc;
  x_desc.set4(x.dims[0], x.dims[1], s.in_h, s.in_w);
  y_desc.set4(x.dims[0], x.dims[1], s.out_h, s.out_w);
  const float one = 1.0f, zero = 0.0f;
  MHUB_CUDNN_CHECK(cudnnPoolingForward(context.cudnn, pool_desc.d, &one, x_desc.d, x.data<float>(), &zero, y_desc.d,
                                       device_floats(y)));
}
void max_pool(OpContext& ctx) { pool(ctx, true); }
void average_pool(OpContext& ctx) { pool(ctx, false); }

void global_average_pool(OpContext& ctx) {
  const ir::Tensor& x = ctx.input(0);
  if (x.dims.size() < 3) throw_error(ErrorCategory::format, ctx.describe() + ": X must have rank >= 3");
  std::vector<int64_t> out_dims(x.dims.size(), 1);
  out_dims[0] = x.dims[0];
  out_dims[1] = x.dims[1];
  ir::Tensor& y = ctx.allocate_output(0, x.dtype, out_dims);
  global_average_pool_f32(x.data<float>(), device_floats(y), x.dims[0] * x.dims[1],
                          ops::dims_product(x.dims, 2, x.dims.size()), current_context().stream);
}

}  // namespace

void add_pool_kernels(std::vector<KernelDef>& table) {
  const KernelKind fast = KernelKind::fast;
  table.push_back({ir::OpKind::MaxPool, fast, max_pool, pool_supported});
  table.push_back({ir::OpKind::AveragePool, fast, average_pool, pool_supported});
  table.push_back({ir::OpKind::GlobalAveragePool, fast, global_average_pool, float32_inputs});
}

}  // namespace mhub::engine::cuda
