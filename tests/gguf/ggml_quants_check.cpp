// ctest peers.gguf_quants_vs_ggml: mhub's quantizers and dequantizers against ggml's own
// reference ones, byte for byte, by loading the libggml-base.so that npm node-llama-cpp ships
// (see tests/gguf/install_node_llama_cpp.sh).
//   ggml_quants_check [LIBGGML_BASE_SO]
// Default library: ${MHUB_PEERS_DIR:-$HOME/.cache/mhub-peers}/llama/node_modules/@node-llama-cpp/
// linux-x64/bins/linux-x64/libggml-base.so. Exit 77 (skipped) when it is absent, 1 on a mismatch.
#include <dlfcn.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "engine/core/float_types.h"
#include "onnx_io/gguf/quants.h"

namespace {

using mhub::onnx_io::gguf::GgmlType;
using QuantizeFn = void (*)(const float*, void*, int64_t);
using DequantizeFn = void (*)(const void*, float*, int64_t);
using HalfFn = uint16_t (*)(float);

// Rows that exercise the corners: Gaussian, heavy outliers, all zero, constant, tiny values,
// one-signed blocks, exact halves (rounding ties).
std::vector<float> test_values(size_t count) {
  std::mt19937 random(42);
  std::normal_distribution<float> normal(0.f, 1.f);
  std::uniform_real_distribution<float> uniform(-1.f, 1.f);
  std::vector<float> values(count);
  for (size_t i = 0; i < count; ++i) {
    size_t block = i / 256;
    switch (block % 8) {
      case 0: values[i] = normal(random); break;
      case 1: values[i] = normal(random) * (i % 37 == 0 ? 100.f : 0.01f); break;
      case 2: values[i] = 0.f; break;
      case 3: values[i] = 0.5f; break;
      case 4: values[i] = normal(random) * 1e-6f; break;
      case 5: values[i] = std::fabs(normal(random)) + 0.1f; break;
      case 6: values[i] = std::round(uniform(random) * 16) / 2; break;
      default: values[i] = uniform(random) * 3; break;
    }
  }
  return values;
}

}  // namespace

int main(int argc, char** argv) {
  std::string library;
  if (argc > 1) {
    library = argv[1];
  } else {
    const char* peers = std::getenv("MHUB_PEERS_DIR");
    const char* home = std::getenv("HOME");
    std::string base = peers ? peers : std::string(home ? home : "") + "/.cache/mhub-peers";
    library = base + "/llama/node_modules/@node-llama-cpp/linux-x64/bins/linux-x64/libggml-base.so";
  }
  void* handle = dlopen(library.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (!handle) {
    std::printf("skipped: ggml is not installed (%s); run tests/gguf/install_node_llama_cpp.sh\n", dlerror());
    return 77;
  }
  int failures = 0;
  const size_t count = 256 * 64;
  std::vector<float> values = test_values(count);

  auto ggml_half = reinterpret_cast<HalfFn>(dlsym(handle, "ggml_fp32_to_fp16"));
  if (ggml_half) {
    size_t differ = 0;
    for (float value : values) differ += ggml_half(value) != mhub::engine::float_to_half(value);
    std::printf("fp16: %zu of %zu differ\n", differ, values.size());
    failures += differ != 0;
  }
  // ggml_bf16_t is a struct of one uint16_t: returned in a register like the integer.
  auto ggml_bf16 = reinterpret_cast<HalfFn>(dlsym(handle, "ggml_fp32_to_bf16"));
  if (ggml_bf16) {
    size_t differ = 0;
    for (float value : values) differ += ggml_bf16(value) != mhub::engine::float_to_bfloat16(value);
    std::printf("bf16: %zu of %zu differ\n", differ, values.size());
    failures += differ != 0;
  }
  struct Case {
    GgmlType type;
    const char* quantize;
    const char* dequantize;
  };
  const Case cases[] = {{GgmlType::q8_0, "quantize_row_q8_0_ref", "dequantize_row_q8_0"},
                        {GgmlType::q4_0, "quantize_row_q4_0_ref", "dequantize_row_q4_0"},
                        {GgmlType::q4_K, "quantize_row_q4_K_ref", "dequantize_row_q4_K"},
                        {GgmlType::q6_K, "quantize_row_q6_K_ref", "dequantize_row_q6_K"}};
  for (const auto& test : cases) {
    auto quantize = reinterpret_cast<QuantizeFn>(dlsym(handle, test.quantize));
    auto dequantize = reinterpret_cast<DequantizeFn>(dlsym(handle, test.dequantize));
    if (!quantize || !dequantize) {
      std::printf("%s: not exported by %s\n", test.quantize, library.c_str());
      ++failures;
      continue;
    }
    const uint64_t bytes = mhub::onnx_io::gguf::ggml_bytes(test.type, count);
    std::vector<uint8_t> theirs(bytes), ours(bytes);
    quantize(values.data(), theirs.data(), static_cast<int64_t>(count));
    mhub::onnx_io::gguf::quantize_row(test.type, values.data(), count, ours.data());
    size_t differ = 0;
    for (uint64_t i = 0; i < bytes; ++i) differ += theirs[i] != ours[i];
    std::vector<float> back_theirs(count), back_ours(count);
    dequantize(theirs.data(), back_theirs.data(), static_cast<int64_t>(count));
    mhub::onnx_io::gguf::dequantize_row(test.type, theirs.data(), count, back_ours.data());
    size_t differ_back = 0;
    for (size_t i = 0; i < count; ++i) differ_back += std::memcmp(&back_theirs[i], &back_ours[i], 4) != 0;
    std::printf("%s: %zu of %llu quantized bytes differ, %zu of %zu dequantized values differ\n", test.quantize, differ,
                static_cast<unsigned long long>(bytes), differ_back, count);
    failures += differ != 0 || differ_back != 0;
  }
  dlclose(handle);
  return failures ? 1 : 0;
}
