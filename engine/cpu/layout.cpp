// Ops that move elements around: Transpose, Concat, Split, Slice, Tile, Pad, DepthToSpace,
// SpaceToDepth, Trilu. All work for every dtype (strings included) by copying elements.
#include <algorithm>

#include "engine/core/float_types.h"
#include "engine/cpu/cpu_kernels.h"
#include "engine/cpu/checked_dims.h"
#include "engine/cpu/layout_geometry.h"
#include "engine/cpu/tensor_util.h"
#include "engine/ops/shape.h"

namespace mhub::engine::cpu {

namespace {

void transpose(OpContext& ctx) {
  const ir::Tensor& x = ctx.input(0);
  size_t rank = x.dims.size();
  std::vector<int64_t> perm = ctx.node().attr_ints("perm");
  if (perm.empty())
    for (size_t i = 0; i < rank; ++i) perm.push_back(static_cast<int64_t>(rank - 1 - i));
  if (perm.size() != rank) throw_error(ErrorCategory::format, ctx.describe() + ": perm length differs from rank");
  std::vector<int64_t> in_strides = strides_of(x.dims), dims(rank), strides(rank);
  for (size_t i = 0; i < rank; ++i) {
    int64_t p = ops::normalize_axis(ctx.node(), perm[i], static_cast<int64_t>(rank));
    dims[i] = x.dims[p];
    strides[i] = in_strides[p];
  }
  ir::Tensor& y = ctx.allocate_output(0, x.dtype, dims);
  // 2-D float fast path in cache-friendly tiles (the common Transpose in models)
  if (rank == 2 && x.dtype == ir::DataType::float32 && perm[0] == 1) {
    const float* in = x.data<float>();
    float* out = mutable_data<float>(y);
    int64_t rows = x.dims[0], cols = x.dims[1];
    constexpr int64_t kTile = 32;
    for (int64_t r0 = 0; r0 < rows; r0 += kTile)
      for (int64_t c0 = 0; c0 < cols; c0 += kTile)
        for (int64_t r = r0; r < std::min(rows, r0 + kTile); ++r)
          for (int64_t c = c0; c < std::min(cols, c0 + kTile); ++c) out[c * rows + r] = in[r * cols + c];
    return;
  }
  strided_copy(ctx, x, y, dims, strides, 0);
}

void concat(OpContext& ctx) {
  const ir::Tensor& first = ctx.input(0);
  int64_t rank = static_cast<int64_t>(first.dims.size());
  int64_t axis = ops::normalize_axis(ctx.node(), ctx.node().attr_int("axis", 0), rank);
  std::vector<int64_t> dims = first.dims;
  dims[axis] = 0;
  for (size_t k = 0; k < ctx.input_count(); ++k) {
    const ir::Tensor& in = ctx.input(k);
    if (static_cast<int64_t>(in.dims.size()) != rank || in.dtype != first.dtype)
      throw_error(ErrorCategory::format, ctx.describe() + ": input " + std::to_string(k) + " has another rank or type");
    for (int64_t d = 0; d < rank; ++d)
      if (d != axis && in.dims[d] != first.dims[d])
        throw_error(ErrorCategory::format, ctx.describe() + ": input " + std::to_string(k) + " differs off the axis");
    dims[axis] += in.dims[axis];
  }
  ir::Tensor& y = ctx.allocate_output(0, first.dtype, dims);
  size_t outer = 1;
  for (int64_t d = 0; d < axis; ++d) outer *= static_cast<size_t>(dims[d]);
  size_t inner = 1;
  for (int64_t d = axis + 1; d < rank; ++d) inner *= static_cast<size_t>(dims[d]);
  size_t out_row = static_cast<size_t>(dims[axis]) * inner;
  bool strings = first.dtype == ir::DataType::string;
  size_t width = strings ? 0 : element_bytes(ctx, first.dtype);
  size_t column = 0;
  for (size_t k = 0; k < ctx.input_count(); ++k) {
    const ir::Tensor& in = ctx.input(k);
    size_t row = static_cast<size_t>(in.dims[axis]) * inner;
    for (size_t o = 0; o < outer; ++o) {
      if (strings) {
        for (size_t j = 0; j < row; ++j) y.strings[o * out_row + column + j] = in.strings[o * row + j];
      } else if (row) {
        std::memcpy(mutable_bytes(y) + (o * out_row + column) * width, in.bytes() + o * row * width, row * width);
      }
    }
    column += row;
  }
}

// Copies the block [begin, begin + length) along `axis` of x into output `index`.
void copy_block(OpContext& ctx, size_t index, const ir::Tensor& x, int64_t axis, int64_t begin, int64_t length) {
  std::vector<int64_t> dims = x.dims;
  dims[axis] = length;
  ir::Tensor& y = ctx.allocate_output(index, x.dtype, dims);
  std::vector<int64_t> strides = strides_of(x.dims);
  strided_copy(ctx, x, y, dims, strides, begin * strides[axis]);
}

void split(OpContext& ctx) {
  const ir::Tensor& x = ctx.input(0);
  int64_t axis = ops::normalize_axis(ctx.node(), ctx.node().attr_int("axis", 0), static_cast<int64_t>(x.dims.size()));
  int64_t total = x.dims[axis];
  std::vector<int64_t> sizes;
  if (ctx.opset() >= 13 && ctx.has_input(1)) sizes = read_int_values(ctx, ctx.input(1));
  else if (ctx.opset() < 13) sizes = ctx.node().attr_ints("split");
  size_t outputs = ctx.output_count();
  if (sizes.empty()) {
    int64_t parts = ctx.node().attr_int("num_outputs", static_cast<int64_t>(outputs));
    int64_t chunk = (total + parts - 1) / parts;
    if (ctx.node().attribute("num_outputs") == nullptr && total % parts)
      throw_error(ErrorCategory::format, ctx.describe() + ": axis of " + std::to_string(total) +
                                             " does not split evenly into " + std::to_string(parts));
    for (int64_t p = 0; p < parts; ++p) sizes.push_back(std::min(chunk, std::max<int64_t>(0, total - p * chunk)));
  }
  if (sizes.size() != outputs)
    throw_error(ErrorCategory::format, ctx.describe() + ": " + std::to_string(sizes.size()) + " split sizes for " +
                                           std::to_string(outputs) + " outputs");
  int64_t begin = 0;
  for (size_t k = 0; k < outputs; ++k) {
    if (ctx.output_wanted(k)) copy_block(ctx, k, x, axis, begin, sizes[k]);
    begin += sizes[k];
  }
  if (begin != total)
    throw_error(ErrorCategory::format, ctx.describe() + ": split sizes add up to " + std::to_string(begin) +
                                           ", the axis has " + std::to_string(total));
}

}  // namespace

SlicePlan plan_slice(OpContext& ctx) {
  const ir::Tensor& x = ctx.input(0);
  const SliceWindow window = slice_window(ctx, x.dims);
  const int64_t rank = static_cast<int64_t>(x.dims.size());
  std::vector<int64_t> in_strides = strides_of(x.dims);
  SlicePlan plan;
  plan.dims = window.dims;
  plan.strides.resize(rank);
  for (int64_t a = 0; a < rank; ++a) {
    plan.strides[a] = in_strides[a] * window.step[a];
    if (plan.dims[a] > 0) plan.base += window.begin[a] * in_strides[a];
  }
  return plan;
}

namespace {

void slice(OpContext& ctx) {
  SlicePlan plan = plan_slice(ctx);
  ir::Tensor& y = ctx.allocate_output(0, ctx.input(0).dtype, plan.dims);
  strided_copy(ctx, ctx.input(0), y, plan.dims, plan.strides, plan.base);
}

void tile(OpContext& ctx) {
  const ir::Tensor& x = ctx.input(0);
  std::vector<int64_t> repeats = read_int_values(ctx, ctx.input(1));
  if (repeats.size() != x.dims.size())
    throw_error(ErrorCategory::format, ctx.describe() + ": repeats must have one entry per axis");
  std::vector<int64_t> dims = x.dims;
  for (size_t i = 0; i < dims.size(); ++i)
    dims[i] = checked_dim(ctx, static_cast<long double>(dims[i]) * repeats[i], "dimension x repeats");
  ir::Tensor& y = ctx.allocate_output(0, x.dtype, dims);
  std::vector<int64_t> in_strides = strides_of(x.dims), out_strides = strides_of(dims);
  copy_elements(ctx, x, y, [&](size_t i) {
    size_t offset = 0, rest = i;
    for (size_t a = 0; a < dims.size(); ++a) {
      size_t coordinate = rest / out_strides[a];
      rest %= out_strides[a];
      offset += (coordinate % x.dims[a]) * in_strides[a];
    }
    return offset;
  });
}

}  // namespace

PadPlan plan_pad(OpContext& ctx) {
  const ir::Tensor& x = ctx.input(0);
  int64_t rank = static_cast<int64_t>(x.dims.size());
  PadPlan plan;
  const std::string mode = ctx.node().attr_string("mode", "constant");
  plan.mode = mode == "constant" ? PadMode::constant : mode == "edge" ? PadMode::edge
            : mode == "wrap" ? PadMode::wrap : PadMode::reflect;
  std::vector<int64_t> pads;
  double constant_value = 0;
  ir::Tensor constant_tensor;
  bool has_constant_tensor = false;
  if (ctx.opset() < 11) {
    pads = ctx.node().attr_ints(ctx.opset() < 2 ? "paddings" : "pads");
    constant_value = ctx.node().attr_float("value", 0.0f);
  } else {
    pads = read_int_values(ctx, ctx.input(1));
    if (ctx.has_input(2) && ctx.input(2).numel()) {
      constant_tensor = ctx.input(2);
      has_constant_tensor = true;
    }
  }
  std::vector<int64_t> axes;
  if (ctx.opset() >= 18 && ctx.has_input(3)) axes = read_int_values(ctx, ctx.input(3));
  else
    for (int64_t a = 0; a < rank; ++a) axes.push_back(a);
  if (pads.size() != 2 * axes.size())
    throw_error(ErrorCategory::format, ctx.describe() + ": pads needs 2 entries per padded axis");
  plan.before.assign(rank, 0);
  std::vector<int64_t> after(rank, 0);
  for (size_t i = 0; i < axes.size(); ++i) {
    int64_t a = ops::normalize_axis(ctx.node(), axes[i], rank);
    plan.before[a] = pads[i];
    after[a] = pads[i + axes.size()];
  }
  plan.dims.resize(rank);
  for (int64_t a = 0; a < rank; ++a)
    plan.dims[a] = checked_dim(ctx, static_cast<long double>(x.dims[a]) + plan.before[a] + after[a], "padded dimension");
  // the pad value as one element of x's type
  plan.fill = ctx.scope().allocate(x.dtype, {});
  if (has_constant_tensor) {
    plan.fill = constant_tensor;
  } else if (x.dtype == ir::DataType::string) {
    plan.fill.strings = {""};
  } else {
    ir::Tensor& fill = plan.fill;
    switch (x.dtype) {
      case ir::DataType::float32: *mutable_data<float>(fill) = static_cast<float>(constant_value); break;
      case ir::DataType::float64: *mutable_data<double>(fill) = constant_value; break;
      case ir::DataType::float16: *mutable_data<uint16_t>(fill) = float_to_half(static_cast<float>(constant_value)); break;
      case ir::DataType::bfloat16: *mutable_data<uint16_t>(fill) = float_to_bfloat16(static_cast<float>(constant_value)); break;
      case ir::DataType::int8: case ir::DataType::uint8: case ir::DataType::boolean: *mutable_bytes(fill) = static_cast<uint8_t>(static_cast<int64_t>(constant_value)); break;
      case ir::DataType::int16: case ir::DataType::uint16: *mutable_data<int16_t>(fill) = static_cast<int16_t>(constant_value); break;
      case ir::DataType::int32: case ir::DataType::uint32: *mutable_data<int32_t>(fill) = static_cast<int32_t>(constant_value); break;
      case ir::DataType::int64: case ir::DataType::uint64: *mutable_data<int64_t>(fill) = static_cast<int64_t>(constant_value); break;
      default: throw_error(ErrorCategory::unsupported, ctx.describe() + ": element type not supported");
    }
  }
  return plan;
}

int64_t pad_source_index(PadMode mode, int64_t coordinate, int64_t size) {
  if (coordinate >= 0 && coordinate < size) return coordinate;
  if (mode == PadMode::constant || size == 0) return -1;
  if (mode == PadMode::edge) return std::clamp<int64_t>(coordinate, 0, size - 1);
  if (mode == PadMode::wrap) return ((coordinate % size) + size) % size;
  if (size == 1) return 0;  // reflect (edge not repeated)
  const int64_t period = 2 * (size - 1);
  coordinate = ((coordinate % period) + period) % period;
  return coordinate >= size ? period - coordinate : coordinate;
}

namespace {

void pad(OpContext& ctx) {
  const ir::Tensor& x = ctx.input(0);
  int64_t rank = static_cast<int64_t>(x.dims.size());
  PadPlan plan = plan_pad(ctx);
  ir::Tensor& y = ctx.allocate_output(0, x.dtype, plan.dims);
  size_t width = x.dtype == ir::DataType::string ? 0 : element_bytes(ctx, x.dtype);
  std::vector<int64_t> in_strides = strides_of(x.dims), out_strides = strides_of(plan.dims);
  size_t n = y.numel();
  for (size_t i = 0; i < n; ++i) {
    size_t rest = i, offset = 0;
    bool outside = false;
    for (int64_t a = 0; a < rank; ++a) {
      int64_t coordinate = static_cast<int64_t>(rest / out_strides[a]) - plan.before[a];
      rest %= out_strides[a];
      coordinate = pad_source_index(plan.mode, coordinate, x.dims[a]);
      if (coordinate < 0) {
        outside = true;
        break;
      }
      offset += static_cast<size_t>(coordinate) * in_strides[a];
    }
    if (outside) copy_one(plan.fill, 0, y, i, width);
    else copy_one(x, offset, y, i, width);
  }
}

void depth_to_space(OpContext& ctx) {
  const ir::Tensor& x = ctx.input(0);
  if (x.dims.size() != 4) throw_error(ErrorCategory::format, ctx.describe() + ": input must be 4-D");
  int64_t b = ctx.node().attr_int("blocksize", 1);
  bool crd = ctx.node().attr_string("mode", "DCR") == "CRD";
  int64_t n = x.dims[0], c = x.dims[1], h = x.dims[2], w = x.dims[3];
  if (b <= 0 || c % (b * b)) throw_error(ErrorCategory::format, ctx.describe() + ": channels not divisible by blocksize^2");
  int64_t oc = c / (b * b);
  ir::Tensor& y = ctx.allocate_output(0, x.dtype, {n, oc, h * b, w * b});
  copy_elements(ctx, x, y, [&](size_t i) {
    int64_t ow = static_cast<int64_t>(i) % (w * b);
    int64_t oh = static_cast<int64_t>(i) / (w * b) % (h * b);
    int64_t ch = static_cast<int64_t>(i) / (w * b * h * b) % oc;
    int64_t batch = static_cast<int64_t>(i) / (w * b * h * b * oc);
    int64_t bh = oh % b, bw = ow % b;
    int64_t in_c = crd ? ch * b * b + bh * b + bw : (bh * b + bw) * oc + ch;
    return static_cast<size_t>(((batch * c + in_c) * h + oh / b) * w + ow / b);
  });
}

void space_to_depth(OpContext& ctx) {
  const ir::Tensor& x = ctx.input(0);
  if (x.dims.size() != 4) throw_error(ErrorCategory::format, ctx.describe() + ": input must be 4-D");
  int64_t b = ctx.node().attr_int("blocksize", 1);
  int64_t n = x.dims[0], c = x.dims[1], h = x.dims[2], w = x.dims[3];
  if (b <= 0 || h % b || w % b) throw_error(ErrorCategory::format, ctx.describe() + ": spatial dims not divisible by blocksize");
  int64_t oh = h / b, ow = w / b, oc = c * b * b;
  ir::Tensor& y = ctx.allocate_output(0, x.dtype, {n, oc, oh, ow});
  copy_elements(ctx, x, y, [&](size_t i) {
    int64_t j = static_cast<int64_t>(i);
    int64_t xw = j % ow, xh = j / ow % oh, ch = j / (ow * oh) % oc, batch = j / (ow * oh * oc);
    int64_t block = ch / c, in_c = ch % c;
    int64_t bh = block / b, bw = block % b;
    return static_cast<size_t>(((batch * c + in_c) * h + xh * b + bh) * w + xw * b + bw);
  });
}

void trilu(OpContext& ctx) {
  const ir::Tensor& x = ctx.input(0);
  if (x.dims.size() < 2) throw_error(ErrorCategory::format, ctx.describe() + ": input must be at least 2-D");
  int64_t k = ctx.has_input(1) ? read_int_values(ctx, ctx.input(1)).at(0) : 0;
  bool upper = ctx.node().attr_int("upper", 1) != 0;
  ir::Tensor& y = copy_to_output(ctx, 0, x, x.dims);
  int64_t rows = x.dims[x.dims.size() - 2], cols = x.dims[x.dims.size() - 1];
  size_t width = x.dtype == ir::DataType::string ? 0 : element_bytes(ctx, x.dtype);
  size_t n = x.numel();
  for (size_t i = 0; i < n; ++i) {
    int64_t col = static_cast<int64_t>(i) % cols;
    int64_t row = static_cast<int64_t>(i) / cols % rows;
    bool keep = upper ? col - row >= k : col - row <= k;
    if (keep) continue;
    if (width) std::memset(mutable_bytes(y) + i * width, 0, width);
    else y.strings[i].clear();
  }
}

}  // namespace

void add_layout_kernels(std::vector<KernelDef>& table) {
  using ir::OpKind;
  auto add = [&](OpKind op, KernelFn fn) { table.push_back({op, KernelKind::reference, fn, nullptr}); };
  add(OpKind::Transpose, transpose);
  add(OpKind::Concat, concat);
  add(OpKind::Split, split);
  add(OpKind::Slice, slice);
  add(OpKind::Tile, tile);
  add(OpKind::Pad, pad);
  add(OpKind::DepthToSpace, depth_to_space);
  add(OpKind::SpaceToDepth, space_to_depth);
  add(OpKind::Trilu, trilu);
}

}  // namespace mhub::engine::cpu
