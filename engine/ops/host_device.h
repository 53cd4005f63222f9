// MHUB_HOST_DEVICE marks inline functions that CUDA kernels call as well as host code: with nvcc
// they compile for both sides, with the host compiler they are plain inline functions. Such
// functions throw nothing and allocate nothing (device code can do neither).
#pragma once

#ifdef __CUDACC__
#define MHUB_HOST_DEVICE __host__ __device__
#else
#define MHUB_HOST_DEVICE
#endif
