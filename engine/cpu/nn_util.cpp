#include "engine/cpu/nn_util.h"

#include "engine/ops/shape.h"

#include <cmath>
#include <cstring>

#include "common/error.h"
#include "engine/core/float_types.h"
#include "engine/cpu/tensor_util.h"

namespace mhub::engine::cpu {

bool is_nn_float(ir::DataType type) {
  return type == ir::DataType::float32 || type == ir::DataType::float16 ||
         type == ir::DataType::bfloat16 || type == ir::DataType::float64;
}

bool nn_float_input(const ir::Node&, std::span<const ir::DataType> types) {
  return !types.empty() && is_nn_float(types[0]);
}

std::vector<float> input_floats(OpContext& ctx, size_t index) {
  const ir::Tensor& t = ctx.input(index);
  size_t n = t.numel();
  std::vector<float> out(n);
  switch (t.dtype) {
    case ir::DataType::float32:
      if (n) std::memcpy(out.data(), t.data<float>(), n * sizeof(float));
      break;
    case ir::DataType::float64:
      for (size_t i = 0; i < n; ++i) out[i] = static_cast<float>(t.data<double>()[i]);
      break;
    case ir::DataType::float16:
      for (size_t i = 0; i < n; ++i) out[i] = half_to_float(t.data<uint16_t>()[i]);
      break;
    case ir::DataType::bfloat16:
      for (size_t i = 0; i < n; ++i) out[i] = bfloat16_to_float(t.data<uint16_t>()[i]);
      break;
    default:
      for (size_t i = 0; i < n; ++i) out[i] = static_cast<float>(element_as_double(t, i));
      break;
  }
  return out;
}

void output_floats(OpContext& ctx, size_t index, ir::DataType dtype,
                   const std::vector<int64_t>& dims, const float* values) {
  ir::Tensor& y = ctx.allocate_output(index, dtype, dims);
  size_t n = y.numel();
  uint8_t* bytes = y.storage ? y.storage->mutable_data() + y.offset : nullptr;
  switch (dtype) {
    case ir::DataType::float32:
      if (n) std::memcpy(bytes, values, n * sizeof(float));
      break;
    case ir::DataType::float64:
      for (size_t i = 0; i < n; ++i) reinterpret_cast<double*>(bytes)[i] = values[i];
      break;
    case ir::DataType::float16:
      for (size_t i = 0; i < n; ++i) reinterpret_cast<uint16_t*>(bytes)[i] = float_to_half(values[i]);
      break;
    case ir::DataType::bfloat16:
      for (size_t i = 0; i < n; ++i) reinterpret_cast<uint16_t*>(bytes)[i] = float_to_bfloat16(values[i]);
      break;
    case ir::DataType::uint8:
      for (size_t i = 0; i < n; ++i) bytes[i] = static_cast<uint8_t>(values[i]);
      break;
    case ir::DataType::int8:
      for (size_t i = 0; i < n; ++i) reinterpret_cast<int8_t*>(bytes)[i] = static_cast<int8_t>(values[i]);
      break;
    default:
      throw Error(ErrorCategory::unsupported,
                  ctx.describe() + ": output element type " + std::string(ir::name_of(dtype)) +
                      " is not supported by this kernel; convert the model to float");
  }
}

std::vector<int64_t> input_ints(OpContext& ctx, size_t index) {
  const ir::Tensor& t = ctx.input(index);
  size_t n = t.numel();
  std::vector<int64_t> out(n);
  if (t.dtype == ir::DataType::int64) {
    for (size_t i = 0; i < n; ++i) out[i] = t.data<int64_t>()[i];
  } else if (t.dtype == ir::DataType::int32) {
    for (size_t i = 0; i < n; ++i) out[i] = t.data<int32_t>()[i];
  } else {
    for (size_t i = 0; i < n; ++i) out[i] = static_cast<int64_t>(element_as_double(t, i));
  }
  return out;
}

std::vector<float> change_layout_4d(const std::vector<float>& v, const std::vector<int64_t>& d, bool to_nhwc) {
  std::vector<float> out(v.size());
  const int64_t n = d[0], c = d[1], hw = d[2] * d[3];
  for (int64_t b = 0; b < n; ++b)
    for (int64_t ch = 0; ch < c; ++ch)
      for (int64_t p = 0; p < hw; ++p) {
        const size_t nchw = (b * c + ch) * hw + p, nhwc = (b * hw + p) * c + ch;
        if (to_nhwc) out[nhwc] = v[nchw];
        else out[nchw] = v[nhwc];
      }
  return out;
}

uint8_t* output_over_input(OpContext& ctx, size_t out, size_t in) {
  const ir::Tensor& x = ctx.input(in);
  if (!x.storage || x.storage.use_count() != 2) return nullptr;
  ir::Tensor y = x;
  y.name.clear();
  uint8_t* bytes = mutable_bytes(y);
  ctx.set_output(out, Value::of(std::move(y)));
  return bytes;
}

void fail(OpContext& ctx, const std::string& what) { ops::fail(ctx.node(), what); }

}  // namespace mhub::engine::cpu
