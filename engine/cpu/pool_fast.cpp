// Fast float32 GlobalAveragePool, plain or (4-D) channels-last (mhub_layout_in,
// passes/channels_last.h), sums in double as the reference (channel_means, shared with
// SqueezeExcitation).
//
// Fast float32 2-D MaxPool (no Indices output, storage_order 0): plain loops over the window with
// the geometry of conv_geometry.h. On NCHW tensors threaded over the N x C planes: oneDNN 2.7's
// pooling on plain NCHW memory falls back to a slow generic implementation on AVX2 machines
// (resnet's 3x3/2 stem pool took a quarter of the model's time), so this kernel is registered
// ahead of it. On channels-last values (pool_fast.h) threaded over output rows, each output
// pixel's channel run the vector maximum of its window's channel runs (AVX-512 / AVX2 clones;
// ahead of oneDNN's nhwc pooling too, which took longer per node on squeezenet1_1's 3x3/2
// ceil_mode pools). Same comparisons as the reference: a window's first value, then every larger
// one (a NaN first in its window stays, later NaNs are skipped).
#include <algorithm>
#include <limits>

#include "engine/ops/conv_geometry.h"
#include "engine/cpu/cpu_kernels.h"
#include "engine/cpu/nn_util.h"
#include "engine/cpu/pool_fast.h"
#include "engine/cpu/pool_squeeze_excitation.h"
#include "engine/ops/shape.h"

namespace mhub::engine::cpu {

struct MaxPoolRowGeometry {
  int64_t c, ih, iw, ow, kh, kw, sh, sw, dh, dw, ph, pw;
};

namespace {

// [lo, hi): the window indices i < k whose position start + i * d lies in [0, size). Rows and
// columns are independent, so a window's valid part is a rectangle of kernel indices.
void max_pool_valid_range(int64_t start, int64_t k, int64_t d, int64_t size, int64_t& lo, int64_t& hi) {
  lo = start >= 0 ? 0 : (-start + d - 1) / d;
  hi = start + (k - 1) * d < size ? k : (size - 1 - start) / d + 1;
  if (start >= size || hi < lo) hi = lo;
}

// Sixteen floats at any address: one zmm register in the AVX-512 clone, two ymm in the AVX2 one
// (what FloatLanes8 gave before that clone existed), four SSE registers in the baseline.
typedef float FloatLanes16 __attribute__((vector_size(64), aligned(4), may_alias));

// W = 8 or 16 floats at any address, through FloatLanes8 / FloatLanes16, held as plain vector
// values. Not a Lanes type parameter: GCC drops a typedef's aligned and may_alias attributes from
// a template argument, and the loads and stores then assumed 32- or 64-byte alignment (vmovaps
// on unaligned pixels). By reference, not by value: no vector crosses a call boundary of the
// baseline clone's ABI.
typedef float FloatVector8 __attribute__((vector_size(32)));
typedef float FloatVector16 __attribute__((vector_size(64)));
template <int W>
struct LanesOf {
  using type = FloatVector8;
};
template <>
struct LanesOf<16> {
  using type = FloatVector16;
};
template <int W>
__attribute__((always_inline)) inline void load_lanes(const float* p, typename LanesOf<W>::type& v) {
  if constexpr (W == 16)
    v = *reinterpret_cast<const FloatLanes16*>(p);
  else
    v = *reinterpret_cast<const FloatLanes8*>(p);
}
template <int W>
__attribute__((always_inline)) inline void store_lanes(float* p, const typename LanesOf<W>::type& v) {
  if constexpr (W == 16)
    *reinterpret_cast<FloatLanes16*>(p) = v;
  else
    *reinterpret_cast<FloatLanes8*>(p) = v;
}

// y[0, W * V) = maximum of the window whose first valid value is at `first`: rows x cols values
// row_step / col_step floats apart, in row-major order, the accumulators in registers. R, C > 0
// fix rows and cols at compile time (the full 3x3 window of nearly every CNN's MaxPool: its
// 9 * V loads and maxima unrolled, no loop counters).
template <int W, int V, int R, int C>
__attribute__((always_inline)) inline void max_pool_window_lanes(const float* first, int64_t rows, int64_t cols, int64_t row_step,
                                                                 int64_t col_step, float* y) {
  const int64_t nr = R > 0 ? R : rows, nc = C > 0 ? C : cols;
  typename LanesOf<W>::type acc[V], b;
  for (int j = 0; j < V; ++j) load_lanes<W>(first + W * j, acc[j]);
  for (int64_t i = 0; i < nr; ++i)
    for (int64_t k = i == 0 ? 1 : 0; k < nc; ++k) {
      const float* v = first + i * row_step + k * col_step;
      for (int j = 0; j < V; ++j) {
        load_lanes<W>(v + W * j, b);
        acc[j] = b > acc[j] ? b : acc[j];
      }
    }
  for (int j = 0; j < V; ++j) store_lanes<W>(y + W * j, acc[j]);
}

// One channel of that window (the channels past the last multiple of 8).
__attribute__((always_inline)) inline void max_pool_window_one(const float* first, int64_t rows, int64_t cols, int64_t row_step,
                                                               int64_t col_step, float* y) {
  float acc = *first;
  for (int64_t i = 0; i < rows; ++i)
    for (int64_t k = i == 0 ? 1 : 0; k < cols; ++k) {
      const float v = first[i * row_step + k * col_step];
      acc = v > acc ? v : acc;
    }
  *y = acc;
}

// All c channels of one output pixel's window: 64 at a time (four cache lines of each window
// pixel, four zmm / eight ymm maxima in registers), then 16, then 8, then one by one.
template <int R, int C>
__attribute__((always_inline)) inline void max_pool_window_channels(const float* first, int64_t c, int64_t rows, int64_t cols,
                                                                    int64_t row_step, int64_t col_step, float* y) {
  int64_t k = 0;
  for (; k + 64 <= c; k += 64) max_pool_window_lanes<16, 4, R, C>(first + k, rows, cols, row_step, col_step, y + k);
  for (; k + 16 <= c; k += 16) max_pool_window_lanes<16, 1, R, C>(first + k, rows, cols, row_step, col_step, y + k);
  for (; k + 8 <= c; k += 8) max_pool_window_lanes<8, 1, R, C>(first + k, rows, cols, row_step, col_step, y + k);
  for (; k < c; ++k) max_pool_window_one(first + k, rows, cols, row_step, col_step, y + k);
}

}  // namespace

// Outside the anonymous namespace on purpose (see epilogue.cpp's sigmoid_span): target_clones.
// Output row r of one channels-last image: y[col * c + k] for col < ow, k < c, from the image x
// ([ih, iw, c]). Each output pixel's window is clipped to the image once (a rectangle of kernel
// indices, visited in row-major order as the reference visits it), then its channels are taken
// 64 at a time (max_pool_window_channels), a whole 3x3 window by code unrolled for it. A plain
// loop over the channels per window value paid a vector loop's entry and tail for every channel
// run; 16 channels at a time walked nine window pixels one cache line each and was slower where
// the input came from beyond L2 (googlenet's 192 channels).
__attribute__((target_clones("arch=x86-64-v4", "avx2", "default"))) void max_pool_channels_last_row(const float* x,
                                                                                                    float* __restrict y, int64_t r,
                                                                                                    const MaxPoolRowGeometry& g) {
  const int64_t c = g.c, r0 = r * g.sh - g.ph;
  int64_t kr_lo = 0, kr_hi = 0;
  max_pool_valid_range(r0, g.kh, g.dh, g.ih, kr_lo, kr_hi);
  const int64_t row_step = g.dh * g.iw * c, col_step = g.dw * c;
  for (int64_t col = 0; col < g.ow; ++col, y += c) {
    const int64_t c0 = col * g.sw - g.pw;
    int64_t kc_lo = 0, kc_hi = 0;
    max_pool_valid_range(c0, g.kw, g.dw, g.iw, kc_lo, kc_hi);
    // A window entirely in the padding (possible with ceil_mode) has no value: -inf, as the
    // reference's starting point.
    if (kr_lo == kr_hi || kc_lo == kc_hi) {
      for (int64_t k = 0; k < c; ++k) y[k] = -std::numeric_limits<float>::infinity();
      continue;
    }
    const float* first = x + ((r0 + kr_lo * g.dh) * g.iw + c0 + kc_lo * g.dw) * c;
    const int64_t rows = kr_hi - kr_lo, cols = kc_hi - kc_lo;
    if (rows == 3 && cols == 3)
      max_pool_window_channels<3, 3>(first, c, rows, cols, row_step, col_step, y);
    else
      max_pool_window_channels<0, 0>(first, c, rows, cols, row_step, col_step, y);
  }
}

void max_pool_channels_last(const float* x, int64_t n, int64_t c, const ops::ConvGeometry& g, float* y, ThreadPool& pool) {
  const MaxPoolRowGeometry rg{c,           g.in[0],       g.in[1],       g.out[1],      g.kernel[0],   g.kernel[1],
                              g.stride[0], g.stride[1],   g.dilation[0], g.dilation[1], g.pad_begin[0], g.pad_begin[1]};
  const int64_t oh = g.out[0], rows = n * oh;
  if (rows * rg.ow * c == 0) return;
  // An output row reads kh input rows (the windows of neighbouring columns overlap in cache).
  pool.parallel_for(static_cast<size_t>(rows), chunk_for_elements(static_cast<size_t>((rg.kh * rg.iw + rg.ow) * c)), [&](size_t lo, size_t hi) {
    for (size_t job = lo; job < hi; ++job) {
      const int64_t b = static_cast<int64_t>(job) / oh, r = static_cast<int64_t>(job) % oh;
      max_pool_channels_last_row(x + b * rg.ih * rg.iw * c, y + (b * oh + r) * rg.ow * c, r, rg);
    }
  });
}

namespace {

void max_pool_2d(OpContext& ctx) {
  const ir::Node& node = ctx.node();
  const ir::Tensor& x = ctx.input(0);
  if (x.dims.size() != 4) fail(ctx, "X must be 4-D");
  std::vector<int64_t> in(x.dims.begin() + 2, x.dims.end());
  ops::ConvGeometry g = ops::conv_geometry(ctx.node(), in, node.attr_ints("kernel_shape"), node.attr_int("ceil_mode", 0) != 0);
  int64_t ih = in[0], iw = in[1], oh = g.out[0], ow = g.out[1];
  int64_t nc = x.dims[0] * x.dims[1];
  ir::Tensor& y = ctx.allocate_output(0, ir::DataType::float32, {x.dims[0], x.dims[1], oh, ow});
  const float* src = x.data<float>();
  float* dst = mutable_floats(y);
  // mhub_layout_in/out = "nhwc" (always both on a pooling node): channels-last bytes, NCHW dims.
  if (node.attr_string("mhub_layout_in", "") == "nhwc") {
    max_pool_channels_last(src, x.dims[0], x.dims[1], g, dst, ctx.threads());
    return;
  }
  int64_t kh = g.kernel[0], kw = g.kernel[1], sh = g.stride[0], sw = g.stride[1];
  int64_t dh = g.dilation[0], dw = g.dilation[1], ph = g.pad_begin[0], pw = g.pad_begin[1];
  // Output columns whose whole window lies inside the row: [c_lo, c_hi).
  int64_t c_lo = std::min(ow, (pw + sw - 1) / sw);
  int64_t c_hi = c_lo;
  while (c_hi < ow && c_hi * sw - pw + (kw - 1) * dw < iw) ++c_hi;
  // Each plane reads its input once (windows overlap in cache) and writes its output.
  ctx.threads().parallel_for(static_cast<size_t>(nc), chunk_for_elements(static_cast<size_t>(ih * iw + oh * ow)), [&](size_t lo, size_t hi) {
    for (size_t plane = lo; plane < hi; ++plane) {
      const float* xi = src + plane * ih * iw;
      float* yo = dst + plane * oh * ow;
      for (int64_t r = 0; r < oh; ++r) {
        int64_t r0 = r * sh - ph;
        float* out = yo + r * ow;
        bool rows_inside = r0 >= 0 && r0 + (kh - 1) * dh < ih;
        // Interior: window positions in row-major order, each over all interior columns (no
        // bounds checks, so the compiler vectorises over columns).
        if (rows_inside && c_hi > c_lo) {
          for (int64_t kr = 0; kr < kh; ++kr) {
            const float* row = xi + (r0 + kr * dh) * iw - pw;
            for (int64_t kc = 0; kc < kw; ++kc) {
              const float* base = row + kc * dw;
              if (kr == 0 && kc == 0)
                for (int64_t c = c_lo; c < c_hi; ++c) out[c] = base[c * sw];
              else
                for (int64_t c = c_lo; c < c_hi; ++c) {
                  float v = base[c * sw];
                  out[c] = v > out[c] ? v : out[c];
                }
            }
          }
        }
        for (int64_t c = 0; c < ow; ++c) {
          if (rows_inside && c >= c_lo && c < c_hi) continue;
          int64_t c0 = c * sw - pw;
          bool found = false;
          float best = 0.0f;
          for (int64_t kr = 0; kr < kh; ++kr) {
            int64_t q = r0 + kr * dh;
            if (q < 0 || q >= ih) continue;
            const float* row = xi + q * iw;
            for (int64_t kc = 0; kc < kw; ++kc) {
              int64_t p = c0 + kc * dw;
              if (p < 0 || p >= iw) continue;
              float v = row[p];
              if (!found || v > best) best = v;
              found = true;
            }
          }
          // A window entirely in the padding (possible with ceil_mode) has no value: -inf,
          // as the reference's starting point.
          out[c] = found ? best : -std::numeric_limits<float>::infinity();
        }
      }
    }
  });
}

// Plain or channels-last ("nhwc" marks; any other mark is not this kernel's).
bool max_pool_2d_supports(const ir::Node& node, std::span<const ir::DataType> types) {
  if (types.empty() || types[0] != ir::DataType::float32) return false;
  const std::string in = node.attr_string("mhub_layout_in", ""), out = node.attr_string("mhub_layout_out", "");
  if (in != out || (!in.empty() && in != "nhwc")) return false;
  if (node.outputs.size() > 1 && !node.outputs[1].empty()) return false;
  if (node.attr_int("storage_order", 0) != 0) return false;
  return node.attr_ints("kernel_shape").size() == 2;
}

void global_average_pool(OpContext& ctx) {
  const ir::Tensor& x = ctx.input(0);
  if (x.dims.size() < 2) fail(ctx, "X must have rank >= 2");
  const int64_t n = x.dims[0], c = x.dims[1], hw = ops::dims_product(x.dims, 2, x.dims.size());
  std::vector<int64_t> yd(x.dims.size(), 1);
  yd[0] = n;
  yd[1] = c;
  ir::Tensor& y = ctx.allocate_output(0, ir::DataType::float32, yd);
  const bool channels_last = x.dims.size() == 4 && ctx.node().attr_string("mhub_layout_in", "") == "nhwc";
  channel_means(x.data<float>(), n, c, hw, channels_last, mutable_floats(y), ctx.threads());
}

bool global_average_pool_supports(const ir::Node&, std::span<const ir::DataType> types) {
  return !types.empty() && types[0] == ir::DataType::float32;
}

}  // namespace

void add_pool_fast_kernels(std::vector<KernelDef>& table) {
  table.push_back({ir::OpKind::MaxPool, KernelKind::fast, max_pool_2d, max_pool_2d_supports, 0, /*channels_last=*/true});
  table.push_back({ir::OpKind::GlobalAveragePool, KernelKind::fast, global_average_pool, global_average_pool_supports, 0,
                   /*channels_last=*/true});
}

}  // namespace mhub::engine::cpu
