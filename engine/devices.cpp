#include "engine/devices.h"

#include <charconv>

#include "common/error.h"
#include "engine/cpu/cpu_backend.h"

#ifdef MHUB_HAVE_CUDA
#include "engine/cuda/cuda_backend.h"
#include "engine/cuda/device.h"
#endif

namespace mhub::engine {

const Backend& host_backend() { return cpu::cpu_backend(); }

bool cuda_built() {
#ifdef MHUB_HAVE_CUDA
  return true;
#else
  return false;
#endif
}

const Backend* backend_for_device(std::string_view spec) {
  if (spec == "cpu") return nullptr;
  if (spec.substr(0, 4) != "cuda")
    throw_error(ErrorCategory::usage, "unknown device '" + std::string(spec) +
                                          "': use cpu, cuda or cuda:N");
  int index = 0;
  std::string_view rest = spec.substr(4);
  if (!rest.empty()) {
    if (rest[0] != ':' || rest.size() < 2)
      throw_error(ErrorCategory::usage, "unknown device '" + std::string(spec) +
                                            "': use cpu, cuda or cuda:N");
    auto [end, error] = std::from_chars(rest.data() + 1, rest.data() + rest.size(), index);
    if (error != std::errc() || end != rest.data() + rest.size() || index < 0)
      throw_error(ErrorCategory::usage, "device '" + std::string(spec) +
                                            "': N in cuda:N must be a device number (0, 1, ...)");
  }
#ifdef MHUB_HAVE_CUDA
  std::string why;
  auto devices = cuda::list_devices(&why);
  if (devices.empty())
    throw_error(ErrorCategory::unsupported, "no CUDA device is usable here (" + why +
                                                "); run with --device cpu");
  if (index >= static_cast<int>(devices.size()))
    throw_error(ErrorCategory::unsupported,
                "there is no device cuda:" + std::to_string(index) + " (this machine has " +
                    std::to_string(devices.size()) + "); use cuda:0 to cuda:" +
                    std::to_string(devices.size() - 1));
  return &cuda::cuda_backend(index);
#else
  throw_error(ErrorCategory::unsupported,
              "this mhub was built without the CUDA backend (no CUDA toolkit was found at build "
              "time); install the CUDA toolkit and rebuild (scripts/build.sh), or use --device cpu");
#endif
}

std::string describe_devices() {
  std::string text = "cpu\n";
#ifdef MHUB_HAVE_CUDA
  std::string why;
  auto devices = cuda::list_devices(&why);
  if (devices.empty()) text += "(no CUDA device: " + why + ")\n";
  for (const auto& device : devices) {
    char memory[32];
    std::snprintf(memory, sizeof memory, "%.0f", device.memory_bytes / double(1u << 30));
    text += "cuda:" + std::to_string(device.index) + " " + device.name + " (" + memory +
            " GiB, sm_" + std::to_string(device.compute_major) +
            std::to_string(device.compute_minor) + ")\n";
  }
#else
  text += "(built without the CUDA backend)\n";
#endif
  return text;
}

}  // namespace mhub::engine
