// Neural-net ops on the CUDA backend (float32, NCHW): Conv and pooling through cuDNN, inference
// BatchNormalization, GlobalAveragePool, Softmax / LogSoftmax with own kernels (nn.cu).
// Geometry (pads after auto_pad, output sizes) comes from the CPU's conv_geometry so both
// backends agree on shapes; what cuDNN cannot express (asymmetric pads, ceil_mode that changes
// the output size) raises a clear unsupported error naming the node.
#include <cudnn.h>

#include <cstdlib>
#include <map>
#include <mutex>
#include <string>

#include "common/error.h"
#include "engine/core/op_context.h"
#include "engine/cpu/conv_geometry.h"
#include "engine/cpu/epilogue.h"
#include "engine/cpu/nn_util.h"
#include "engine/cuda/cuda_check.h"
#include "engine/cuda/cuda_context.h"
#include "engine/cuda/cuda_kernels.h"
#include "engine/cuda/matmul.cuh"
#include "engine/cuda/nn.cuh"

namespace mhub::engine::cuda {

namespace {

bool float32_inputs(const ir::Node&, std::span<const ir::DataType> types) {
  if (types.empty() || types[0] != ir::DataType::float32) return false;
  for (ir::DataType type : types)
    if (type != ir::DataType::float32 && type != ir::DataType::undefined) return false;
  return true;
}

// 1-D and 2-D spatial inputs ([N, C, L] is run as [N, C, 1, L]); the NHWC hand-over attributes
// of CPU sessions are never set for device sessions, but are refused to be safe.
bool conv_supported(const ir::Node& node, std::span<const ir::DataType> types) {
  if (!float32_inputs(node, types) || node.attribute("mhub_layout_in") || node.attribute("mhub_layout_out")) return false;
  return true;
}

bool pool_supported(const ir::Node& node, std::span<const ir::DataType> types) {
  // MaxPool's Indices output and dilations are left to the CPU.
  if (!float32_inputs(node, types) || node.outputs.size() > 1 || node.attribute("dilations")) return false;
  return node.attr_int("storage_order", 0) == 0;
}

bool inference_batch_norm(const ir::Node& node, std::span<const ir::DataType> types) {
  return float32_inputs(node, types) && node.attr_int("training_mode", 0) == 0 && node.outputs.size() == 1;
}

// Tensor descriptors are cheap to make; the algorithm choice is not, so it is cached per
// shapes + attributes (never per node address: sessions come and go).
struct ConvChoice {
  cudnnConvolutionFwdAlgo_t algorithm = CUDNN_CONVOLUTION_FWD_ALGO_IMPLICIT_GEMM;
  size_t workspace_bytes = 0;
};
std::mutex choices_mutex;
std::map<std::string, ConvChoice> conv_choices;

bool tf32_allowed() {
  const char* tf32 = std::getenv("MHUB_CUDA_TF32");
  return tf32 && std::string(tf32) == "1";
}

// RAII holders so an error thrown midway releases the descriptors.
struct TensorDesc {
  cudnnTensorDescriptor_t d = nullptr;
  TensorDesc() { MHUB_CUDNN_CHECK(cudnnCreateTensorDescriptor(&d)); }
  ~TensorDesc() { cudnnDestroyTensorDescriptor(d); }
  void set4(int64_t n, int64_t c, int64_t h, int64_t w) {
    MHUB_CUDNN_CHECK(cudnnSetTensor4dDescriptor(d, CUDNN_TENSOR_NCHW, CUDNN_DATA_FLOAT, static_cast<int>(n),
                                                static_cast<int>(c), static_cast<int>(h), static_cast<int>(w)));
  }
};
struct FilterDesc {
  cudnnFilterDescriptor_t d = nullptr;
  FilterDesc() { MHUB_CUDNN_CHECK(cudnnCreateFilterDescriptor(&d)); }
  ~FilterDesc() { cudnnDestroyFilterDescriptor(d); }
};
struct ConvDesc {
  cudnnConvolutionDescriptor_t d = nullptr;
  ConvDesc() { MHUB_CUDNN_CHECK(cudnnCreateConvolutionDescriptor(&d)); }
  ~ConvDesc() { cudnnDestroyConvolutionDescriptor(d); }
};
struct PoolDesc {
  cudnnPoolingDescriptor_t d = nullptr;
  PoolDesc() { MHUB_CUDNN_CHECK(cudnnCreatePoolingDescriptor(&d)); }
  ~PoolDesc() { cudnnDestroyPoolingDescriptor(d); }
};

// The spatial geometry as 2-D (a 1-D op gets a unit first axis), or an unsupported error.
struct Geometry2d {
  int64_t in_h, in_w, k_h, k_w, out_h, out_w, pad_h, pad_w, stride_h, stride_w, dil_h, dil_w;
};

Geometry2d geometry_2d(OpContext& ctx, const cpu::ConvGeometry& g) {
  if (g.rank() != 1 && g.rank() != 2)
    throw_error(ErrorCategory::unsupported, ctx.describe() + ": the CUDA backend runs 1-D and 2-D spatial ops only; use --device cpu");
  for (size_t i = 0; i < g.rank(); ++i)
    if (g.pad_begin[i] != g.pad_end[i])
      throw_error(ErrorCategory::unsupported, ctx.describe() + ": cuDNN needs symmetric pads; use --device cpu");
  const bool one = g.rank() == 1;
  const size_t w = one ? 0 : 1;
  return {one ? 1 : g.in[0], g.in[w], one ? 1 : g.kernel[0], g.kernel[w], one ? 1 : g.out[0], g.out[w],
          one ? 0 : g.pad_begin[0], g.pad_begin[w], one ? 1 : g.stride[0], g.stride[w],
          one ? 1 : g.dilation[0], g.dilation[w]};
}

void conv(OpContext& ctx) {
  const ir::Node& node = ctx.node();
  const ir::Tensor& x = ctx.input(0);
  const ir::Tensor& w = ctx.input(1);
  if (x.dims.size() < 3 || w.dims.size() != x.dims.size())
    throw_error(ErrorCategory::format, ctx.describe() + ": X and W must have the same rank >= 3");
  const int64_t batch = x.dims[0], channels = x.dims[1], filters = w.dims[0];
  const int64_t groups = node.attr_int("group", 1);
  if (groups < 1 || channels != w.dims[1] * groups || filters % groups)
    throw_error(ErrorCategory::format, ctx.describe() + ": channels do not match the weights and groups");
  const std::vector<int64_t> in(x.dims.begin() + 2, x.dims.end()), kernel(w.dims.begin() + 2, w.dims.end());
  const cpu::ConvGeometry g = cpu::conv_geometry(ctx, in, kernel, false);
  const Geometry2d s = geometry_2d(ctx, g);
  std::vector<int64_t> out_dims = {batch, filters};
  out_dims.insert(out_dims.end(), g.out.begin(), g.out.end());
  ir::Tensor& y = ctx.allocate_output(0, x.dtype, out_dims);
  if (y.numel() == 0) return;
  CudaContext& context = current_context();

  TensorDesc x_desc, y_desc;
  FilterDesc w_desc;
  ConvDesc conv_desc;
  x_desc.set4(batch, channels, s.in_h, s.in_w);
  y_desc.set4(batch, filters, s.out_h, s.out_w);
  MHUB_CUDNN_CHECK(cudnnSetFilter4dDescriptor(w_desc.d, CUDNN_DATA_FLOAT, CUDNN_TENSOR_NCHW, static_cast<int>(filters),
                                              static_cast<int>(w.dims[1]), static_cast<int>(s.k_h), static_cast<int>(s.k_w)));
  MHUB_CUDNN_CHECK(cudnnSetConvolution2dDescriptor(conv_desc.d, static_cast<int>(s.pad_h), static_cast<int>(s.pad_w),
                                                   static_cast<int>(s.stride_h), static_cast<int>(s.stride_w),
                                                   static_cast<int>(s.dil_h), static_cast<int>(s.dil_w),
                                                   CUDNN_CROSS_CORRELATION, CUDNN_DATA_FLOAT));
  MHUB_CUDNN_CHECK(cudnnSetConvolutionGroupCount(conv_desc.d, static_cast<int>(groups)));
  // cuDNN's default math may use TF32 tensor cores for float32; FMA math keeps CPU-equal results.
  MHUB_CUDNN_CHECK(cudnnSetConvolutionMathType(conv_desc.d, tf32_allowed() ? CUDNN_TENSOR_OP_MATH_ALLOW_CONVERSION : CUDNN_FMA_MATH));

  std::string key = std::to_string(batch) + "," + std::to_string(channels) + "," + std::to_string(s.in_h) + "," +
                    std::to_string(s.in_w) + "|" + std::to_string(filters) + "," + std::to_string(s.k_h) + "," +
                    std::to_string(s.k_w) + "|" + std::to_string(s.pad_h) + "," + std::to_string(s.pad_w) + "," +
                    std::to_string(s.stride_h) + "," + std::to_string(s.stride_w) + "," + std::to_string(s.dil_h) + "," +
                    std::to_string(s.dil_w) + "," + std::to_string(groups) + (tf32_allowed() ? ",tf32" : "");
  ConvChoice choice;
  {
    std::lock_guard<std::mutex> lock(choices_mutex);
    auto found = conv_choices.find(key);
    if (found != conv_choices.end()) choice = found->second;
    else {
      cudnnConvolutionFwdAlgoPerf_t results[CUDNN_CONVOLUTION_FWD_ALGO_COUNT];
      int returned = 0;
      MHUB_CUDNN_CHECK(cudnnGetConvolutionForwardAlgorithm_v7(context.cudnn, x_desc.d, w_desc.d, conv_desc.d, y_desc.d,
                                                              CUDNN_CONVOLUTION_FWD_ALGO_COUNT, &returned, results));
      bool chosen = false;
      for (int i = 0; i < returned && !chosen; ++i)
        if (results[i].status == CUDNN_STATUS_SUCCESS) {
          choice.algorithm = results[i].algo;
          chosen = true;
        }
      if (!chosen) throw_error(ErrorCategory::unsupported, ctx.describe() + ": cuDNN has no algorithm for this convolution");
      MHUB_CUDNN_CHECK(cudnnGetConvolutionForwardWorkspaceSize(context.cudnn, x_desc.d, w_desc.d, conv_desc.d, y_desc.d,
                                                               choice.algorithm, &choice.workspace_bytes));
      conv_choices.emplace(key, choice);
    }
  }
  void* scratch = choice.workspace_bytes ? workspace(context, choice.workspace_bytes) : nullptr;
  const float one = 1.0f, zero = 0.0f;
  MHUB_CUDNN_CHECK(cudnnConvolutionForward(context.cudnn, &one, x_desc.d, x.data<float>(), w_desc.d, w.data<float>(),
                                           conv_desc.d, choice.algorithm, scratch, choice.workspace_bytes, &zero,
                                           y_desc.d, device_floats(y)));
  const float* bias = ctx.input_count() > 2 && ctx.has_input(2) ? ctx.input(2).data<float>() : nullptr;
  if (bias && static_cast<int64_t>(ctx.input(2).numel()) != filters)
    throw_error(ErrorCategory::format, ctx.describe() + ": B must hold one value per output channel");
  const cpu::Epilogue e = cpu::epilogue_of(node, bias);
  channel_epilogue_f32(device_floats(y), batch, filters, s.out_h * s.out_w, bias, device_activation(e.act), e.lo, e.hi,
                       context.stream);
}

void pool(OpContext& ctx, bool max) {
  const ir::Node& node = ctx.node();
  const ir::Tensor& x = ctx.input(0);
  if (x.dims.size() < 3) throw_error(ErrorCategory::format, ctx.describe() + ": X must have rank >= 3");
  const std::vector<int64_t> in(x.dims.begin() + 2, x.dims.end());
  const std::vector<int64_t> kernel = node.attr_ints("kernel_shape");
  if (kernel.size() != in.size()) throw_error(ErrorCategory::format, ctx.describe() + ": kernel_shape does not fit X");
  const bool ceil_mode = node.attr_int("ceil_mode", 0) != 0;
  const cpu::ConvGeometry g = cpu::conv_geometry(ctx, in, kernel, ceil_mode);
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

void batch_norm(OpContext& ctx) {
  const ir::Tensor& x = ctx.input(0);
  if (x.dims.size() < 2) throw_error(ErrorCategory::format, ctx.describe() + ": X must have rank >= 2");
  const int64_t batch = x.dims[0], channels = x.dims[1], spatial = cpu::dims_product(x.dims, 2, x.dims.size());
  for (size_t i = 1; i <= 4; ++i)
    if (static_cast<int64_t>(ctx.input(i).numel()) != channels)
      throw_error(ErrorCategory::unsupported, ctx.describe() + ": the CUDA backend needs one scale/B/mean/var value per channel");
  ir::Tensor& y = ctx.allocate_output(0, x.dtype, x.dims);
  batch_norm_inference_f32(x.data<float>(), device_floats(y), batch, channels, spatial, ctx.input(1).data<float>(),
                           ctx.input(2).data<float>(), ctx.input(3).data<float>(), ctx.input(4).data<float>(),
                           ctx.node().attr_float("epsilon", 1e-5f), current_context().stream);
}

void global_average_pool(OpContext& ctx) {
  const ir::Tensor& x = ctx.input(0);
  if (x.dims.size() < 3) throw_error(ErrorCategory::format, ctx.describe() + ": X must have rank >= 3");
  std::vector<int64_t> out_dims(x.dims.size(), 1);
  out_dims[0] = x.dims[0];
  out_dims[1] = x.dims[1];
  ir::Tensor& y = ctx.allocate_output(0, x.dtype, out_dims);
  global_average_pool_f32(x.data<float>(), device_floats(y), x.dims[0] * x.dims[1],
                          cpu::dims_product(x.dims, 2, x.dims.size()), current_context().stream);
}

// Mean / InvStdDev outputs are left to the CPU (supports() false when a graph reads them).
bool layer_norm_supported(const ir::Node& node, std::span<const ir::DataType> types) {
  for (size_t i = 1; i < node.outputs.size(); ++i)
    if (!node.outputs[i].empty()) return false;
  return float32_inputs(node, types);
}

void layer_norm(OpContext& ctx) {
  const ir::Tensor& x = ctx.input(0);
  const ir::Tensor& scale = ctx.input(1);
  const int64_t rank = static_cast<int64_t>(x.dims.size());
  const int64_t axis = cpu::normalize_axis(ctx, ctx.node().attr_int("axis", -1), rank);
  const int64_t rows = cpu::dims_product(x.dims, 0, static_cast<size_t>(axis));
  const int64_t length = cpu::dims_product(x.dims, static_cast<size_t>(axis), x.dims.size());
  const int64_t scale_count = static_cast<int64_t>(scale.numel());
  const bool has_bias = ctx.input_count() > 2 && ctx.has_input(2);
  const int64_t bias_count = has_bias ? static_cast<int64_t>(ctx.input(2).numel()) : 1;
  if (scale_count == 0 || length % scale_count || bias_count == 0 || length % bias_count)
    throw_error(ErrorCategory::format, ctx.describe() + ": Scale / B do not broadcast to the normalized shape");
  ir::Tensor& y = ctx.allocate_output(0, x.dtype, x.dims);
  layer_norm_f32(x.data<float>(), device_floats(y), rows, length, scale.data<float>(), scale_count,
                 has_bias ? ctx.input(2).data<float>() : nullptr, bias_count, ctx.node().attr_float("epsilon", 1e-5f),
                 current_context().stream);
}

void transpose(OpContext& ctx) {
  const ir::Tensor& x = ctx.input(0);
  std::vector<int64_t> perm = ctx.node().attr_ints("perm");
  if (perm.empty())
    for (size_t i = x.dims.size(); i-- > 0;) perm.push_back(static_cast<int64_t>(i));  // default: reversed
  BroadcastPlan plan;
  if (!make_transpose_plan(x.dims, perm, plan))
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
  const int64_t axis = cpu::normalize_axis(ctx, ctx.node().attr_int("axis", 0), rank);
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
  const int64_t outer = cpu::dims_product(first.dims, 0, static_cast<size_t>(axis));
  const int64_t inner = cpu::dims_product(first.dims, static_cast<size_t>(axis + 1), first.dims.size());
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

void softmax(OpContext& ctx, bool log) {
  const ir::Tensor& x = ctx.input(0);
  const int64_t rank = static_cast<int64_t>(x.dims.size());
  ir::Tensor& y = ctx.allocate_output(0, x.dtype, x.dims);
  if (rank == 0 || y.numel() == 0) {
    if (rank == 0) throw_error(ErrorCategory::unsupported, ctx.describe() + ": a scalar Softmax is left to the CPU");
    return;
  }
  // The CPU's axis rules (softmax.cpp): opset < 13 flattens from the axis, 13+ uses one axis.
  const bool single_axis = ctx.opset() >= 13;
  const int64_t axis = cpu::normalize_axis(ctx, ctx.node().attr_int("axis", single_axis ? -1 : 1), rank);
  const int64_t outer = cpu::dims_product(x.dims, 0, static_cast<size_t>(axis));
  const int64_t length = single_axis ? x.dims[axis] : cpu::dims_product(x.dims, static_cast<size_t>(axis), x.dims.size());
  const int64_t inner = single_axis ? cpu::dims_product(x.dims, static_cast<size_t>(axis + 1), x.dims.size()) : 1;
  softmax_f32(x.data<float>(), device_floats(y), outer, length, inner, log, current_context().stream);
}
void softmax_op(OpContext& ctx) { softmax(ctx, false); }
void log_softmax_op(OpContext& ctx) { softmax(ctx, true); }

}  // namespace

void add_nn_kernels(std::vector<KernelDef>& table) {
  const KernelKind fast = KernelKind::fast;
  table.push_back({ir::OpKind::Conv, fast, conv, conv_supported});
  table.push_back({ir::OpKind::MaxPool, fast, max_pool, pool_supported});
  table.push_back({ir::OpKind::AveragePool, fast, average_pool, pool_supported});
  table.push_back({ir::OpKind::BatchNormalization, fast, batch_norm, inference_batch_norm});
  table.push_back({ir::OpKind::GlobalAveragePool, fast, global_average_pool, float32_inputs});
  table.push_back({ir::OpKind::Softmax, fast, softmax_op, float32_inputs});
  table.push_back({ir::OpKind::LogSoftmax, fast, log_softmax_op, float32_inputs});
  table.push_back({ir::OpKind::LayerNormalization, fast, layer_norm, layer_norm_supported});
  table.push_back({ir::OpKind::Transpose, fast, transpose, float32_inputs});
  table.push_back({ir::OpKind::Concat, fast, concat, concat_supported});
}

}  // namespace mhub::engine::cuda
