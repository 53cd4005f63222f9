// What CUDA kernels need while they run: the stream and the library handles of the device.
// One CudaContext per device, made with the backend and kept for the process.
#pragma once

#include <cublas_v2.h>
#include <cuda_runtime_api.h>
#include <cudnn.h>

#include <cstddef>

namespace mhub::engine::cuda {

struct CudaContext {
  int device = 0;
  cudaStream_t stream = nullptr;     // every kernel and copy of the backend goes here
  cublasHandle_t cublas = nullptr;   // bound to `stream`; called through cublas() (cublas_loader.h)
  cudnnHandle_t cudnn = nullptr;     // bound to `stream`
  // Scratch memory for cuDNN (grown by workspace(), never shrunk).
  void* workspace_memory = nullptr;
  size_t workspace_bytes = 0;
};

// The context of the device current on this thread: the backend makes its device current when
// it is created and in each of its own calls (allocation, copies), so kernels of a process that
// uses one device always find it. Throws mhub::Error (internal) when that device has no backend.
CudaContext& current_context();

// At least `bytes` of device scratch memory on `context`'s stream, valid until the next call.
void* workspace(CudaContext& context, size_t bytes);

}  // namespace mhub::engine::cuda
