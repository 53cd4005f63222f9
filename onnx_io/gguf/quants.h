// ggml's block quantizers, bit-exact with its reference implementations
// (quantize_row_q8_0_ref, quantize_row_q4_0_ref, quantize_row_q4_K_ref, quantize_row_q6_K_ref:
// what llama-quantize uses without an importance matrix and what gguf-py reproduces), and the
// matching dequantizers (dequantize_row_*).
//
// Contract: `count` is a multiple of the type's block size (32 for q8_0/q4_0, 256 for q4_K/q6_K);
// `out` holds ggml_bytes(type, count) bytes (quantize) or `count` floats (dequantize). The
// rounding steps follow the reference operation by operation in float32 (this file is built
// without floating-point contraction so that no fused multiply-add changes a rounding).
// Also plain types: f32 / f16 / bf16 (round to nearest even, as ggml and gguf-py).
#pragma once

#include <cstdint>

#include "onnx_io/gguf/ggml_types.h"

namespace mhub::onnx_io::gguf {

// Throws mhub::Error (unsupported) for a type without a quantizer here (integers, f64).
void quantize_row(GgmlType type, const float* values, uint64_t count, uint8_t* out);
void dequantize_row(GgmlType type, const uint8_t* blocks, uint64_t count, float* out);

}  // namespace mhub::onnx_io::gguf
