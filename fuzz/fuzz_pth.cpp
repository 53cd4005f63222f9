// libFuzzer target: a whole PyTorch checkpoint (zip container + pickle + tensor views). The
// reader takes a path, so each input is written to a per-process temporary file.
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <string>

#include "common/error.h"
#include "onnx_io/pth/checkpoint.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const std::string path = "/tmp/mhub_fuzz_pth_" + std::to_string(getpid()) + ".pth";
  FILE* file = std::fopen(path.c_str(), "wb");
  if (!file) return 0;
  std::fwrite(data, 1, size, file);
  std::fclose(file);
  try {
    auto checkpoint = mhub::onnx_io::pth::read_checkpoint(path);
    volatile uint8_t sum = 0;
    for (const auto& tensor : checkpoint.weights.tensors())
      for (uint64_t i = 0; i < tensor.byte_size(); ++i) sum = sum + tensor.bytes()[i];
  } catch (const mhub::Error&) {
  }
  return 0;
}
