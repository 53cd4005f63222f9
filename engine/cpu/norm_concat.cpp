// The internal ConcatBatchNorm (engine/ir/internal_ops.def; written by
// engine/core/passes/concat_batch_norm.h for DenseNet's Concat -> BatchNormalization [-> Relu]):
// Y = act(X * k[ch] + off[ch]) over the channel concatenation X of the parts, without the
// Concat's buffer. What it saves is memory traffic: the unfused pair wrote the concatenation and
// read it back (the BN in place, nn_fusion.h's kInputInPlace); here each part is read once and Y
// written once.
// - Reference: the unfused nodes' reference formulas (Concat's copy, BatchNormalization's k and
//   off per channel, the activation's reference), every float type widened, NCHW or
//   channels-last.
// - Fast (float32, parameters of C values or one): k and off from norm.cpp's per-constant-set
//   cache; channels-last pixels threaded, in tiles filled part by part (as the channels-last
//   Concat does: one read stream per part, the tile's output in L1 until its last part is in),
//   each part's channel run scaled, shifted and Relu'd in vector registers (AVX-512 / AVX2
//   clones); NCHW planes threaded, each plane read from its part by norm.cpp's plane loop. An
//   activation other than Relu is applied to each tile (plane chunk) while it is in cache.
#include <algorithm>
#include <cmath>
#include <string>

#include "engine/cpu/cpu_kernels.h"
#include "engine/cpu/epilogue.h"
#include "engine/cpu/nn_util.h"
#include "engine/cpu/norm_batch_coefficients.h"
#include "engine/ops/shape.h"

namespace mhub::engine::cpu {

// One part of a channels-last ConcatBatchNorm: [pixels, channels] floats.
struct ConcatBatchNormPart {
  const float* data;
  int64_t channels;
};

namespace {
// Sixteen floats at any address (Lanes16) and held in registers (Vector16): one zmm register in
// the AVX-512 clone, two ymm in the AVX2 one, four SSE registers in the baseline.
typedef float Lanes16 __attribute__((vector_size(64), aligned(4), may_alias));
typedef float Vector16 __attribute__((vector_size(64)));
}  // namespace

// Outside the anonymous namespace on purpose (see epilogue.cpp's sigmoid_span): target_clones.
// Not contracted into FMAs (the baseline clone has none): every clone rounds x * k + off as the
// reference does, a product then a sum.
// Output pixels [lo, hi) of a channels-last ConcatBatchNorm into y ([pixels, c]): part j's run of
// pixel p, x_j[p * c_j + ch], becomes y[p * c + o_j + ch] = x * k[o_j + ch] + off[o_j + ch], o_j the
// channels of the parts before it, then Relu where `relu`. Sixteen channels of a part at a time,
// their k and off kept in registers while the pixels pass (a loop over each run's channels, left
// to the vectoriser, checked its pointers for overlap once per pixel and part: DenseNet's runs
// are 32 channels); a part's last c_j % 16 channels one by one.
__attribute__((target_clones("arch=x86-64-v4", "avx2", "default"), optimize("fp-contract=off"))) void concat_batch_norm_pixels(
    float* y, int64_t c, const ConcatBatchNormPart* parts, size_t count, const float* k, const float* off, bool relu, int64_t lo,
    int64_t hi) {
  const Vector16 zero = {};
  int64_t offset = 0;
  for (size_t j = 0; j < count; ++j) {
    const int64_t width = parts[j].channels;
    const float* src = parts[j].data + lo * width;
    float* dst = y + lo * c + offset;
    int64_t ch = 0;
    for (; ch + 16 <= width; ch += 16) {
      const Vector16 kv = *reinterpret_cast<const Lanes16*>(k + offset + ch);
      const Vector16 ov = *reinterpret_cast<const Lanes16*>(off + offset + ch);
      const float* s = src + ch;
      float* t = dst + ch;
      if (relu)
        for (int64_t p = lo; p < hi; ++p, s += width, t += c) {
          const Vector16 v = *reinterpret_cast<const Lanes16*>(s) * kv + ov;
          *reinterpret_cast<Lanes16*>(t) = v < zero ? zero : v;
        }
      else
        for (int64_t p = lo; p < hi; ++p, s += width, t += c) *reinterpret_cast<Lanes16*>(t) = *reinterpret_cast<const Lanes16*>(s) * kv + ov;
    }
    if (ch < width) {
      const float* s = src;
      float* t = dst;
      for (int64_t p = lo; p < hi; ++p, s += width, t += c)
        for (int64_t r = ch; r < width; ++r) {
          const float v = s[r] * k[offset + r] + off[offset + r];
          t[r] = relu ? relu_value(v) : v;
        }
    }
    offset += width;
  }
}

namespace {

// Floats of output a channels-last tile of pixels spans (layout_channels_last.cpp's Concat tile:
// the tile's output, written in pieces one per part, stays in L1 until its last part is in).
constexpr int64_t kTileFloats = 4096;

// The sizes of one run: parts X1..Xk (inputs 0 .. parts - 1), then scale, B, mean, var.
struct ConcatBatchNormDims {
  size_t parts = 0;
  std::vector<int64_t> dims;  // Y's, NCHW order
  int64_t n = 0, c = 0, inner = 0;  // inner: the product of the dims after the channels
  bool channels_last = false;       // the parts read and Y written (N, H, W, C) (mhub_layout_in)
};

// Checks what the node's inputs must be, as the unfused Concat and BatchNormalization would
// (parts of one type and rank >= 2, dims equal but the channels; parameters of C values or one).
ConcatBatchNormDims concat_batch_norm_dims(OpContext& ctx) {
  ConcatBatchNormDims d;
  if (ctx.input_count() < 5) fail(ctx, "expects X1, ..., Xk, scale, B, mean and var");
  if (ctx.node().attr_int("axis", 1) != 1) fail(ctx, "internal: only axis 1 is supported");
  d.parts = ctx.input_count() - 4;
  for (size_t j = 0; j < d.parts; ++j)
    if (!ctx.has_input(j)) fail(ctx, "input " + std::to_string(j) + " is absent");
  const ir::Tensor& first = ctx.input(0);
  if (first.dims.size() < 2) fail(ctx, "X1 must have rank >= 2");
  d.dims = first.dims;
  d.dims[1] = 0;
  for (size_t j = 0; j < d.parts; ++j) {
    const ir::Tensor& x = ctx.input(j);
    bool fits = x.dtype == first.dtype && x.dims.size() == first.dims.size();
    for (size_t a = 0; fits && a < x.dims.size(); ++a) fits = a == 1 || x.dims[a] == first.dims[a];
    if (!fits) fail(ctx, "input " + std::to_string(j) + " differs from input 0 in type, rank or a dim off axis 1");
    d.dims[1] += x.dims[1];
  }
  d.n = d.dims[0];
  d.c = d.dims[1];
  d.inner = ops::dims_product(d.dims, 2, d.dims.size());
  for (size_t i = d.parts; i < d.parts + 4; ++i)
    if (const size_t count = ctx.input(i).numel(); count != static_cast<size_t>(d.c) && count != 1)
      fail(ctx, "input " + std::to_string(i) + " holds " + std::to_string(count) + " values; Y has " + std::to_string(d.c) + " channels");
  d.channels_last = ctx.node().attr_string("mhub_layout_in", "") == "nhwc";
  if (d.channels_last && d.dims.size() != 4) fail(ctx, "internal: a channels-last input that is not 4-D");
  return d;
}

// The reference: Concat's copy into Y's byte order, then BatchNormalization's reference formula
// (k and off per channel in float, y = x * k + off) and the fused activation's reference.
void concat_batch_norm(OpContext& ctx) {
  const ConcatBatchNormDims d = concat_batch_norm_dims(ctx);
  // Offset of (image b, channel ch, position i) in a tensor of `c` channels.
  auto at = [&](int64_t c, int64_t b, int64_t ch, int64_t i) {
    return static_cast<size_t>(d.channels_last ? (b * d.inner + i) * c + ch : (b * c + ch) * d.inner + i);
  };
  std::vector<float> x(static_cast<size_t>(d.n * d.c * d.inner));
  int64_t offset = 0;
  for (size_t j = 0; j < d.parts; ++j) {
    const std::vector<float> part = input_floats(ctx, j);
    const int64_t cj = ctx.input(j).dims[1];
    for (int64_t b = 0; b < d.n; ++b)
      for (int64_t ch = 0; ch < cj; ++ch)
        for (int64_t i = 0; i < d.inner; ++i) x[at(d.c, b, offset + ch, i)] = part[at(cj, b, ch, i)];
    offset += cj;
  }
  const std::vector<float> scale = input_floats(ctx, d.parts), bias = input_floats(ctx, d.parts + 1);
  const std::vector<float> mean = input_floats(ctx, d.parts + 2), var = input_floats(ctx, d.parts + 3);
  const float eps = ctx.node().attr_float("epsilon", 1e-5f);
  const Epilogue e = epilogue_of(ctx.node(), nullptr);
  std::vector<float> y(x.size());
  for (int64_t ch = 0; ch < d.c; ++ch) {
    const float k = channel_value(scale, ch) / std::sqrt(channel_value(var, ch) + eps);
    const float off = channel_value(bias, ch) - channel_value(mean, ch) * k;
    for (int64_t b = 0; b < d.n; ++b)
      for (int64_t i = 0; i < d.inner; ++i) {
        const size_t o = at(d.c, b, ch, i);
        y[o] = x[o] * k + off;
        if (e.any()) y[o] = activation_reference(e, y[o]);
      }
  }
  output_floats(ctx, 0, ctx.input(0).dtype, d.dims, y.data());
}

void concat_batch_norm_fast(OpContext& ctx) {
  const ConcatBatchNormDims d = concat_batch_norm_dims(ctx);  // every input float32 (supports)
  const std::shared_ptr<const BatchNormCoefficients> co =
      batch_norm_coefficients_cached(ctx, d.parts, d.c, ctx.node().attr_float("epsilon", 1e-5f));
  const float* k = co->k.data();
  const float* off = co->off.data();
  float* y = mutable_floats(ctx.allocate_output(0, ir::DataType::float32, d.dims));
  if (d.n * d.c * d.inner == 0) return;
  const Epilogue e = epilogue_of(ctx.node(), nullptr);
  const bool relu = e.act == Activation::relu;
  // The activation other than Relu over the output elements [lo, hi).
  auto finish = [&](size_t lo, size_t hi) {
    if (e.any() && !relu) activation_span(e, y + lo, y + lo, hi - lo);
  };
  if (d.channels_last) {
    std::vector<ConcatBatchNormPart> parts;
    for (size_t j = 0; j < d.parts; ++j) parts.push_back({ctx.input(j).data<float>(), ctx.input(j).dims[1]});
    const int64_t c = d.c, tile = std::max<int64_t>(1, kTileFloats / c);
    ctx.threads().parallel_for(static_cast<size_t>(d.n * d.inner), chunk_for_elements(static_cast<size_t>(c)), [&](size_t lo, size_t hi) {
      for (int64_t t0 = static_cast<int64_t>(lo); t0 < static_cast<int64_t>(hi); t0 += tile) {
        const int64_t t1 = std::min(static_cast<int64_t>(hi), t0 + tile);
        concat_batch_norm_pixels(y, c, parts.data(), parts.size(), k, off, relu, t0, t1);
        finish(static_cast<size_t>(t0 * c), static_cast<size_t>(t1 * c));
      }
    });
    return;
  }
  // NCHW: output plane (b, ch) is plane (b, ch - o_j) of the part j holding channel ch.
  std::vector<const float*> source(static_cast<size_t>(d.c));  // channel ch's plane in image 0
  std::vector<int64_t> image_stride(static_cast<size_t>(d.c));  // floats between its images
  for (size_t j = 0, ch = 0; j < d.parts; ++j)
    for (int64_t local = 0; local < ctx.input(j).dims[1]; ++local, ++ch) {
      source[ch] = ctx.input(j).data<float>() + local * d.inner;
      image_stride[ch] = ctx.input(j).dims[1] * d.inner;
    }
  const size_t inner = static_cast<size_t>(d.inner), c = static_cast<size_t>(d.c);
  ctx.threads().parallel_for(static_cast<size_t>(d.n * d.c), chunk_for_elements(inner), [&](size_t lo, size_t hi) {
    for (size_t plane = lo; plane < hi; ++plane) {
      const size_t b = plane / c, ch = plane % c;
      batch_norm_plane_fast(source[ch] + b * image_stride[ch], y + plane * inner, d.inner, k[ch], off[ch], relu);
    }
    finish(lo * inner, hi * inner);
  });
}

bool concat_batch_norm_fast_supports(const ir::Node&, std::span<const ir::DataType> t) {
  return t.size() >= 5 && std::all_of(t.begin(), t.end(), [](ir::DataType d) { return d == ir::DataType::float32; });
}

}  // namespace

void add_norm_concat_kernels(std::vector<KernelDef>& table) {
  table.push_back({ir::OpKind::ConcatBatchNorm, KernelKind::reference, concat_batch_norm, nn_float_input, 0, /*channels_last=*/true});
  table.push_back({ir::OpKind::ConcatBatchNorm, KernelKind::fast, concat_batch_norm_fast, concat_batch_norm_fast_supports, 0,
                   /*channels_last=*/true});
}

}  // namespace mhub::engine::cpu
