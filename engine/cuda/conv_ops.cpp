// Conv on the CUDA backend (float32, NCHW, 1-D and 2-D spatial) through cuDNN, then the
// per-channel bias and the fused activation of the load-time passes (conv.cu). Geometry (pads
// after auto_pad, output sizes) comes from engine/ops/conv_geometry.h so both backends agree on
// shapes; what cuDNN cannot express (asymmetric pads) raises a clear unsupported error.
#include <map>
#include <mutex>
#include <string>

#include "engine/cuda/conv.cuh"
#include "engine/cuda/cuda_context.h"
#include "engine/cuda/cuda_kernels.h"
#include "engine/cuda/cudnn_util.h"
#include "engine/ops/fused_activation.h"

namespace mhub::engine::cuda {

namespace {

// 1-D and 2-D spatial inputs ([N, C, L] is run as [N, C, 1, L]); the NHWC hand-over attributes
// of CPU sessions are never set for device sessions, but are refused to be safe.
bool conv_supported(const ir::Node& node, std::span<const ir::DataType> types) {
  if (!float32_inputs(node, types) || node.attribute("mhub_layout_in") || node.attribute("mhub_layout_out")) return false;
  return true;
}

// Tensor descriptors are cheap to make; the algorithm choice is not, so it is cached per
// shapes + attributes (never per node address: sessions come and go).
struct ConvChoice {
  cudnnConvolutionFwdAlgo_t algorithm = CUDNN_CONVOLUTION_FWD_ALGO_IMPLICIT_GEMM;
  size_t workspace_bytes = 0;
};
std::mutex choices_mutex;
std::map<std::string, ConvChoice> conv_choices;

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
  const ops::ConvGeometry g = ops::conv_geometry(ctx.node(), in, kernel, false);
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
  const ops::FusedActivation fused = ops::fused_activation_of(node);
  channel_epilogue_f32(device_floats(y), batch, filters, s.out_h * s.out_w, bias, fused.act, fused.alpha, fused.beta,
                       context.stream);
}

// CausalConvWithState (float32): shapes and the activation from engine/ops/conv_geometry.h, the
// convolution and the state in conv.cu.
void causal_conv_with_state(OpContext& ctx) {
  const ir::Tensor& x = ctx.input(0);
  const ir::Tensor& w = ctx.input(1);
  const bool has_bias = ctx.has_input(2), has_past = ctx.has_input(3);
  const ops::CausalConvShape s = ops::causal_conv_shape(ctx.node(), x.dims, w.dims, has_bias ? &ctx.input(2).dims : nullptr,
                                                        has_past ? &ctx.input(3).dims : nullptr);
  ir::Tensor& y = ctx.allocate_output(0, x.dtype, x.dims);
  float* state = nullptr;  // none when the graph has no output 1 or it is empty (kernel 1)
  if (ctx.output_count() > 1) {
    ir::Tensor& present = ctx.allocate_output(1, x.dtype, {s.batch, s.channels, s.carry});
    if (present.numel() > 0) state = device_floats(present);
  }
  if (y.numel() == 0 && !state) return;
  causal_conv_with_state_f32(x.data<float>(), w.data<float>(),
                             has_bias ? ctx.input(2).data<float>() : nullptr, has_past ? ctx.input(3).data<float>() : nullptr,
                             y.numel() ? device_floats(y) : nullptr, state, s.batch, s.channels, s.length, s.kernel, s.silu,
                             current_context().stream);
}

}  // namespace

void add_conv_kernels(std::vector<KernelDef>& table) {
  table.push_back({ir::OpKind::Conv, KernelKind::fast, conv, conv_supported});
  table.push_back({ir::OpKind::CausalConvWithState, KernelKind::fast, causal_conv_with_state, float32_inputs});
}

}  // namespace mhub::engine::cuda
