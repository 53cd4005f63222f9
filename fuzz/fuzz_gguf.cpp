// libFuzzer target: GGUF parsing (and re-serialising what was read).
#include <cstdint>

#include "common/error.h"
#include "onnx_io/gguf.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  try {
    auto weights = mhub::onnx_io::parse_gguf(nullptr, data, size, "fuzz.gguf");
    volatile uint8_t sum = 0;
    for (const auto& tensor : weights.tensors())
      for (uint64_t i = 0; i < tensor.byte_size(); ++i) sum = sum + tensor.bytes()[i];
  } catch (const mhub::Error&) {
  }
  return 0;
}
