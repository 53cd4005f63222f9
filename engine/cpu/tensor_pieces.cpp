#include "engine/cpu/tensor_pieces.h"

#include <cstring>

#include "common/error.h"
#include "engine/cpu/scalar_access.h"
#include "engine/ops/shape.h"

namespace mhub::engine::cpu {

namespace {

// Copies `count` elements from src[src_index..] to dst[dst_index..] (bytes or strings).
void copy_elements(const ir::Tensor& src, uint64_t src_index, ir::Tensor& dst, uint64_t dst_index,
                   uint64_t count) {
  if (count == 0) return;
  if (src.dtype == ir::DataType::string) {
    for (uint64_t i = 0; i < count; ++i) dst.strings[dst_index + i] = src.strings[src_index + i];
    return;
  }
  uint64_t size = static_cast<uint64_t>(ir::bits_of(src.dtype) / 8);
  std::memcpy(dst.storage->mutable_data() + dst.offset + dst_index * size, src.bytes() + src_index * size,
              count * size);
}

void require_bytes(const ir::Tensor& t, const std::string& who) {
  if (t.dtype != ir::DataType::string && ir::bits_of(t.dtype) < 8)
    throw_error(ErrorCategory::unsupported, who + ": packed sub-byte element types cannot be split or joined here");
}

}  // namespace

ir::Tensor slice_axis(const ir::Tensor& t, size_t axis, int64_t start, int64_t length, ExecutionScope& scope) {
  require_bytes(t, "slice");
  std::vector<int64_t> dims = t.dims;
  dims[axis] = length;
  ir::Tensor out = scope.allocate(t.dtype, dims);
  size_strings(out);
  uint64_t outer = ops::dims_product(t.dims, 0, axis), inner = ops::dims_product(t.dims, axis + 1, t.dims.size());
  uint64_t axis_size = static_cast<uint64_t>(t.dims[axis]);
  for (uint64_t o = 0; o < outer; ++o)
    copy_elements(t, (o * axis_size + static_cast<uint64_t>(start)) * inner, out,
                  o * static_cast<uint64_t>(length) * inner, static_cast<uint64_t>(length) * inner);
  return out;
}

ir::Tensor take_axis(const ir::Tensor& t, size_t axis, int64_t index, ExecutionScope& scope) {
  ir::Tensor out = slice_axis(t, axis, index, 1, scope);
  out.dims.erase(out.dims.begin() + static_cast<std::ptrdiff_t>(axis));
  return out;
}

ir::Tensor concat_axis(const std::vector<ir::Tensor>& parts, size_t axis, bool new_axis,
                       ExecutionScope& scope, const std::string& who) {
  const ir::Tensor& first = parts.at(0);
  require_bytes(first, who);
  std::vector<int64_t> base = first.dims;
  if (new_axis) base.insert(base.begin() + static_cast<std::ptrdiff_t>(axis), 1);
  if (axis >= base.size()) throw_error(ErrorCategory::format, who + ": axis is out of range");
  std::vector<int64_t> dims = base;
  dims[axis] = 0;
  std::vector<int64_t> sizes;
  for (const auto& p : parts) {
    std::vector<int64_t> pd = p.dims;
    if (new_axis) pd.insert(pd.begin() + static_cast<std::ptrdiff_t>(axis), 1);
    bool same = p.dtype == first.dtype && pd.size() == base.size();
    for (size_t d = 0; same && d < pd.size(); ++d)
      if (d != axis && pd[d] != base[d]) same = false;
    if (!same) throw_error(ErrorCategory::format, who + ": the tensors to join differ in type or in a dim off the axis");
    sizes.push_back(pd[axis]);
    dims[axis] += pd[axis];
  }
  ir::Tensor out = scope.allocate(first.dtype, dims);
  size_strings(out);
  uint64_t outer = ops::dims_product(dims, 0, axis), inner = ops::dims_product(dims, axis + 1, dims.size());
  uint64_t out_axis = static_cast<uint64_t>(dims[axis]);
  uint64_t at = 0;
  for (size_t k = 0; k < parts.size(); ++k) {
    uint64_t len = static_cast<uint64_t>(sizes[k]);
    for (uint64_t o = 0; o < outer; ++o)
      copy_elements(parts[k], o * len * inner, out, (o * out_axis + at) * inner, len * inner);
    at += len;
  }
  return out;
}

}  // namespace mhub::engine::cpu
