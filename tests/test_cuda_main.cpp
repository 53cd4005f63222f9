// GPU tests. Without a CUDA device they print why and exit 77, which ctest reports as skipped.
#define DOCTEST_CONFIG_IMPLEMENT
#include <doctest/doctest.h>

#include <cmath>
#include <iostream>
#include <limits>
#include <string>
#include <vector>

#include "engine/cuda/elementwise.cuh"
#include "engine/cuda/cuda_check.h"
#include "engine/cuda/device.h"
#include "engine/cuda/device_allocator.h"

using namespace mhub::engine::cuda;

// True when the command line asks for the cublas_loader suite (tests/cublas_loader_tests.cpp),
// which needs no device.
bool loader_suite_only(int argc, char** argv) {
  for (int i = 1; i < argc; ++i)
    if (std::string(argv[i]) == "--test-suite=cublas_loader") return true;
  return false;
}

int main(int argc, char** argv) {
  if (loader_suite_only(argc, argv)) return doctest::Context(argc, argv).run();
  std::string why;
  auto devices = list_devices(&why);
  if (devices.empty()) {
    std::cout << "no CUDA device (" << why << "): GPU tests skipped\n";
    return 77;
  }
  for (const auto& device : devices)
    std::cout << "cuda:" << device.index << " " << device.name << " sm_" << device.compute_major
              << device.compute_minor << "\n";
  doctest::Context context(argc, argv);
  // The loader suite needs a process that has not loaded cuBLAS: it runs alone (unit.cublas_loader).
  context.addFilter("test-suite-exclude", "cublas_loader");
  return context.run();
}

TEST_CASE("relu on the device equals the host reference, NaN and odd sizes included") {
  for (size_t n : {size_t{1}, size_t{7}, size_t{1000003}}) {
    std::vector<float> host(n);
    for (size_t i = 0; i < n; ++i) host[i] = static_cast<float>(i % 17) - 8.5f;
    host[0] = std::numeric_limits<float>::quiet_NaN();
    if (n > 2) host[1] = -std::numeric_limits<float>::infinity();
    DeviceAllocator allocator;
    float* device = static_cast<float*>(allocator.allocate(n * sizeof(float)));
    MHUB_CUDA_CHECK(cudaMemcpy(device, host.data(), n * sizeof(float), cudaMemcpyHostToDevice));
    unary_f32(UnaryOp::relu, device, device, static_cast<int64_t>(n), nullptr);
    std::vector<float> back(n);
    MHUB_CUDA_CHECK(cudaMemcpy(back.data(), device, n * sizeof(float), cudaMemcpyDeviceToHost));
    allocator.release(device);
    CHECK(std::isnan(back[0]));
    for (size_t i = 1; i < n; ++i) CHECK(back[i] == (host[i] > 0 ? host[i] : 0.0f));
  }
}

TEST_CASE("the caching allocator reuses freed blocks") {
  DeviceAllocator allocator;
  void* first = allocator.allocate(1000);
  allocator.release(first);
  void* second = allocator.allocate(900);  // same 1024-byte class
  CHECK(second == first);
  CHECK(allocator.driver_allocations() == 1);
  allocator.release(second);
}
