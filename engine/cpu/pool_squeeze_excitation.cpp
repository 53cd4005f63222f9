// Fast float32 SqueezeExcitation (the internal op of engine/core/passes/squeeze_excitation.h), NCHW
// or channels-last: per run
// 1. the channel means of X (channel_means: double sums in vector registers, threaded);
// 2. hidden = act(B1 + W1 · means) and gate = act(B2 + W2 · hidden) for all images at once, each
//    weight row read once for every image: the weights are kept transposed ([C, R] and [R, C]) so
//    each product is a run of axpy rows over the outputs (vectorised, float32, summed over the
//    inputs in the reference Conv's order), threaded with one block of outputs per thread, each
//    walking the weights in address order; constant weights are transposed once per weight
//    buffer and cached, fed ones every run;
// 3. Y = X * gate broadcast over the pixels (vectorised, threaded over planes or pixels).
#include <algorithm>
#include <cstdint>
#include <cstring>
#include <memory>
#include <mutex>
#include <unordered_map>

#include "engine/cpu/cpu_kernels.h"
#include "engine/cpu/epilogue.h"
#include "engine/cpu/nn_util.h"
#include "engine/cpu/pool_squeeze_excitation.h"
#include "engine/ops/fused_activation.h"

namespace mhub::engine::cpu {

// Outside the anonymous namespace on purpose (see epilogue.cpp's sigmoid_span): target_clones,
// with an AVX-512 clone: these loops are all the kernel computes, and twice the lanes halve them.
// Eight doubles: what eight channels of channels-last float32 sum into (one zmm register in the
// AVX-512 clone, two ymm in the AVX2 one).
typedef double DoubleLanes8 __attribute__((vector_size(64)));

// sums[j * 8 + i] += x[p * stride + j * 8 + i] for p < pixels (in order), j < V, i < 8: the V * 8
// channels' double sums held in registers across the pixels, loaded and stored once.
template <int V>
__attribute__((always_inline)) inline void channel_sums_lanes(const float* x, int64_t pixels, int64_t stride, double* sums) {
  DoubleLanes8 acc[V];
  for (int j = 0; j < V; ++j) std::memcpy(&acc[j], sums + 8 * j, sizeof acc[j]);
  for (int64_t p = 0; p < pixels; ++p, x += stride)
    for (int j = 0; j < V; ++j) acc[j] += __builtin_convertvector(*reinterpret_cast<const FloatLanes8*>(x + 8 * j), DoubleLanes8);
  for (int j = 0; j < V; ++j) std::memcpy(sums + 8 * j, &acc[j], sizeof acc[j]);
}

// sums[k] = sum over p < pixels of x[p * stride + k] for k < width, in double, each channel's
// pixels added in order (as the reference adds a plane's values). Pixels are taken 8 at a time,
// and for each 8 every channel of the run: 32 channels at a time in registers (4 zmm / 8 ymm
// accumulators), then 8, then the channels past the last multiple of 8 one by one. So X is read
// as 8 streams of `width` contiguous floats; walking all the pixels for 32 channels before the
// next 32 read 2 or 3 cache lines per pixel, C * 4 bytes apart (a new page at every pixel where
// C is 1000 or more), which the prefetchers do not follow.
__attribute__((target_clones("arch=x86-64-v4", "avx2", "default"))) void channel_means_sum_pixels(const float* x, int64_t pixels,
                                                                                                  int64_t stride, int64_t width,
                                                                                                  double* sums) {
  constexpr int64_t kGroup = 8;
  std::fill(sums, sums + width, 0.0);
  for (int64_t p0 = 0; p0 < pixels; p0 += kGroup, x += kGroup * stride) {
    const int64_t group = std::min(kGroup, pixels - p0);
    int64_t k = 0;
    for (; k + 32 <= width; k += 32) channel_sums_lanes<4>(x + k, group, stride, sums + k);
    for (; k + 8 <= width; k += 8) channel_sums_lanes<1>(x + k, group, stride, sums + k);
    for (; k < width; ++k) {
      double s = sums[k];
      for (int64_t p = 0; p < group; ++p) s += x[p * stride + k];
      sums[k] = s;
    }
  }
}

// The sum of x[0, count) in double, eight independent lanes (so it vectorises without -ffast-math).
__attribute__((target_clones("arch=x86-64-v4", "avx2", "default"))) double channel_means_plane_sum(const float* x, int64_t count) {
  double lane[8] = {0, 0, 0, 0, 0, 0, 0, 0};
  int64_t i = 0;
  for (; i + 8 <= count; i += 8)
    for (int k = 0; k < 8; ++k) lane[k] += x[i + k];
  double s = ((lane[0] + lane[1]) + (lane[2] + lane[3])) + ((lane[4] + lane[5]) + (lane[6] + lane[7]));
  for (; i < count; ++i) s += x[i];
  return s;
}

// y[i] += a * row[i] for i < count. Not contracted into FMAs, which the AVX2 and baseline clones
// lack: every clone rounds alike.
__attribute__((target_clones("arch=x86-64-v4", "avx2", "default"), optimize("fp-contract=off"))) void squeeze_excitation_axpy(float* y, float a, const float* row,
                                                                               int64_t count) {
  for (int64_t i = 0; i < count; ++i) y[i] += a * row[i];
}

// Channels-last: y[p * width + k] = x[p * width + k] * g[k] for p < rows pixels, k < width channels.
__attribute__((target_clones("arch=x86-64-v4", "avx2", "default"))) void squeeze_excitation_scale_rows(const float* x, const float* g,
                                                                                     float* y, int64_t rows, int64_t width) {
  for (int64_t p = 0; p < rows; ++p, x += width, y += width)
    for (int64_t k = 0; k < width; ++k) y[k] = x[k] * g[k];
}
// NCHW: y[i] = x[i] * g for one plane.
__attribute__((target_clones("arch=x86-64-v4", "avx2", "default"))) void squeeze_excitation_scale_plane(const float* x, float g, float* y,
                                                                                      int64_t count) {
  for (int64_t i = 0; i < count; ++i) y[i] = x[i] * g;
}

void channel_means(const float* x, int64_t n, int64_t c, int64_t hw, bool channels_last, float* means, ThreadPool& pool) {
  const double scale = hw ? 1.0 / static_cast<double>(hw) : 0.0;
  if (!channels_last) {
    pool.parallel_for(static_cast<size_t>(n * c), chunk_for_elements(static_cast<size_t>(hw)), [&](size_t lo, size_t hi) {
      for (size_t plane = lo; plane < hi; ++plane)
        means[plane] = static_cast<float>(channel_means_plane_sum(x + plane * hw, hw) * scale);
    });
    return;
  }
  // Channels-last: each job sums a block of channels over every pixel of one image, reading
  // `block` contiguous floats of each pixel; the sums (at most 2 KiB) stay in L1. Blocks of up to
  // 256 channels, narrower (a multiple of 8) where the images alone give the threads too few jobs:
  // a squeeze-excitation at batch 1 has 72 or 120 channels (mobilenet_v3).
  constexpr int64_t kMaxBlock = 256;
  const int64_t per_image = std::max<int64_t>(1, (pool.size() + n - 1) / std::max<int64_t>(1, n));
  const int64_t block = std::min(kMaxBlock, ((c + per_image - 1) / per_image + 7) / 8 * 8);
  const int64_t blocks = (c + block - 1) / block;
  pool.parallel_for(static_cast<size_t>(n * blocks), chunk_for_elements(static_cast<size_t>(hw * std::min(block, c))),
                    [&](size_t lo, size_t hi) {
                      double sums[kMaxBlock];
                      for (size_t job = lo; job < hi; ++job) {
                        const int64_t b = static_cast<int64_t>(job) / blocks, c0 = (static_cast<int64_t>(job) % blocks) * block;
                        const int64_t width = std::min(block, c - c0);
                        channel_means_sum_pixels(x + b * hw * c + c0, hw, c, width, sums);
                        for (int64_t k = 0; k < width; ++k) means[b * c + c0 + k] = static_cast<float>(sums[k] * scale);
                      }
                    });
}

SqueezeExcitationDims squeeze_excitation_dims(OpContext& ctx) {
  const ir::Tensor& x = ctx.input(0);
  if (x.dims.size() != 4) fail(ctx, "X must be 4-D (N, C, H, W)");
  SqueezeExcitationDims d;
  d.n = x.dims[0];
  d.c = x.dims[1];
  d.hw = x.dims[2] * x.dims[3];
  const ir::Tensor& w1 = ctx.input(1);
  const ir::Tensor& w2 = ctx.input(3);
  if (w1.dims.size() != 4 || w1.dims[1] != d.c || w1.dims[2] != 1 || w1.dims[3] != 1)
    fail(ctx, "W1 must be [R, C, 1, 1] with X's C = " + std::to_string(d.c));
  d.r = w1.dims[0];
  if (w2.dims != std::vector<int64_t>{d.c, d.r, 1, 1}) fail(ctx, "W2 must be [C, R, 1, 1] = [" + std::to_string(d.c) + ", " + std::to_string(d.r) + ", 1, 1]");
  d.has_b1 = ctx.has_input(2);
  d.has_b2 = ctx.has_input(4);
  if (d.has_b1 && ctx.input(2).dims != std::vector<int64_t>{d.r}) fail(ctx, "B1 must hold R = " + std::to_string(d.r) + " values");
  if (d.has_b2 && ctx.input(4).dims != std::vector<int64_t>{d.c}) fail(ctx, "B2 must hold C = " + std::to_string(d.c) + " values");
  d.channels_last = ctx.node().attr_string("mhub_layout_in", "") == "nhwc";
  if (d.channels_last != (ctx.node().attr_string("mhub_layout_out", "") == "nhwc"))
    fail(ctx, "X and Y must share one layout");
  return d;
}

Epilogue squeeze_excitation_activation(const ir::Node& node, bool hidden) {
  const ops::FusedActivation fused = hidden ? ops::fused_activation_of(node, ops::kHiddenPrefix) : ops::fused_activation_of(node);
  Epilogue e;
  e.act = fused.act;
  e.alpha = fused.alpha;
  e.beta = fused.beta;
  return e;
}

namespace {

// W [rows, cols] (row-major) transposed into out [cols, rows].
void transpose_into(const float* w, int64_t rows, int64_t cols, float* out) {
  for (int64_t i = 0; i < rows; ++i)
    for (int64_t j = 0; j < cols; ++j) out[j * rows + i] = w[i * cols + j];
}

// Both weights transposed: w1t [C, R], w2t [R, C]; the weight buffers kept alive while cached, so
// their addresses stay unique.
struct PackedWeights {
  std::shared_ptr<const ir::Storage> owner1, owner2;
  std::vector<float> w1t, w2t;
};

struct PackKey {
  const void* w1;
  const void* w2;
  int64_t r, c;
  bool operator==(const PackKey&) const = default;
};
struct PackKeyHash {
  size_t operator()(const PackKey& k) const {
    const size_t h = std::hash<const void*>()(k.w1) * 31 + std::hash<const void*>()(k.w2);
    return h * 31 + static_cast<size_t>(k.r * 65599 + k.c);
  }
};

std::mutex pack_mutex;
std::unordered_map<PackKey, std::shared_ptr<const PackedWeights>, PackKeyHash> pack_cache;
constexpr size_t kMaxCachedPacks = 1024;

std::shared_ptr<const PackedWeights> pack(const ir::Tensor& w1, const ir::Tensor& w2, int64_t r, int64_t c) {
  auto packed = std::make_shared<PackedWeights>();
  packed->owner1 = w1.storage;
  packed->owner2 = w2.storage;
  packed->w1t.resize(static_cast<size_t>(r * c));
  packed->w2t.resize(static_cast<size_t>(r * c));
  transpose_into(w1.data<float>(), r, c, packed->w1t.data());
  transpose_into(w2.data<float>(), c, r, packed->w2t.data());
  return packed;
}

// The transposed weights of this run: cached for constant weights, packed anew for fed ones.
std::shared_ptr<const PackedWeights> packed_weights(OpContext& ctx, const SqueezeExcitationDims& d) {
  const ir::Tensor& w1 = ctx.input(1);
  const ir::Tensor& w2 = ctx.input(3);
  if (!ctx.input_is_constant(1) || !ctx.input_is_constant(3)) return pack(w1, w2, d.r, d.c);
  const PackKey key{w1.data<float>(), w2.data<float>(), d.r, d.c};
  {
    std::lock_guard lock(pack_mutex);
    if (auto it = pack_cache.find(key); it != pack_cache.end()) return it->second;
  }
  auto packed = pack(w1, w2, d.r, d.c);
  std::lock_guard lock(pack_mutex);
  if (pack_cache.size() >= kMaxCachedPacks) pack_cache.clear();
  return pack_cache.emplace(key, std::move(packed)).first->second;
}

// out[b * m + j] = act(bias[j] + sum_k in[b * k_count + k] * wt[k * m + j]) for b < n, j < m,
// summed in k order; threaded over one block of j per thread.
// At batch 1 the weights are the traffic (mobilenet_v3's 960x240 pair is 1.8 MB, read once per
// run): each thread walks its columns of every weight row in address order, one row after the
// other, which the prefetchers follow. Blocks of 64 columns walked the whole matrix once per
// block, 256 bytes per 960-byte row, and took about three times ONNX Runtime's two 1x1 Convs
// (bench/node_compare.sh).
// Rows of `in` are in_stride floats apart, rows of `out` out_stride (a multiple of kAlign, and
// `out` 64-byte aligned: the threads' column blocks then never share a cache line; sharing one
// per row made two threads slower than one at batch 8, the line moving between the cores on
// every k).
void dense(const float* in, int64_t in_stride, int64_t n, int64_t k_count, const float* wt, const float* bias, int64_t m,
           const Epilogue& act, float* out, int64_t out_stride, ThreadPool& pool) {
  constexpr int64_t kAlign = 16;  // one 64-byte line of floats: blocks start on their own lines
  const int64_t per_thread = (m + pool.size() - 1) / std::max(1, pool.size());
  const int64_t columns = std::max(kAlign, (per_thread + kAlign - 1) / kAlign * kAlign);
  const int64_t blocks = (m + columns - 1) / columns;
  pool.parallel_for(static_cast<size_t>(blocks), chunk_for_elements(static_cast<size_t>(n * k_count * columns)),
                    [&](size_t lo, size_t hi) {
                      for (size_t block = lo; block < hi; ++block) {
                        const int64_t j0 = static_cast<int64_t>(block) * columns, width = std::min(columns, m - j0);
                        for (int64_t b = 0; b < n; ++b) {
                          float* y = out + b * out_stride + j0;
                          if (bias) std::copy(bias + j0, bias + j0 + width, y);
                          else std::fill(y, y + width, 0.0f);
                        }
                        for (int64_t k = 0; k < k_count; ++k)
                          for (int64_t b = 0; b < n; ++b)
                            squeeze_excitation_axpy(out + b * out_stride + j0, in[b * in_stride + k], wt + k * m + j0, width);
                        for (int64_t b = 0; b < n; ++b)
                          activation_span(act, out + b * out_stride + j0, out + b * out_stride + j0, width);
                      }
                    });
}

// Per-thread buffers of the calling thread, grown as needed: steady-state runs allocate nothing.
struct Scratch {
  std::vector<float> means, hidden, gate;
};
thread_local Scratch scratch;

// The first 64-byte aligned float of `v`, grown to hold `size` floats from there.
float* aligned_floats(std::vector<float>& v, int64_t size) {
  constexpr int64_t kLine = 64 / sizeof(float);
  if (v.size() < static_cast<size_t>(size + kLine)) v.resize(static_cast<size_t>(size + kLine));
  const auto misalign = reinterpret_cast<uintptr_t>(v.data()) % 64;
  return v.data() + (misalign ? (64 - misalign) / sizeof(float) : 0);
}

// Rows padded to whole cache lines (dense's out_stride).
int64_t line_stride(int64_t floats) { return (floats + 15) / 16 * 16; }

void squeeze_excitation_fast(OpContext& ctx) {
  const SqueezeExcitationDims d = squeeze_excitation_dims(ctx);
  const ir::Tensor& x = ctx.input(0);
  ir::Tensor& y = ctx.allocate_output(0, ir::DataType::float32, x.dims);
  const float* src = x.data<float>();
  float* dst = mutable_floats(y);
  ThreadPool& pool = ctx.threads();
  const int64_t r_stride = line_stride(d.r), c_stride = line_stride(d.c);
  float* means = aligned_floats(scratch.means, d.n * d.c);
  float* hidden = aligned_floats(scratch.hidden, d.n * r_stride);
  float* gate = aligned_floats(scratch.gate, d.n * c_stride);
  channel_means(src, d.n, d.c, d.hw, d.channels_last, means, pool);
  const std::shared_ptr<const PackedWeights> packed = packed_weights(ctx, d);
  const ir::Node& node = ctx.node();
  const Epilogue hidden_act = squeeze_excitation_activation(node, true);
  const Epilogue gate_act = squeeze_excitation_activation(node, false);
  dense(means, d.c, d.n, d.c, packed->w1t.data(), d.has_b1 ? ctx.input(2).data<float>() : nullptr, d.r, hidden_act, hidden,
        r_stride, pool);
  dense(hidden, r_stride, d.n, d.r, packed->w2t.data(), d.has_b2 ? ctx.input(4).data<float>() : nullptr, d.c, gate_act, gate,
        c_stride, pool);
  if (d.channels_last) {
    const int64_t pixels = d.n * d.hw;
    pool.parallel_for(static_cast<size_t>(pixels), chunk_for_elements(static_cast<size_t>(d.c)), [&](size_t lo, size_t hi) {
      // Runs of pixels inside one image share its gate row.
      for (int64_t p = static_cast<int64_t>(lo); p < static_cast<int64_t>(hi);) {
        const int64_t b = p / d.hw, end = std::min(static_cast<int64_t>(hi), (b + 1) * d.hw);
        squeeze_excitation_scale_rows(src + p * d.c, gate + b * c_stride, dst + p * d.c, end - p, d.c);
        p = end;
      }
    });
  } else {
    pool.parallel_for(static_cast<size_t>(d.n * d.c), chunk_for_elements(static_cast<size_t>(d.hw)), [&](size_t lo, size_t hi) {
      for (size_t plane = lo; plane < hi; ++plane)
        squeeze_excitation_scale_plane(src + plane * d.hw, gate[(plane / d.c) * c_stride + plane % d.c], dst + plane * d.hw, d.hw);
    });
  }
}

bool squeeze_excitation_fast_supports(const ir::Node& node, std::span<const ir::DataType> types) {
  if (types.size() < 4 || types[0] != ir::DataType::float32 || types[1] != ir::DataType::float32 ||
      types[3] != ir::DataType::float32)
    return false;
  for (size_t i : {size_t{2}, size_t{4}})
    if (i < types.size() && i < node.inputs.size() && !node.inputs[i].empty() && types[i] != ir::DataType::float32) return false;
  return true;
}

}  // namespace

void add_pool_squeeze_excitation_kernels(std::vector<KernelDef>& table) {
  table.push_back({ir::OpKind::SqueezeExcitation, KernelKind::fast, squeeze_excitation_fast, squeeze_excitation_fast_supports,
                   0, /*channels_last=*/true});
}

}  // namespace mhub::engine::cpu
