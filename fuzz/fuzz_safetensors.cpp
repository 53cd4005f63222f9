// libFuzzer target: safetensors header and layout parsing.
#include <cstdint>
#include <memory>

#include "common/error.h"
#include "onnx_io/safetensors.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  try {
    auto weights = mhub::onnx_io::parse_safetensors(nullptr, data, size, "fuzz.safetensors");
    // Touch every byte the reader claims is there.
    volatile uint8_t sum = 0;
    for (const auto& tensor : weights.tensors())
      for (uint64_t i = 0; i < tensor.byte_size(); ++i) sum = sum + tensor.bytes()[i];
    mhub::onnx_io::serialize_safetensors(weights);
  } catch (const mhub::Error&) {
  }
  return 0;
}
