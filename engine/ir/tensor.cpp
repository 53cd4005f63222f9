#include "engine/ir/tensor.h"

#include <cstring>

#include "common/error.h"

namespace mhub::ir {

uint64_t element_count(const std::vector<int64_t>& dims) {
  constexpr uint64_t kLimit = uint64_t{1} << 62;
  uint64_t count = 1;
  for (int64_t dim : dims) {
    if (dim < 0)
      throw_error(ErrorCategory::format, "tensor dimension " + std::to_string(dim) + " is negative");
    if (dim != 0 && count > kLimit / static_cast<uint64_t>(dim))
      throw_error(ErrorCategory::format, "tensor shape overflows (more than 2^62 elements)");
    count *= static_cast<uint64_t>(dim);
  }
  return count;
}

Tensor Tensor::zeros(DataType dtype, std::vector<int64_t> dims, std::string name) {
  Tensor tensor;
  tensor.name = std::move(name);
  tensor.dtype = dtype;
  tensor.dims = std::move(dims);
  if (dtype == DataType::string)
    tensor.strings.resize(tensor.numel());
  else
    tensor.storage = Storage::zeros(tensor.byte_size());
  return tensor;
}

Tensor Tensor::from_bytes(DataType dtype, std::vector<int64_t> dims, const void* data,
                          size_t size, std::string name) {
  Tensor tensor = zeros(dtype, std::move(dims), std::move(name));
  if (size != tensor.byte_size())
    throw_error(ErrorCategory::internal, "Tensor::from_bytes: " + std::to_string(size) +
                                             " bytes given for a tensor of " +
                                             std::to_string(tensor.byte_size()));
  if (size) std::memcpy(tensor.storage->mutable_data(), data, size);
  return tensor;
}

}  // namespace mhub::ir
