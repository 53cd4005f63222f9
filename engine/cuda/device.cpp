#include "engine/cuda/device.h"

#include "engine/cuda/cuda_check.h"

namespace mhub::engine::cuda {

void throw_cuda_error(const char* call, const char* file, int line, const std::string& what) {
  throw_error(ErrorCategory::internal,
              std::string(call) + " failed at " + file + ":" + std::to_string(line) + ": " + what);
}

std::vector<DeviceInfo> list_devices(std::string* why_none) {
  int count = 0;
  // No driver or no GPU is an ordinary answer here, not an error.
  cudaError_t status = cudaGetDeviceCount(&count);
  if (status != cudaSuccess || count == 0) {
    if (why_none) *why_none = status != cudaSuccess ? cudaGetErrorString(status) : "no CUDA device";
    cudaGetLastError();  // clear the sticky error so later calls start clean
    return {};
  }
  std::vector<DeviceInfo> devices;
  for (int index = 0; index < count; ++index) {
    cudaDeviceProp props{};
    MHUB_CUDA_CHECK(cudaGetDeviceProperties(&props, index));
    devices.push_back({index, props.name, props.totalGlobalMem, props.major, props.minor});
  }
  return devices;
}

}  // namespace mhub::engine::cuda
