// Float32 Concat and Slice of channels-last values (mhub_layout_in/out = "nhwc",
// engine/core/passes/channels_last.h). Concat along the channel axis: in (N, H, W, C) byte order
// the channel axis is the innermost one, so every output pixel is the inputs' channel runs of that
// pixel in turn; pixels threaded, each thread's written in order, each run copied 8 floats at a
// time by vector moves (a memcpy call per run cost a third more where the bytes come from memory:
// squeezenet1_1's 64 + 64-channel Concat at batch 8 in a single-thread loop, loaded machine).
// Slice: the window of the NCHW dims (as layout.cpp's Slice computes it) copied from the NHWC
// bytes, the channel run of each pixel innermost. Both support only marked
// nodes; every other Concat and Slice is layout.cpp's.
#include <algorithm>

#include "engine/cpu/cpu_kernels.h"
#include "engine/cpu/nn_util.h"
#include "engine/cpu/tensor_util.h"
#include "engine/ops/shape.h"

namespace mhub::engine::cpu {

struct ConcatChannelsLastPart {
  const float* data;  // [pixels, channels]
  int64_t channels;
};

// Outside the anonymous namespace on purpose (see epilogue.cpp's sigmoid_span): target_clones.
// Output pixels [lo, hi) of a channels-last Concat of `count` parts into `out` ([pixels,
// channels]): pixel by pixel, each part's channel run in turn, so the output is written as one
// sequential stream and each input read as one. Tiles of pixels filled part by part (each input
// read as tile-sized pieces, the output tile written in strided pieces, one per part) took 1.2 to
// 2x as long on googlenet's Concats (4 parts at 28x28 and 14x14, batch 8), squeezenet's 64 + 64
// and DenseNet's 6 to 24 parts of 32 channels alike (a microbenchmark on a loaded machine, data
// in L3 or memory); 16-float moves (an AVX-512 clone) were no faster than 8-float ones.
__attribute__((target_clones("avx2", "default"))) void concat_channels_last_pixels(float* out, int64_t channels,
                                                                                   const ConcatChannelsLastPart* parts,
                                                                                   size_t count, int64_t lo, int64_t hi) {
  float* dst = out + lo * channels;
  for (int64_t p = lo; p < hi; ++p)
    for (size_t j = 0; j < count; ++j) {
      const int64_t width = parts[j].channels;
      const float* src = parts[j].data + p * width;
      int64_t k = 0;
      for (; k + 8 <= width; k += 8) *reinterpret_cast<FloatLanes8*>(dst + k) = *reinterpret_cast<const FloatLanes8*>(src + k);
      for (; k < width; ++k) dst[k] = src[k];
      dst += width;
    }
}

namespace {

void concat_channels_last(OpContext& ctx) {
  const ir::Tensor& first = ctx.input(0);
  if (first.dims.size() != 4) fail(ctx, "internal: a channels-last input that is not 4-D");
  std::vector<ConcatChannelsLastPart> parts;
  int64_t channels = 0;
  for (size_t k = 0; k < ctx.input_count(); ++k) {
    const ir::Tensor& in = ctx.input(k);
    if (in.dtype != ir::DataType::float32 || in.dims.size() != 4 || in.dims[0] != first.dims[0] || in.dims[2] != first.dims[2] ||
        in.dims[3] != first.dims[3])
      fail(ctx, "input " + std::to_string(k) + " differs from input 0 in type or in a dim off the axis");
    parts.push_back({in.data<float>(), in.dims[1]});
    channels += in.dims[1];
  }
  ir::Tensor& y = ctx.allocate_output(0, ir::DataType::float32, {first.dims[0], channels, first.dims[2], first.dims[3]});
  float* out = mutable_floats(y);
  const int64_t pixels = first.dims[0] * first.dims[2] * first.dims[3];
  if (pixels * channels == 0) return;
  ctx.threads().parallel_for(static_cast<size_t>(pixels), chunk_for_elements(static_cast<size_t>(channels)), [&](size_t lo, size_t hi) {
    concat_channels_last_pixels(out, channels, parts.data(), parts.size(), static_cast<int64_t>(lo), static_cast<int64_t>(hi));
  });
}

bool concat_channels_last_supports(const ir::Node& node, std::span<const ir::DataType> types) {
  if (node.attr_string("mhub_layout_in", "") != "nhwc" || types.empty()) return false;
  const int64_t axis = node.attr_int("axis", 0);
  if (axis != 1 && axis != -3) return false;
  for (ir::DataType t : types)
    if (t != ir::DataType::float32) return false;
  return true;
}

void slice_channels_last(OpContext& ctx) {
  const ir::Tensor& x = ctx.input(0);
  if (x.dims.size() != 4) fail(ctx, "internal: a channels-last input that is not 4-D");
  const SliceWindow w = slice_window(ctx, x.dims);
  // NCHW axis a lies at NHWC position kPhysical[a].
  constexpr int kPhysical[4] = {0, 3, 1, 2};
  const std::vector<int64_t> physical_dims = {x.dims[0], x.dims[2], x.dims[3], x.dims[1]};
  const std::vector<int64_t> in_strides = strides_of(physical_dims);
  std::vector<int64_t> out_dims(4), strides(4);
  int64_t base = 0;
  for (int a = 0; a < 4; ++a) {
    const int p = kPhysical[a];
    out_dims[p] = w.dims[a];
    strides[p] = in_strides[p] * w.step[a];
    if (w.dims[a] > 0) base += w.begin[a] * in_strides[p];
  }
  ir::Tensor& y = ctx.allocate_output(0, ir::DataType::float32, w.dims);
  strided_copy(ctx, x, y, out_dims, strides, base);
}

bool slice_channels_last_supports(const ir::Node& node, std::span<const ir::DataType> types) {
  return node.attr_string("mhub_layout_in", "") == "nhwc" && !types.empty() && types[0] == ir::DataType::float32;
}

}  // namespace

void add_layout_channels_last_kernels(std::vector<KernelDef>& table) {
  table.push_back({ir::OpKind::Concat, KernelKind::fast, concat_channels_last, concat_channels_last_supports, 0,
                   /*channels_last=*/true});
  table.push_back({ir::OpKind::Slice, KernelKind::fast, slice_channels_last, slice_channels_last_supports, 0, /*channels_last=*/true});
}

}  // namespace mhub::engine::cpu
