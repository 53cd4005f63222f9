// Float32 Concat along the channel axis of channels-last values (mhub_layout_in/out = "nhwc",
// engine/core/passes/channels_last.h): in (N, H, W, C) byte order the channel axis is the
// innermost one, so every output pixel is the inputs' channel runs of that pixel in turn,
// threaded over pixels. Supports only marked nodes; every other Concat is layout.cpp's.
#include <algorithm>
#include <cstring>

#include "engine/cpu/cpu_kernels.h"
#include "engine/cpu/nn_util.h"
#include "engine/ops/shape.h"

namespace mhub::engine::cpu {

namespace {

void concat_channels_last(OpContext& ctx) {
  const ir::Tensor& first = ctx.input(0);
  if (first.dims.size() != 4) fail(ctx, "internal: a channels-last input that is not 4-D");
  struct Part {
    const float* data;
    int64_t channels;
  };
  std::vector<Part> parts;
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
  // Each output pixel is the parts' channel runs of that pixel, one after another.
  ctx.threads().parallel_for(static_cast<size_t>(pixels), static_cast<size_t>(std::max<int64_t>(1, 16384 / channels)), [&](size_t lo, size_t hi) {
    for (size_t p = lo; p < hi; ++p) {
      float* dst = out + static_cast<int64_t>(p) * channels;
      for (const Part& part : parts) {
        std::memcpy(dst, part.data + static_cast<int64_t>(p) * part.channels, static_cast<size_t>(part.channels) * sizeof(float));
        dst += part.channels;
      }
    }
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

}  // namespace

void add_layout_channels_last_kernels(std::vector<KernelDef>& table) {
  table.push_back({ir::OpKind::Concat, KernelKind::fast, concat_channels_last, concat_channels_last_supports, 0,
                   /*channels_last=*/true});
}

}  // namespace mhub::engine::cpu
