#include "onnx_io/gguf/quants.h"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "common/error.h"
#include "engine/core/float_types.h"

namespace mhub::onnx_io::gguf {

namespace {

using engine::float_to_half;
using engine::half_to_float;

constexpr int kSuperBlock = 256;     // QK_K
constexpr float kGroupMaxEps = 1e-15f;  // GROUP_MAX_EPS: below it a group counts as all zero

void put_half(uint8_t* at, float value) {
  uint16_t bits = float_to_half(value);
  std::memcpy(at, &bits, 2);
}
float get_half(const uint8_t* at) {
  uint16_t bits;
  std::memcpy(&bits, at, 2);
  return half_to_float(bits);
}

// Round to nearest (ties to even) via the float mantissa trick ggml uses; valid for
// |value| <= 4194303, which the callers guarantee by construction.
int nearest_int(float value) {
  float shifted = value + 12582912.f;
  int32_t bits;
  std::memcpy(&bits, &shifted, 4);
  return (bits & 0x007fffff) - 0x00400000;
}

// --- q8_0: 32 int8 with one f16 scale; d = amax / 127 ---------------------------------------
void quantize_q8_0(const float* x, uint64_t count, uint8_t* out) {
  for (uint64_t block = 0; block < count / 32; ++block, x += 32, out += 34) {
    float amax = 0;
    for (int j = 0; j < 32; ++j) amax = std::max(amax, std::fabs(x[j]));
    const float d = amax / 127;
    const float id = d != 0 ? 1.0f / d : 0.0f;
    put_half(out, d);
    for (int j = 0; j < 32; ++j) out[2 + j] = static_cast<uint8_t>(static_cast<int8_t>(std::roundf(x[j] * id)));
  }
}

void dequantize_q8_0(const uint8_t* in, uint64_t count, float* y) {
  for (uint64_t block = 0; block < count / 32; ++block, in += 34, y += 32) {
    const float d = get_half(in);
    for (int j = 0; j < 32; ++j) y[j] = static_cast<int8_t>(in[2 + j]) * d;
  }
}

// --- q4_0: 32 nibbles with one f16 scale; d = (value of largest magnitude) / -8 -------------
void quantize_q4_0(const float* x, uint64_t count, uint8_t* out) {
  for (uint64_t block = 0; block < count / 32; ++block, x += 32, out += 18) {
    float amax = 0, max = 0;
    for (int j = 0; j < 32; ++j)
      if (amax < std::fabs(x[j])) {
        amax = std::fabs(x[j]);
        max = x[j];
      }
    const float d = max / -8;
    const float id = d != 0 ? 1.0f / d : 0.0f;
    put_half(out, d);
    for (int j = 0; j < 16; ++j) {
      // The reference truncates toward zero through int8_t after adding 8.5.
      const uint8_t low = std::min<uint8_t>(15, static_cast<uint8_t>(static_cast<int8_t>(x[j] * id + 8.5f)));
      const uint8_t high = std::min<uint8_t>(15, static_cast<uint8_t>(static_cast<int8_t>(x[16 + j] * id + 8.5f)));
      out[2 + j] = static_cast<uint8_t>(low | (high << 4));
    }
  }
}

void dequantize_q4_0(const uint8_t* in, uint64_t count, float* y) {
  for (uint64_t block = 0; block < count / 32; ++block, in += 18, y += 32) {
    const float d = get_half(in);
    for (int j = 0; j < 16; ++j) {
      y[j] = ((in[2 + j] & 0x0F) - 8) * d;
      y[16 + j] = ((in[2 + j] >> 4) - 8) * d;
    }
  }
}

// --- q4_K ------------------------------------------------------------------------------------

// Scale and min (6 bits each) of sub-block j from the 12 packed bytes.
void scale_min_k4(int j, const uint8_t* q, uint8_t* scale, uint8_t* min) {
  if (j < 4) {
    *scale = q[j] & 63;
    *min = q[j + 4] & 63;
  } else {
    *scale = static_cast<uint8_t>((q[j + 4] & 0xF) | ((q[j - 4] >> 6) << 4));
    *min = static_cast<uint8_t>((q[j + 4] >> 4) | ((q[j] >> 6) << 4));
  }
}

// make_qkx2_quants: an affine (scale, -min) fit of n values to levels 0..nmax that minimises the
// weighted error over a small search of scales; returns the scale, stores the min as positive.
float fit_affine_levels(int n, int nmax, const float* x, const float* weights, uint8_t* levels, float* the_min,
                        uint8_t* trial, float rmin, float rdelta, int nstep) {
  float min = x[0], max = x[0];
  float sum_w = weights[0];
  float sum_x = sum_w * x[0];
  for (int i = 1; i < n; ++i) {
    if (x[i] < min) min = x[i];
    if (x[i] > max) max = x[i];
    const float w = weights[i];
    sum_w += w;
    sum_x += w * x[i];
  }
  if (min > 0) min = 0;
  if (max == min) {
    std::fill(levels, levels + n, 0);
    *the_min = -min;
    return 0.f;
  }
  float iscale = nmax / (max - min);
  float scale = 1 / iscale;
  float best_error = 0;
  for (int i = 0; i < n; ++i) {
    const int l = nearest_int(iscale * (x[i] - min));
    levels[i] = static_cast<uint8_t>(std::max(0, std::min(nmax, l)));
    float diff = scale * levels[i] + min - x[i];
    diff = diff * diff;  // the q4_K reference measures squared error (use_mad = false)
    best_error += weights[i] * diff;
  }
  for (int step = 0; step <= nstep; ++step) {
    iscale = (rmin + rdelta * step + nmax) / (max - min);
    float sum_l = 0, sum_l2 = 0, sum_xl = 0;
    for (int i = 0; i < n; ++i) {
      int l = nearest_int(iscale * (x[i] - min));
      l = std::max(0, std::min(nmax, l));
      trial[i] = static_cast<uint8_t>(l);
      const float w = weights[i];
      sum_l += w * l;
      sum_l2 += w * l * l;
      sum_xl += w * l * x[i];
    }
    const float det = sum_w * sum_l2 - sum_l * sum_l;
    if (det > 0) {
      float this_scale = (sum_w * sum_xl - sum_x * sum_l) / det;
      float this_min = (sum_l2 * sum_x - sum_l * sum_xl) / det;
      if (this_min > 0) {
        this_min = 0;
        this_scale = sum_xl / sum_l2;
      }
      float error = 0;
      for (int i = 0; i < n; ++i) {
        float diff = this_scale * trial[i] + this_min - x[i];
        diff = diff * diff;
        error += weights[i] * diff;
      }
      if (error < best_error) {
        std::copy(trial, trial + n, levels);
        best_error = error;
        scale = this_scale;
        min = this_min;
      }
    }
  }
  *the_min = -min;
  return scale;
}

void quantize_q4_K(const float* x, uint64_t count, uint8_t* out) {
  uint8_t levels[kSuperBlock];
  uint8_t trial[32];
  float weights[32];
  float mins[8];
  float scales[8];
  for (uint64_t block = 0; block < count / kSuperBlock; ++block, x += kSuperBlock, out += 144) {
    uint8_t* packed = out + 4;  // after d and dmin
    uint8_t* qs = out + 16;
    float max_scale = 0, max_min = 0;
    for (int j = 0; j < 8; ++j) {
      float sum_x2 = 0;
      for (int l = 0; l < 32; ++l) sum_x2 += x[32 * j + l] * x[32 * j + l];
      const float av_x = std::sqrt(sum_x2 / 32);
      for (int l = 0; l < 32; ++l) weights[l] = av_x + std::fabs(x[32 * j + l]);
      scales[j] = fit_affine_levels(32, 15, x + 32 * j, weights, levels + 32 * j, &mins[j], trial, -1.f, 0.1f, 20);
      if (scales[j] > max_scale) max_scale = scales[j];
      if (mins[j] > max_min) max_min = mins[j];
    }
    const float inv_scale = max_scale > 0 ? 63.f / max_scale : 0.f;
    const float inv_min = max_min > 0 ? 63.f / max_min : 0.f;
    std::memset(packed, 0, 12);
    for (int j = 0; j < 8; ++j) {
      // The reference stores nearest_int's result in a uint8_t before clamping to 63.
      uint8_t ls = static_cast<uint8_t>(nearest_int(inv_scale * scales[j]));
      uint8_t lm = static_cast<uint8_t>(nearest_int(inv_min * mins[j]));
      ls = std::min<uint8_t>(63, ls);
      lm = std::min<uint8_t>(63, lm);
      if (j < 4) {
        packed[j] = ls;
        packed[j + 4] = lm;
      } else {
        packed[j + 4] = static_cast<uint8_t>((ls & 0xF) | ((lm & 0xF) << 4));
        packed[j - 4] |= static_cast<uint8_t>((ls >> 4) << 6);
        packed[j] |= static_cast<uint8_t>((lm >> 4) << 6);
      }
    }
    put_half(out, max_scale / 63.f);
    put_half(out + 2, max_min / 63.f);
    for (int j = 0; j < 8; ++j) {
      uint8_t sc, m;
      scale_min_k4(j, packed, &sc, &m);
      const float d = get_half(out) * sc;
      if (d == 0) continue;
      const float dm = get_half(out + 2) * m;
      for (int i = 0; i < 32; ++i) {
        const int l = nearest_int((x[32 * j + i] + dm) / d);
        levels[32 * j + i] = static_cast<uint8_t>(std::max(0, std::min(15, l)));
      }
    }
    for (int j = 0; j < kSuperBlock; j += 64, qs += 32)
      for (int l = 0; l < 32; ++l) qs[l] = static_cast<uint8_t>(levels[j + l] | (levels[j + l + 32] << 4));
  }
}

void dequantize_q4_K(const uint8_t* in, uint64_t count, float* y) {
  for (uint64_t block = 0; block < count / kSuperBlock; ++block, in += 144) {
    const float d = get_half(in);
    const float min = get_half(in + 2);
    const uint8_t* packed = in + 4;
    const uint8_t* q = in + 16;
    for (int j = 0, is = 0; j < kSuperBlock; j += 64, q += 32, is += 2) {
      uint8_t sc, m;
      scale_min_k4(is, packed, &sc, &m);
      const float d1 = d * sc, m1 = min * m;
      scale_min_k4(is + 1, packed, &sc, &m);
      const float d2 = d * sc, m2 = min * m;
      for (int l = 0; l < 32; ++l) *y++ = d1 * (q[l] & 0xF) - m1;
      for (int l = 0; l < 32; ++l) *y++ = d2 * (q[l] >> 4) - m2;
    }
  }
}

// --- q6_K ------------------------------------------------------------------------------------

// make_qx_quants with rmse_type 1 and no importance weights: a symmetric fit of n values to
// levels -nmax..nmax-1 (stored + nmax), weighting each by x², over a small search of scales.
float fit_symmetric_levels(int n, int nmax, const float* x, int8_t* levels) {
  float max = 0, amax = 0;
  for (int i = 0; i < n; ++i) {
    const float ax = std::fabs(x[i]);
    if (ax > amax) {
      amax = ax;
      max = x[i];
    }
  }
  if (amax < kGroupMaxEps) {
    std::fill(levels, levels + n, 0);
    return 0.f;
  }
  float iscale = -nmax / max;
  float sumlx = 0, suml2 = 0;
  for (int i = 0; i < n; ++i) {
    int l = nearest_int(iscale * x[i]);
    l = std::max(-nmax, std::min(nmax - 1, l));
    levels[i] = static_cast<int8_t>(l + nmax);
    const float w = x[i] * x[i];
    sumlx += w * x[i] * l;
    suml2 += w * l * l;
  }
  float scale = suml2 != 0 ? sumlx / suml2 : 0.0f;
  float best = scale * sumlx;
  for (int step = -9; step <= 9; ++step) {
    if (step == 0) continue;
    iscale = -(nmax + 0.1f * step) / max;
    sumlx = suml2 = 0;
    for (int i = 0; i < n; ++i) {
      int l = nearest_int(iscale * x[i]);
      l = std::max(-nmax, std::min(nmax - 1, l));
      const float w = x[i] * x[i];
      sumlx += w * x[i] * l;
      suml2 += w * l * l;
    }
    if (suml2 > 0 && sumlx * sumlx > best * suml2) {
      for (int i = 0; i < n; ++i) {
        const int l = nearest_int(iscale * x[i]);
        levels[i] = static_cast<int8_t>(nmax + std::max(-nmax, std::min(nmax - 1, l)));
      }
      scale = sumlx / suml2;
      best = scale * sumlx;
    }
  }
  return scale;
}

void quantize_q6_K(const float* x, uint64_t count, uint8_t* out) {
  int8_t levels[kSuperBlock];
  float scales[16];
  for (uint64_t block = 0; block < count / kSuperBlock; ++block, x += kSuperBlock, out += 210) {
    uint8_t* ql = out;
    uint8_t* qh = out + 128;
    int8_t* block_scales = reinterpret_cast<int8_t*>(out + 192);
    uint8_t* d_at = out + 208;
    float max_scale = 0, max_abs_scale = 0;
    for (int ib = 0; ib < 16; ++ib) {
      const float scale = fit_symmetric_levels(16, 32, x + 16 * ib, levels + 16 * ib);
      scales[ib] = scale;
      if (std::fabs(scale) > max_abs_scale) {
        max_abs_scale = std::fabs(scale);
        max_scale = scale;
      }
    }
    if (max_abs_scale < kGroupMaxEps) {
      std::memset(out, 0, 210);
      put_half(d_at, 0.f);
      continue;
    }
    const float iscale = -128.f / max_scale;
    put_half(d_at, 1 / iscale);
    for (int ib = 0; ib < 16; ++ib) block_scales[ib] = static_cast<int8_t>(std::min(127, nearest_int(iscale * scales[ib])));
    for (int j = 0; j < 16; ++j) {
      const float d = get_half(d_at) * block_scales[j];
      if (d == 0) continue;
      for (int i = 0; i < 16; ++i) {
        int l = nearest_int(x[16 * j + i] / d);
        l = std::max(-32, std::min(31, l));
        levels[16 * j + i] = static_cast<int8_t>(l + 32);
      }
    }
    for (int j = 0; j < kSuperBlock; j += 128, ql += 64, qh += 32) {
      for (int l = 0; l < 32; ++l) {
        const uint8_t q1 = levels[j + l] & 0xF, q2 = levels[j + l + 32] & 0xF;
        const uint8_t q3 = levels[j + l + 64] & 0xF, q4 = levels[j + l + 96] & 0xF;
        ql[l] = static_cast<uint8_t>(q1 | (q3 << 4));
        ql[l + 32] = static_cast<uint8_t>(q2 | (q4 << 4));
        qh[l] = static_cast<uint8_t>((levels[j + l] >> 4) | ((levels[j + l + 32] >> 4) << 2) |
                                     ((levels[j + l + 64] >> 4) << 4) | ((levels[j + l + 96] >> 4) << 6));
      }
    }
  }
}

void dequantize_q6_K(const uint8_t* in, uint64_t count, float* y) {
  for (uint64_t block = 0; block < count / kSuperBlock; ++block, in += 210) {
    const float d = get_half(in + 208);
    const uint8_t* ql = in;
    const uint8_t* qh = in + 128;
    const int8_t* sc = reinterpret_cast<const int8_t*>(in + 192);
    for (int n = 0; n < kSuperBlock; n += 128, y += 128, ql += 64, qh += 32, sc += 8) {
      for (int l = 0; l < 32; ++l) {
        const int is = l / 16;
        const int q1 = static_cast<int8_t>((ql[l] & 0xF) | (((qh[l] >> 0) & 3) << 4)) - 32;
        const int q2 = static_cast<int8_t>((ql[l + 32] & 0xF) | (((qh[l] >> 2) & 3) << 4)) - 32;
        const int q3 = static_cast<int8_t>((ql[l] >> 4) | (((qh[l] >> 4) & 3) << 4)) - 32;
        const int q4 = static_cast<int8_t>((ql[l + 32] >> 4) | (((qh[l] >> 6) & 3) << 4)) - 32;
        y[l] = d * sc[is] * q1;
        y[l + 32] = d * sc[is + 2] * q2;
        y[l + 64] = d * sc[is + 4] * q3;
        y[l + 96] = d * sc[is + 6] * q4;
      }
    }
  }
}

void check_blocks(GgmlType type, uint64_t count) {
  const GgmlTypeInfo* info = ggml_type_info(static_cast<uint32_t>(type));
  if (count % info->block_elements != 0)
    throw Error(ErrorCategory::internal, std::string(info->name) + " row of " + std::to_string(count) +
                                             " elements is not a whole number of blocks");
}

}  // namespace

void quantize_row(GgmlType type, const float* values, uint64_t count, uint8_t* out) {
  check_blocks(type, count);
  switch (type) {
    case GgmlType::f32: std::memcpy(out, values, count * 4); return;
    case GgmlType::f16:
      for (uint64_t i = 0; i < count; ++i) put_half(out + 2 * i, values[i]);
      return;
    case GgmlType::bf16:
      for (uint64_t i = 0; i < count; ++i) {
        uint16_t bits = engine::float_to_bfloat16(values[i]);
        std::memcpy(out + 2 * i, &bits, 2);
      }
      return;
    case GgmlType::q8_0: quantize_q8_0(values, count, out); return;
    case GgmlType::q4_0: quantize_q4_0(values, count, out); return;
    case GgmlType::q4_K: quantize_q4_K(values, count, out); return;
    case GgmlType::q6_K: quantize_q6_K(values, count, out); return;
    default:
      throw Error(ErrorCategory::unsupported, std::string("no float quantizer for ggml type ") +
                                                  ggml_type_info(static_cast<uint32_t>(type))->name);
  }
}

void dequantize_row(GgmlType type, const uint8_t* blocks, uint64_t count, float* out) {
  check_blocks(type, count);
  switch (type) {
    case GgmlType::f32: std::memcpy(out, blocks, count * 4); return;
    case GgmlType::f16:
      for (uint64_t i = 0; i < count; ++i) out[i] = get_half(blocks + 2 * i);
      return;
    case GgmlType::bf16:
      for (uint64_t i = 0; i < count; ++i) {
        uint16_t bits;
        std::memcpy(&bits, blocks + 2 * i, 2);
        out[i] = engine::bfloat16_to_float(bits);
      }
      return;
    case GgmlType::q8_0: dequantize_q8_0(blocks, count, out); return;
    case GgmlType::q4_0: dequantize_q4_0(blocks, count, out); return;
    case GgmlType::q4_K: dequantize_q4_K(blocks, count, out); return;
    case GgmlType::q6_K: dequantize_q6_K(blocks, count, out); return;
    default:
      throw Error(ErrorCategory::unsupported, std::string("no float dequantizer for ggml type ") +
                                                  ggml_type_info(static_cast<uint32_t>(type))->name);
  }
}

}  // namespace mhub::onnx_io::gguf
