// libFuzzer target: the bounded weights-only pickle machine.
#include <cstdint>

#include "common/error.h"
#include "onnx_io/pth/pickle_vm.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  mhub::onnx_io::pth::PickleLimits limits;
  limits.max_ops = 1 << 20;  // keep each run short
  try {
    mhub::onnx_io::pth::run_pickle(data, size, "fuzz.pkl", limits);
  } catch (const mhub::Error&) {
  }
  return 0;
}
