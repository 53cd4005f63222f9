#include "engine/cuda/cuda_backend.h"

#include <cstdlib>
#include <map>
#include <memory>
#include <mutex>

#include "common/error.h"
#include "engine/cuda/cuda_check.h"
#include "engine/cuda/cuda_context.h"
#include "engine/cuda/cublas_loader.h"
#include "engine/cuda/cuda_kernels.h"
#include "engine/cuda/device_allocator.h"

namespace mhub::engine::cuda {

namespace {

class CudaBackend final : public Backend {
 public:
  explicit CudaBackend(int index) : name_("cuda:" + std::to_string(index)) {
    context_.device = index;
    MHUB_CUDA_CHECK(cudaSetDevice(index));
    MHUB_CUDA_CHECK(cudaStreamCreateWithFlags(&context_.stream, cudaStreamNonBlocking));
    // The first backend loads cuBLAS (cublas_loader.h): processes that never make one skip its
    // start-up cost.
    MHUB_CUBLAS_CHECK(cublas().create(&context_.cublas));
    MHUB_CUBLAS_CHECK(cublas().set_stream(context_.cublas, context_.stream));
    // Float32 GEMMs match the CPU to ~1e-6 by default; MHUB_CUDA_TF32=1 trades that for the
    // tensor cores' TF32 rate (about 3e-4 relative, as PyTorch's allow_tf32).
    const char* tf32 = std::getenv("MHUB_CUDA_TF32");
    if (tf32 && std::string(tf32) == "1")
      MHUB_CUBLAS_CHECK(cublas().set_math_mode(context_.cublas, CUBLAS_TF32_TENSOR_OP_MATH));
    MHUB_CUDNN_CHECK(cudnnCreate(&context_.cudnn));
    MHUB_CUDNN_CHECK(cudnnSetStream(context_.cudnn, context_.stream));
    allocator_ = std::make_shared<DeviceAllocator>();
  }

  std::string_view name() const override { return name_; }
  ir::Device device() const override { return {ir::Device::Kind::cuda, context_.device}; }
  CudaContext& context() { return context_; }

  bool has_op(const ir::Node& node) const override {
    if (node.op == ir::OpKind::opaque) return false;
    for (const KernelDef& def : cuda_kernel_table())
      if (def.op == node.op) return true;
    return false;
  }

  const KernelDef* find_kernel(const ir::Node& node, std::span<const ir::DataType> input_types,
                               bool allow_fast) const override {
    // Every CUDA kernel is "fast"; allow_fast = false asks for the reference kernels, which are
    // the CPU's: nullptr sends the node there.
    if (!allow_fast) return nullptr;
    return engine::find_kernel(cuda_kernel_table(), node, input_types, true);
  }

  std::shared_ptr<ir::Storage> allocate_storage(size_t bytes) const override {
    MHUB_CUDA_CHECK(cudaSetDevice(context_.device));
    std::shared_ptr<DeviceAllocator> allocator = allocator_;
    void* pointer = allocator->allocate(bytes);
    // The block goes back to the allocator (not the driver) when the last tensor drops it; the
    // stream orders its reuse after every kernel queued before.
    std::shared_ptr<void> owner(pointer, [allocator](void* p) { allocator->release(p); });
    return ir::Storage::device_buffer(std::move(owner), static_cast<uint8_t*>(pointer), bytes,
                                      device());
  }

  ir::Tensor copy_to_host(const ir::Tensor& tensor) const override {
    if (!tensor.storage || tensor.storage->on_host()) return tensor;
    MHUB_CUDA_CHECK(cudaSetDevice(context_.device));
    ir::Tensor host = tensor;
    host.offset = 0;
    host.storage = ir::Storage::zeros(tensor.byte_size());
    MHUB_CUDA_CHECK(cudaMemcpyAsync(host.storage->mutable_data(), tensor.bytes(), tensor.byte_size(),
                                    cudaMemcpyDeviceToHost, context_.stream));
    MHUB_CUDA_CHECK(cudaStreamSynchronize(context_.stream));
    return host;
  }

  ir::Tensor copy_from_host(const ir::Tensor& tensor) const override {
    if (!tensor.storage || !tensor.storage->on_host()) return tensor;
    ir::Tensor moved = tensor;
    moved.offset = 0;
    moved.storage = allocate_storage(tensor.byte_size());
    // From pageable memory the runtime stages the bytes before it returns, so the host buffer
    // may be reused at once, as the contract asks.
    MHUB_CUDA_CHECK(cudaMemcpyAsync(moved.storage->mutable_data(), tensor.bytes(), tensor.byte_size(),
                                    cudaMemcpyHostToDevice, context_.stream));
    return moved;
  }

  void synchronize() const override {
    MHUB_CUDA_CHECK(cudaSetDevice(context_.device));
    MHUB_CUDA_CHECK(cudaStreamSynchronize(context_.stream));
  }

 private:
  std::string name_;
  mutable CudaContext context_;
  std::shared_ptr<DeviceAllocator> allocator_;
};

std::mutex backends_mutex;
std::map<int, std::unique_ptr<CudaBackend>>& backends() {
  static std::map<int, std::unique_ptr<CudaBackend>> all;
  return all;
}

}  // namespace

const Backend& cuda_backend(int index) {
  std::lock_guard<std::mutex> lock(backends_mutex);
  auto& all = backends();
  auto it = all.find(index);
  if (it == all.end()) {
    int count = 0;
    if (cudaGetDeviceCount(&count) != cudaSuccess || index < 0 || index >= count) {
      cudaGetLastError();
      throw_error(ErrorCategory::unsupported, "CUDA device " + std::to_string(index) + " is not available");
    }
    it = all.emplace(index, std::make_unique<CudaBackend>(index)).first;
  }
  return *it->second;
}

CudaContext& current_context() {
  int device = 0;
  MHUB_CUDA_CHECK(cudaGetDevice(&device));
  std::lock_guard<std::mutex> lock(backends_mutex);
  auto it = backends().find(device);
  if (it == backends().end())
    throw_error(ErrorCategory::internal, "no CUDA backend was made for device " + std::to_string(device));
  return it->second->context();
}

void* workspace(CudaContext& context, size_t bytes) {
  if (bytes <= context.workspace_bytes) return context.workspace_memory;
  if (context.workspace_memory) {
    // The old scratch may still be read by queued kernels.
    MHUB_CUDA_CHECK(cudaStreamSynchronize(context.stream));
    MHUB_CUDA_CHECK(cudaFree(context.workspace_memory));
    context.workspace_memory = nullptr;
    context.workspace_bytes = 0;
  }
  MHUB_CUDA_CHECK(cudaMalloc(&context.workspace_memory, bytes));
  context.workspace_bytes = bytes;
  return context.workspace_memory;
}

}  // namespace mhub::engine::cuda
