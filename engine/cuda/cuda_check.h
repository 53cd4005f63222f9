// Every CUDA runtime, cuBLAS and cuDNN call in mhub goes through one of these macros, which
// turn a failure into mhub::Error naming the call, its file:line and the library's own message.
#pragma once

#include <cuda_runtime_api.h>

#include <string>

#include "common/error.h"

namespace mhub::engine::cuda {

[[noreturn]] void throw_cuda_error(const char* call, const char* file, int line, const std::string& what);

}  // namespace mhub::engine::cuda

#define MHUB_CUDA_CHECK(call)                                                              \
  do {                                                                                     \
    cudaError_t mhub_status_ = (call);                                                     \
    if (mhub_status_ != cudaSuccess)                                                       \
      ::mhub::engine::cuda::throw_cuda_error(#call, __FILE__, __LINE__,                    \
                                             cudaGetErrorString(mhub_status_));            \
  } while (0)

// For cuBLAS: `#include "engine/cuda/cublas_loader.h"` before using (calls go through
// cublas(), and the status text through cublas_status_text(), which never loads the library).
#define MHUB_CUBLAS_CHECK(call)                                                            \
  do {                                                                                     \
    cublasStatus_t mhub_status_ = (call);                                                  \
    if (mhub_status_ != CUBLAS_STATUS_SUCCESS)                                             \
      ::mhub::engine::cuda::throw_cuda_error(                                              \
          #call, __FILE__, __LINE__, ::mhub::engine::cuda::cublas_status_text(mhub_status_)); \
  } while (0)

// For cuDNN: `#include <cudnn.h>` before using.
#define MHUB_CUDNN_CHECK(call)                                                             \
  do {                                                                                     \
    cudnnStatus_t mhub_status_ = (call);                                                   \
    if (mhub_status_ != CUDNN_STATUS_SUCCESS)                                              \
      ::mhub::engine::cuda::throw_cuda_error(#call, __FILE__, __LINE__,                    \
                                             cudnnGetErrorString(mhub_status_));           \
  } while (0)
