// The internal ChannelShuffle (engine/ir/internal_ops.def; written by
// engine/core/passes/channel_shuffle.h): Y = Reshape(Transpose(Reshape(X, S1), [0, 2, 1, 3, 4]), S2).
// Both kernels honour channels-last marks (mhub_layout_in/out = "nhwc" on a 4-D float32 X and Y,
// passes/channels_last.h).
// - reference: any element type; the general reshape-transpose-reshape as a strided copy of the
//   NCHW values (a channels-last X converted first, a channels-last Y after).
// - fast (float32): when S1 = [N, g, C/g, H, W] and S2 resolves to X's dims, output channel
//   j * g + i is input channel i * C/g + j: whole planes copied (NCHW) or every pixel's channels
//   gathered (NHWC; two groups as an interleave of the halves), threaded; any other shapes take
//   the reference.
#include <algorithm>
#include <cstring>

#include "engine/core/view_kernels.h"
#include "engine/cpu/cpu_kernels.h"
#include "engine/cpu/nn_util.h"
#include "engine/cpu/tensor_util.h"
#include "engine/ops/shape.h"

namespace mhub::engine::cpu {

namespace {

bool marked(const OpContext& ctx, const char* mark) { return ctx.node().attr_string(mark, "") == "nhwc"; }

struct ShuffleDims {
  std::vector<int64_t> split, merged;  // S1 and S2 resolved
};

ShuffleDims shuffle_dims(OpContext& ctx) {
  const ir::Tensor& x = ctx.input(0);
  ShuffleDims d;
  d.split = reshaped_dims(ctx, x.dims, input_ints(ctx, 1), false);
  if (d.split.size() != 5)
    fail(ctx, "the first Reshape gives " + std::to_string(d.split.size()) + " dims; the Transpose needs 5");
  const std::vector<int64_t> transposed = {d.split[0], d.split[2], d.split[1], d.split[3], d.split[4]};
  d.merged = reshaped_dims(ctx, transposed, input_ints(ctx, 2), false);
  if (ops::dims_product(d.merged, 0, d.merged.size()) != static_cast<int64_t>(x.numel()))
    fail(ctx, "the shapes do not keep the element count");
  if ((marked(ctx, "mhub_layout_in") || marked(ctx, "mhub_layout_out")) && (x.dims.size() != 4 || d.merged.size() != 4))
    fail(ctx, "internal: a channels-last value that is not 4-D");
  return d;
}

void channel_shuffle_reference(OpContext& ctx) {
  const ir::Tensor& x = ctx.input(0);
  const ShuffleDims d = shuffle_dims(ctx);
  ir::Tensor nchw = x;
  if (marked(ctx, "mhub_layout_in")) {
    const std::vector<float> v = change_layout_4d(input_floats(ctx, 0), x.dims, false);
    nchw = ir::Tensor::from_bytes(ir::DataType::float32, x.dims, v.data(), v.size() * sizeof(float), "");
  }
  const std::vector<int64_t>& s = d.split;
  const std::vector<int64_t> in_strides = strides_of(s);
  const std::vector<int64_t> out_dims = {s[0], s[2], s[1], s[3], s[4]};
  const std::vector<int64_t> strides = {in_strides[0], in_strides[2], in_strides[1], in_strides[3], in_strides[4]};
  ir::Tensor& y = ctx.allocate_output(0, x.dtype, d.merged);
  strided_copy(ctx, nchw, y, out_dims, strides, 0);
  if (marked(ctx, "mhub_layout_out")) {
    const std::vector<float> v = change_layout_4d(std::vector<float>(y.data<float>(), y.data<float>() + y.numel()), d.merged, true);
    std::memcpy(mutable_floats(y), v.data(), v.size() * sizeof(float));
  }
}

void channel_shuffle_fast(OpContext& ctx) {
  const ir::Tensor& x = ctx.input(0);
  const ShuffleDims d = shuffle_dims(ctx);
  const bool nhwc = marked(ctx, "mhub_layout_in");
  const std::vector<int64_t>& s = d.split;
  if (x.dims.size() != 4 || d.merged != x.dims || nhwc != marked(ctx, "mhub_layout_out") || s[0] != x.dims[0] ||
      s[1] * s[2] != x.dims[1] || s[3] != x.dims[2] || s[4] != x.dims[3])
    return channel_shuffle_reference(ctx);
  const int64_t n = x.dims[0], c = x.dims[1], hw = x.dims[2] * x.dims[3], groups = s[1], per_group = s[2];
  // source[o]: the input channel that output channel o = j * groups + i holds.
  std::vector<int64_t> source(static_cast<size_t>(c));
  for (int64_t o = 0; o < c; ++o) source[o] = (o % groups) * per_group + o / groups;
  ir::Tensor& y = ctx.allocate_output(0, ir::DataType::float32, x.dims);
  const float* px = x.data<float>();
  float* py = mutable_floats(y);
  if (n * c * hw == 0) return;
  if (nhwc) {
    ctx.threads().parallel_for(static_cast<size_t>(n * hw), chunk_for_elements(static_cast<size_t>(c)), [&](size_t lo, size_t hi) {
      for (size_t p = lo; p < hi; ++p) {
        const float* in = px + static_cast<int64_t>(p) * c;
        float* out = py + static_cast<int64_t>(p) * c;
        if (groups == 2) {  // ShuffleNet's case: the two halves interleaved, a loop the compiler vectorises
          const float* second = in + per_group;
          for (int64_t j = 0; j < per_group; ++j) {
            out[2 * j] = in[j];
            out[2 * j + 1] = second[j];
          }
        } else {
          for (int64_t o = 0; o < c; ++o) out[o] = in[source[o]];
        }
      }
    });
    return;
  }
  ctx.threads().parallel_for(static_cast<size_t>(n * c), chunk_for_elements(static_cast<size_t>(hw)), [&](size_t lo, size_t hi) {
    for (size_t plane = lo; plane < hi; ++plane) {
      const int64_t b = static_cast<int64_t>(plane) / c, o = static_cast<int64_t>(plane) % c;
      std::memcpy(py + static_cast<int64_t>(plane) * hw, px + (b * c + source[o]) * hw, static_cast<size_t>(hw) * sizeof(float));
    }
  });
}

bool channel_shuffle_fast_supports(const ir::Node&, std::span<const ir::DataType> types) {
  return !types.empty() && types[0] == ir::DataType::float32;
}

}  // namespace

void add_layout_shuffle_kernels(std::vector<KernelDef>& table) {
  table.push_back({ir::OpKind::ChannelShuffle, KernelKind::reference, channel_shuffle_reference, nullptr, 0, /*channels_last=*/true});
  table.push_back({ir::OpKind::ChannelShuffle, KernelKind::fast, channel_shuffle_fast, channel_shuffle_fast_supports, 0,
                   /*channels_last=*/true});
}

}  // namespace mhub::engine::cpu
