// The CUDA devices this process can use. Plain C++ (no CUDA headers) so cli/ can ask.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

namespace mhub::engine::cuda {

struct DeviceInfo {
  int index = 0;
  std::string name;
  size_t memory_bytes = 0;
  int compute_major = 0;
  int compute_minor = 0;
};

// Empty when there is no driver or no device; never throws for that (a CPU-only machine is
// normal). `why_none` receives the runtime's reason when the list is empty.
std::vector<DeviceInfo> list_devices(std::string* why_none = nullptr);

}  // namespace mhub::engine::cuda
