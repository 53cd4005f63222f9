#include "engine/cpu/tensor_util.h"

#include <algorithm>

#include "engine/ops/shape.h"
#include "engine/ops/slice_axis.h"

namespace mhub::engine::cpu {

size_t element_bytes(const OpContext& ctx, ir::DataType dtype) {
  int bits = ir::bits_of(dtype);
  if (bits < 8 || bits % 8)
    throw_error(ErrorCategory::unsupported,
                ctx.describe() + ": " + std::string(ir::name_of(dtype)) + " tensors are not supported by this op");
  return static_cast<size_t>(bits / 8);
}

std::vector<int64_t> strides_of(const std::vector<int64_t>& dims) {
  std::vector<int64_t> strides(dims.size(), 1);
  for (size_t i = dims.size(); i-- > 1;) strides[i - 1] = strides[i] * dims[i];
  return strides;
}

std::vector<int64_t> read_int_values(const OpContext& ctx, const ir::Tensor& tensor) {
  return ops::int_values(ctx.node(), tensor);
}

void copy_one(const ir::Tensor& src, size_t from, ir::Tensor& dst, size_t to, size_t width) {
  if (src.dtype == ir::DataType::string) {
    dst.strings[to] = src.strings[from];
    return;
  }
  std::memcpy(mutable_bytes(dst) + to * width, src.bytes() + from * width, width);
}

ir::Tensor& copy_to_output(OpContext& ctx, size_t output, const ir::Tensor& src,
                           const std::vector<int64_t>& dims) {
  ir::Tensor& out = ctx.allocate_output(output, src.dtype, dims);
  if (src.dtype == ir::DataType::string) out.strings = src.strings;
  else if (src.byte_size()) std::memcpy(mutable_bytes(out), src.bytes(), src.byte_size());
  return out;
}

// Source offsets for an output of `out_dims` whose axis i advances the source by strides[i].
std::vector<size_t> strided_offsets(const std::vector<int64_t>& out_dims, const std::vector<int64_t>& strides,
                                    int64_t base) {
  size_t rank = out_dims.size();
  size_t count = ir::element_count(out_dims);
  std::vector<size_t> offsets(count);
  std::vector<int64_t> index(rank, 0);
  int64_t offset = base;
  for (size_t i = 0; i < count; ++i) {
    offsets[i] = static_cast<size_t>(offset);
    for (size_t axis = rank; axis-- > 0;) {
      offset += strides[axis];
      if (++index[axis] < out_dims[axis]) break;
      offset -= strides[axis] * index[axis];
      index[axis] = 0;
    }
  }
  return offsets;
}

// dst[i] = src[offset of i], where output axis a advances the source by strides[a]. Walks the
// output with counters (no per-element offset table), copying the innermost axis in a tight loop.
void strided_copy(const OpContext& ctx, const ir::Tensor& src, ir::Tensor& dst,
                  const std::vector<int64_t>& out_dims, const std::vector<int64_t>& strides, int64_t base) {
  size_t count = ir::element_count(out_dims);
  if (count == 0) return;
  size_t rank = out_dims.size();
  if (rank == 0 || src.dtype == ir::DataType::string) {
    std::vector<size_t> offsets = strided_offsets(out_dims, strides, base);
    copy_elements(ctx, src, dst, [&](size_t i) { return offsets[i]; });
    return;
  }
  size_t width = element_bytes(ctx, src.dtype);
  const uint8_t* in = src.bytes();
  uint8_t* out = mutable_bytes(dst);
  int64_t inner = out_dims[rank - 1];
  int64_t inner_stride = strides[rank - 1];
  std::vector<int64_t> index(rank, 0);
  int64_t offset = base;
  for (size_t done = 0; done < count; done += static_cast<size_t>(inner)) {
    uint8_t* row = out + done * width;
    if (inner_stride == 1) {
      std::memcpy(row, in + offset * width, static_cast<size_t>(inner) * width);
    } else {
      switch (width) {
        case 4: {
          const uint32_t* from = reinterpret_cast<const uint32_t*>(in) + offset;
          uint32_t* to = reinterpret_cast<uint32_t*>(row);
          for (int64_t j = 0; j < inner; ++j) to[j] = from[j * inner_stride];
          break;
        }
        case 8: {
          const uint64_t* from = reinterpret_cast<const uint64_t*>(in) + offset;
          uint64_t* to = reinterpret_cast<uint64_t*>(row);
          for (int64_t j = 0; j < inner; ++j) to[j] = from[j * inner_stride];
          break;
        }
        default:
          for (int64_t j = 0; j < inner; ++j) std::memcpy(row + j * width, in + (offset + j * inner_stride) * width, width);
      }
    }
    for (size_t axis = rank - 1; axis-- > 0;) {  // advance the outer counters
      offset += strides[axis];
      if (++index[axis] < out_dims[axis]) break;
      offset -= strides[axis] * index[axis];
      index[axis] = 0;
    }
  }
}

std::vector<size_t> broadcast_offsets(const std::vector<int64_t>& in_dims, const std::vector<int64_t>& out_dims) {
  size_t rank = out_dims.size();
  std::vector<int64_t> in_strides(rank, 0);
  std::vector<int64_t> own = strides_of(in_dims);
  for (size_t i = 0; i < in_dims.size(); ++i) {
    size_t axis = rank - in_dims.size() + i;
    in_strides[axis] = in_dims[i] == 1 ? 0 : own[i];
  }
  size_t count = ir::element_count(out_dims);
  std::vector<size_t> offsets(count);
  std::vector<int64_t> index(rank, 0);
  size_t offset = 0;
  for (size_t i = 0; i < count; ++i) {
    offsets[i] = offset;
    for (size_t axis = rank; axis-- > 0;) {
      offset += in_strides[axis];
      if (++index[axis] < out_dims[axis]) break;
      offset -= in_strides[axis] * index[axis];
      index[axis] = 0;
    }
  }
  return offsets;
}

}  // namespace mhub::engine::cpu

#include "engine/core/float_types.h"

namespace mhub::engine::cpu {

bool is_narrow_float(ir::DataType dtype) {
  return dtype == ir::DataType::float16 || dtype == ir::DataType::bfloat16;
}

ir::Tensor widen_to_float(OpContext& ctx, const ir::Tensor& tensor) {
  ir::Tensor wide = ctx.scope().allocate(ir::DataType::float32, tensor.dims);
  float* out = mutable_data<float>(wide);
  const uint16_t* in = tensor.data<uint16_t>();
  size_t count = tensor.numel();
  if (tensor.dtype == ir::DataType::float16)
    for (size_t i = 0; i < count; ++i) out[i] = half_to_float(in[i]);
  else
    for (size_t i = 0; i < count; ++i) out[i] = bfloat16_to_float(in[i]);
  return wide;
}

void narrow_from_float(const ir::Tensor& wide, ir::Tensor& out) {
  const float* in = wide.data<float>();
  uint16_t* dst = mutable_data<uint16_t>(out);
  size_t count = out.numel();
  if (out.dtype == ir::DataType::float16)
    for (size_t i = 0; i < count; ++i) dst[i] = float_to_half(in[i]);
  else
    for (size_t i = 0; i < count; ++i) dst[i] = float_to_bfloat16(in[i]);
}

SliceWindow slice_window(const OpContext& ctx, const std::vector<int64_t>& dims) {
  const int64_t rank = static_cast<int64_t>(dims.size());
  std::vector<int64_t> starts, ends, axes, steps;
  if (ctx.opset() < 10) {
    starts = ctx.node().attr_ints("starts");
    ends = ctx.node().attr_ints("ends");
    axes = ctx.node().attr_ints("axes");
  } else {
    starts = read_int_values(ctx, ctx.input(1));
    ends = read_int_values(ctx, ctx.input(2));
    if (ctx.has_input(3)) axes = read_int_values(ctx, ctx.input(3));
    if (ctx.has_input(4)) steps = read_int_values(ctx, ctx.input(4));
  }
  if (axes.empty())
    for (size_t i = 0; i < starts.size(); ++i) axes.push_back(static_cast<int64_t>(i));
  if (steps.empty()) steps.assign(starts.size(), 1);
  if (ends.size() != starts.size() || axes.size() != starts.size() || steps.size() != starts.size())
    throw_error(ErrorCategory::format, ctx.describe() + ": starts, ends, axes and steps differ in length");
  SliceWindow w{std::vector<int64_t>(rank, 0), std::vector<int64_t>(rank, 1), dims};
  for (size_t i = 0; i < starts.size(); ++i) {
    const int64_t a = ops::normalize_axis(ctx.node(), axes[i], rank);
    const int64_t size = dims[a];
    const int64_t s = steps[i];
    if (s == 0) throw_error(ErrorCategory::format, ctx.describe() + ": step 0");
    const ops::SliceAxis axis = ops::slice_axis(size, starts[i], ends[i], s);
    w.dims[a] = axis.count;
    w.begin[a] = axis.begin;
    w.step[a] = s;
  }
  return w;
}

}  // namespace mhub::engine::cpu
