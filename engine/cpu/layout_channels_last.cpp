// Concat along the channel axis of channels-last values (mhub_layout_in/out = "nhwc",
// engine/core/passes/channels_last.h): in (N, H, W, C) byte order the channel axis is the
// innermost one, so this is tensor_pieces' concat over the permuted dims, handed back with the
// logical NCHW dims. Supports only marked nodes; every other Concat is layout.cpp's.
#include "engine/cpu/cpu_kernels.h"
#include "engine/cpu/nn_util.h"
#include "engine/cpu/tensor_pieces.h"
#include "engine/ops/shape.h"

namespace mhub::engine::cpu {

namespace {

void concat_channels_last(OpContext& ctx) {
  std::vector<ir::Tensor> parts;
  for (size_t k = 0; k < ctx.input_count(); ++k) {
    ir::Tensor part = ctx.input(k);  // shares the bytes; only the dims are permuted
    if (part.dims.size() != 4) fail(ctx, "internal: a channels-last input that is not 4-D");
    part.dims = {part.dims[0], part.dims[2], part.dims[3], part.dims[1]};
    parts.push_back(std::move(part));
  }
  ir::Tensor y = concat_axis(parts, 3, false, ctx.scope(), ctx.describe());
  y.dims = {y.dims[0], y.dims[3], y.dims[1], y.dims[2]};
  ctx.set_output(0, Value::of(std::move(y)));
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
