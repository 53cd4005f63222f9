// The kernels of the internal op FusedAttention (internal_ops.def), the node engine/core/passes/attention_fusion.h
// makes of MatMul -> scale -> (+ mask) -> Softmax(-1) -> MatMul:
//   inputs X [..., S, D], Y [..., D, T], V [..., T, Dv], mask (optional, broadcasts to
//   [..., S, T]); batch dims broadcast numpy-style across all four; output [..., S, Dv];
//   attributes mhub_scale (c) and mhub_scale_div (1: scores / c, else scores * c).
// Each batch entry's S x T scores live in one per-thread buffer (never the whole tensor); the
// fast kernel runs batch entries in parallel on the pool, each with single-threaded oneDNN
// sgemm and a vectorised exp; the reference runs them in order with the reference GEMM and the
// Softmax kernel's own arithmetic. Operands of rank < 2 and masks that would widen S or T are
// unsupported errors (the unfused graph handles them: fusion can be turned off).
#include <algorithm>
#include <cmath>
#include <limits>

#include "common/error.h"
#include "engine/cpu/fast_math.h"
#include "engine/cpu/gemm.h"
#include "engine/cpu/cpu_kernels.h"
#include "engine/cpu/nn_util.h"
#include "engine/ops/shape.h"

namespace mhub::engine::cpu {

namespace {

// An input as float32 values: the tensor's own bytes, or a widened copy.
struct Floats {
  std::vector<float> copy;
  const float* data = nullptr;
  std::vector<int64_t> dims;
};

Floats floats_of(OpContext& ctx, size_t index) {
  Floats f;
  const ir::Tensor& t = ctx.input(index);
  f.dims = t.dims;
  if (t.dtype == ir::DataType::float32) {
    f.data = t.data<float>();
  } else {
    f.copy = input_floats(ctx, index);
    f.data = f.copy.data();
  }
  return f;
}

__attribute__((target_clones("avx2", "default"))) void exp_shifted(float* row, int64_t n, float shift) {
  for (int64_t j = 0; j < n; ++j) row[j] = fast_exp(row[j] - shift);
}

// Largest element and sum of a row in 8 independent lanes, so the loops vectorise. NaN elements
// are passed over by the maximum as by the sequential loop; exp and the sum make the row NaN.
__attribute__((target_clones("avx2", "default"))) float row_max(const float* row, int64_t n) {
  float lane[8];
  for (float& l : lane) l = -std::numeric_limits<float>::infinity();
  int64_t j = 0;
  for (; j + 8 <= n; j += 8)
    for (int k = 0; k < 8; ++k) lane[k] = row[j + k] > lane[k] ? row[j + k] : lane[k];
  float mx = -std::numeric_limits<float>::infinity();
  for (; j < n; ++j) mx = row[j] > mx ? row[j] : mx;
  for (float l : lane) mx = l > mx ? l : mx;
  return mx;
}
__attribute__((target_clones("avx2", "default"))) float row_sum(const float* row, int64_t n) {
  float lane[8] = {0, 0, 0, 0, 0, 0, 0, 0};
  int64_t j = 0;
  for (; j + 8 <= n; j += 8)
    for (int k = 0; k < 8; ++k) lane[k] += row[j + k];
  float sum = 0;
  for (; j < n; ++j) sum += row[j];
  for (float l : lane) sum += l;
  return sum;
}

// Softmax of one row in place. fast: vectorised exp, float sum; else softmax.cpp's arithmetic.
void softmax_row(float* row, int64_t n, bool fast) {
  if (fast) {
    exp_shifted(row, n, row_max(row, n));
    float inv = 1.0f / row_sum(row, n);
    for (int64_t j = 0; j < n; ++j) row[j] *= inv;
    return;
  }
  float mx = -std::numeric_limits<float>::infinity();
  for (int64_t j = 0; j < n; ++j)
    if (row[j] > mx) mx = row[j];
  double sum = 0;
  for (int64_t j = 0; j < n; ++j) sum += std::exp(row[j] - mx);
  float inv = static_cast<float>(1.0 / sum);
  for (int64_t j = 0; j < n; ++j) row[j] = std::exp(row[j] - mx) * inv;
}

void fused_attention(OpContext& ctx, bool fast) {
  const ir::Node& node = ctx.node();
  Floats x = floats_of(ctx, 0), y = floats_of(ctx, 1), v = floats_of(ctx, 2);
  bool has_mask = ctx.input_count() > 3 && ctx.has_input(3);
  Floats mask;
  if (has_mask) mask = floats_of(ctx, 3);
  if (x.dims.size() < 2 || y.dims.size() < 2 || v.dims.size() < 2)
    throw_error(ErrorCategory::unsupported,
                ctx.describe() + ": fused attention needs operands of rank >= 2 (run without load-time fusion)");
  while (has_mask && mask.dims.size() < 2) mask.dims.insert(mask.dims.begin(), 1);
  int64_t s = x.dims.end()[-2], d = x.dims.end()[-1], t = y.dims.end()[-1], dv = v.dims.end()[-1];
  if (y.dims.end()[-2] != d || v.dims.end()[-2] != t) fail(ctx, "inner dimensions of the attention products differ");
  int64_t sm = has_mask ? mask.dims.end()[-2] : 1, tm = has_mask ? mask.dims.end()[-1] : 1;
  if ((sm != 1 && sm != s) || (tm != 1 && tm != t))
    throw_error(ErrorCategory::unsupported,
                ctx.describe() + ": the attention mask would broadcast the scores (run without load-time fusion)");
  // Broadcast batch dims of all operands; strides in elements per operand (0 where broadcast).
  std::vector<Floats*> ops = {&x, &y, &v};
  if (has_mask) ops.push_back(&mask);
  size_t rank = 0;
  for (Floats* f : ops) rank = std::max(rank, f->dims.size() - 2);
  std::vector<int64_t> batch(rank, 1);
  for (Floats* f : ops) {
    size_t r = f->dims.size() - 2;
    for (size_t i = 0; i < r; ++i) {
      int64_t dim = f->dims[i], &out = batch[rank - r + i];
      if (dim == out || dim == 1) continue;
      if (out != 1) fail(ctx, "batch dimensions of the attention operands do not broadcast");
      out = dim;
    }
  }
  std::vector<std::vector<int64_t>> strides(ops.size(), std::vector<int64_t>(rank, 0));
  for (size_t o = 0; o < ops.size(); ++o) {
    const std::vector<int64_t>& dims = ops[o]->dims;
    size_t r = dims.size() - 2;
    int64_t stride = dims.end()[-2] * dims.end()[-1];
    for (size_t i = r; i-- > 0;) {
      if (dims[i] != 1) strides[o][rank - r + i] = stride;
      stride *= dims[i];
    }
  }
  int64_t batches = ops::dims_product(batch, 0, rank);
  std::vector<int64_t> out_dims = batch;
  out_dims.push_back(s);
  out_dims.push_back(dv);
  ir::DataType dtype = ctx.input(0).dtype;
  std::vector<float> widened;
  float* out = nullptr;
  if (dtype == ir::DataType::float32) {
    out = mutable_floats(ctx.allocate_output(0, dtype, out_dims));
  } else {
    widened.resize(static_cast<size_t>(batches * s * dv));
    out = widened.data();
  }
  float c = node.attr_float("mhub_scale", 1.0f);
  bool divide = node.attr_int("mhub_scale_div", 0) != 0;
  auto run_batches = [&](size_t lo, size_t hi) {
    // One score buffer per thread, kept between runs up to 4 MiB: steady-state runs of usual
    // sequence lengths allocate none, and a long one does not pin its buffer afterwards.
    constexpr size_t kKeptScores = size_t{1} << 20;
    thread_local std::vector<float> kept;
    std::vector<float> local;
    const size_t score_count = static_cast<size_t>(s * t);
    std::vector<float>& scores = score_count <= kKeptScores ? kept : local;
    scores.resize(score_count);
    std::vector<int64_t> offset(ops.size());
    for (size_t b = lo; b < hi; ++b) {
      int64_t rest = static_cast<int64_t>(b);
      std::fill(offset.begin(), offset.end(), 0);
      for (size_t i = rank; i-- > 0;) {
        int64_t idx = rest % batch[i];
        rest /= batch[i];
        for (size_t o = 0; o < ops.size(); ++o) offset[o] += idx * strides[o][i];
      }
      sgemm(fast, 1, false, false, s, t, d, 1.0f, x.data + offset[0], d, y.data + offset[1], t, 0.0f,
            scores.data(), t);
      for (int64_t i = 0; i < s; ++i) {
        float* row = scores.data() + i * t;
        if (divide) for (int64_t j = 0; j < t; ++j) row[j] /= c;
        else if (c != 1.0f) for (int64_t j = 0; j < t; ++j) row[j] *= c;
        if (has_mask) {
          const float* m = mask.data + offset[3] + (sm == 1 ? 0 : i * tm);
          if (tm == 1) for (int64_t j = 0; j < t; ++j) row[j] += m[0];
          else for (int64_t j = 0; j < t; ++j) row[j] += m[j];
        }
        softmax_row(row, t, fast);
      }
      sgemm(fast, 1, false, false, s, dv, t, 1.0f, scores.data(), t, v.data + offset[2], dv, 0.0f,
            out + static_cast<int64_t>(b) * s * dv, dv);
    }
  };
  if (fast) ctx.threads().parallel_for(static_cast<size_t>(batches), 1, run_batches);
  else run_batches(0, static_cast<size_t>(batches));
  if (dtype != ir::DataType::float32) output_floats(ctx, 0, dtype, out_dims, widened.data());
}

void fused_attention_reference(OpContext& ctx) { fused_attention(ctx, false); }
void fused_attention_fast(OpContext& ctx) { fused_attention(ctx, true); }

bool fused_fast_supports(const ir::Node&, std::span<const ir::DataType> t) {
  if (t.size() < 3) return false;
  for (size_t i = 0; i < t.size(); ++i)
    if (t[i] != ir::DataType::float32 && !(i == 3 && t[i] == ir::DataType::undefined)) return false;
  return true;
}

}  // namespace

void add_attention_fused_kernels(std::vector<KernelDef>& table) {
  table.push_back({ir::OpKind::FusedAttention, KernelKind::reference, fused_attention_reference, nn_float_input});
  table.push_back({ir::OpKind::FusedAttention, KernelKind::fast, fused_attention_fast, fused_fast_supports});
}

}  // namespace mhub::engine::cpu
