// The kernels of the internal op FusedAttention (internal_ops.def), the node engine/core/passes/attention_fusion.h
// makes of MatMul -> scale -> (+ mask) -> Softmax(-1) -> MatMul:
//   inputs X [..., S, D], Y [..., D, T], V [..., T, Dv], mask (optional, broadcasts to
//   [..., S, T]); batch dims broadcast numpy-style across all four; output [..., S, Dv];
//   attributes mhub_scale (c) and mhub_scale_div (1: scores / c, else scores * c).
// Transposes the pass folded in (attributes mhub_perm_x / _y / _v: the operand is
// Transpose(input, perm); mhub_perm_out: the output is Transpose(result, perm)) cost no copy:
// each operand is a strided view of its input, each batch entry's matrices are read through
// GEMM leading dimensions (or as transposed matrices) and the result rows are written where the
// transpose puts them. A perm must keep the innermost input axis among the matrix's two axes
// (the output's innermost axis in place); other perms are unsupported errors. mhub_take_x / _y /
// _v (a Gather of one index on axis 0 the pass folded) read that entry of the permuted view.
// Each work item (a batch entry, or a block of its S rows when there are few batch entries for
// the threads) keeps its scores in one per-thread buffer (never the whole tensor); the fast
// kernel runs items in parallel on the pool, each with single-threaded oneDNN sgemm and a
// vectorised exp; the reference runs them in order with the reference GEMM and the Softmax
// kernel's own arithmetic. Operands of rank < 2 and masks that would widen S or T are
// unsupported errors (the unfused graph handles them: fusion can be turned off).
#include <algorithm>
#include <string>
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
// dims / strides (in elements) are the operand's view: the input's, permuted by `perm`.
struct Floats {
  std::vector<float> copy;
  const float* data = nullptr;
  std::vector<int64_t> dims, strides;
};

// `perm` must be empty or a permutation of the axes of `dims`; returns the strides of the
// contiguous row-major tensor `dims` permuted by it (dims permuted in place).
std::vector<int64_t> permuted_strides(OpContext& ctx, std::vector<int64_t>& dims, const std::vector<int64_t>& perm) {
  std::vector<int64_t> strides(dims.size(), 1);
  for (size_t i = dims.size(); i-- > 1;) strides[i - 1] = strides[i] * dims[i];
  if (perm.empty()) return strides;
  std::vector<bool> seen(dims.size(), false);
  if (perm.size() != dims.size()) fail(ctx, "a folded transpose's perm does not match its operand's rank");
  for (int64_t axis : perm) {
    if (axis < 0 || axis >= static_cast<int64_t>(dims.size()) || seen[axis]) fail(ctx, "a folded transpose's perm is not a permutation");
    seen[axis] = true;
  }
  std::vector<int64_t> pd(dims.size()), ps(dims.size());
  for (size_t i = 0; i < perm.size(); ++i) {
    pd[i] = dims[perm[i]];
    ps[i] = strides[perm[i]];
  }
  dims = std::move(pd);
  return ps;
}

// Operand `index` as the kernel reads it: the input, permuted by mhub_perm_<which> and, with
// mhub_take_<which>, that view's entry on its first axis (the axis dropped).
Floats floats_of(OpContext& ctx, size_t index, const char* which = nullptr) {
  Floats f;
  const ir::Tensor& t = ctx.input(index);
  const std::string suffix = which ? which : "";
  f.dims = t.dims;
  f.strides = permuted_strides(ctx, f.dims, which ? ctx.node().attr_ints("mhub_perm_" + suffix) : std::vector<int64_t>{});
  int64_t offset = 0;
  if (const ir::Attribute* take = which ? ctx.node().attribute("mhub_take_" + suffix) : nullptr) {
    if (f.dims.size() < 3 || take->i < 0 || take->i >= f.dims[0]) fail(ctx, "a folded Gather's index is out of range");
    offset = take->i * f.strides[0];
    f.dims.erase(f.dims.begin());
    f.strides.erase(f.strides.begin());
  }
  if (t.dtype == ir::DataType::float32) {
    f.data = t.data<float>() + offset;
  } else {
    f.copy = input_floats(ctx, index);
    f.data = f.copy.data() + offset;
  }
  return f;
}

__attribute__((target_clones("arch=x86-64-v4", "avx2", "default"))) void exp_shifted(float* row, int64_t n, float shift) {
  for (int64_t j = 0; j < n; ++j) row[j] = fast_exp(row[j] - shift);
}

// Largest element and sum of a row in 8 independent lanes, so the loops vectorise. NaN elements
// are passed over by the maximum as by the sequential loop; exp and the sum make the row NaN.
__attribute__((target_clones("arch=x86-64-v4", "avx2", "default"))) float row_max(const float* row, int64_t n) {
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
__attribute__((target_clones("arch=x86-64-v4", "avx2", "default"))) float row_sum(const float* row, int64_t n) {
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

// How sgemm reads a rows x cols matrix whose elements lie `row_stride` / `col_stride` apart.
struct MatrixAccess {
  bool transposed = false;
  int64_t ld = 1;
};

MatrixAccess matrix_access(OpContext& ctx, int64_t rows, int64_t cols, int64_t row_stride, int64_t col_stride) {
  if (col_stride == 1 || cols == 1) return {false, rows == 1 ? std::max<int64_t>(cols, 1) : std::max(row_stride, cols)};
  if (row_stride == 1 || rows == 1) return {true, cols == 1 ? std::max<int64_t>(rows, 1) : std::max(col_stride, rows)};
  throw_error(ErrorCategory::unsupported,
              ctx.describe() + ": a folded transpose moves the innermost axis out of the matrix (run without load-time fusion)");
}

// Rows per work item: whole batch entries when they keep every thread busy, else blocks of at
// least 16 rows so that about four items per thread balance the threads.
int64_t rows_per_item(int64_t batches, int64_t s, size_t threads) {
  const int64_t wanted = 4 * static_cast<int64_t>(std::max<size_t>(threads, 1));
  if (batches >= wanted || s <= 16) return std::max<int64_t>(s, 1);
  const int64_t blocks = (wanted + batches - 1) / batches;
  return std::max<int64_t>(16, (s + blocks - 1) / blocks);
}

void fused_attention(OpContext& ctx, bool fast) {
  const ir::Node& node = ctx.node();
  Floats x = floats_of(ctx, 0, "x"), y = floats_of(ctx, 1, "y"), v = floats_of(ctx, 2, "v");
  bool has_mask = ctx.input_count() > 3 && ctx.has_input(3);
  Floats mask;
  if (has_mask) mask = floats_of(ctx, 3);
  if (x.dims.size() < 2 || y.dims.size() < 2 || v.dims.size() < 2)
    throw_error(ErrorCategory::unsupported,
                ctx.describe() + ": fused attention needs operands of rank >= 2 (run without load-time fusion)");
  while (has_mask && mask.dims.size() < 2) {
    mask.dims.insert(mask.dims.begin(), 1);
    mask.strides.insert(mask.strides.begin(), 1);
  }
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
  std::vector<std::vector<int64_t>> strides(ops.size() + 1, std::vector<int64_t>(rank, 0));  // + the output
  for (size_t o = 0; o < ops.size(); ++o) {
    const std::vector<int64_t>& dims = ops[o]->dims;
    size_t r = dims.size() - 2;
    for (size_t i = 0; i < r; ++i)
      if (dims[i] != 1) strides[o][rank - r + i] = ops[o]->strides[i];
  }
  const MatrixAccess xa = matrix_access(ctx, s, d, x.strides.end()[-2], x.strides.end()[-1]);
  const MatrixAccess ya = matrix_access(ctx, d, t, y.strides.end()[-2], y.strides.end()[-1]);
  const MatrixAccess va = matrix_access(ctx, t, dv, v.strides.end()[-2], v.strides.end()[-1]);
  const int64_t mask_row = has_mask && sm != 1 ? mask.strides.end()[-2] : 0;
  const int64_t mask_col = has_mask && tm != 1 ? mask.strides.end()[-1] : 0;
  int64_t batches = ops::dims_product(batch, 0, rank);
  // The result [batch..., S, Dv] and the output: the result transposed by mhub_perm_out.
  std::vector<int64_t> result_dims = batch;
  result_dims.push_back(s);
  result_dims.push_back(dv);
  std::vector<int64_t> out_dims = result_dims;
  std::vector<int64_t> result_strides(result_dims.size());
  {
    const std::vector<int64_t> perm = node.attr_ints("mhub_perm_out");
    std::vector<int64_t> plain = result_dims;
    permuted_strides(ctx, plain, perm);  // validates perm
    if (!perm.empty()) out_dims = plain;
    std::vector<int64_t> out_strides(out_dims.size(), 1);
    for (size_t i = out_dims.size(); i-- > 1;) out_strides[i - 1] = out_strides[i] * out_dims[i];
    for (size_t i = 0; i < result_dims.size(); ++i) result_strides[perm.empty() ? i : perm[i]] = out_strides[i];
  }
  for (size_t i = 0; i < rank; ++i) strides[ops.size()][i] = batch[i] == 1 ? 0 : result_strides[i];
  if (result_strides[rank + 1] != 1 && dv > 1)
    throw_error(ErrorCategory::unsupported,
                ctx.describe() + ": a folded output transpose moves the innermost axis (run without load-time fusion)");
  const int64_t out_ld = s == 1 ? std::max<int64_t>(dv, 1) : result_strides[rank];
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
  const int64_t block = fast ? rows_per_item(batches, s, ctx.threads().size()) : std::max<int64_t>(s, 1);
  const int64_t blocks = (s + block - 1) / block;
  auto run_items = [&](size_t lo, size_t hi) {
    // One score buffer per thread, kept between runs up to 4 MiB: steady-state runs of usual
    // sequence lengths allocate none, and a long one does not pin its buffer afterwards.
    constexpr size_t kKeptScores = size_t{1} << 20;
    thread_local std::vector<float> kept;
    std::vector<float> local;
    const size_t score_count = static_cast<size_t>(block * t);
    std::vector<float>& scores = score_count <= kKeptScores ? kept : local;
    scores.resize(score_count);
    std::vector<int64_t> offset(ops.size() + 1);
    for (size_t item = lo; item < hi; ++item) {
      const int64_t b = static_cast<int64_t>(item) / blocks, row0 = static_cast<int64_t>(item) % blocks * block;
      const int64_t rows = std::min(block, s - row0);
      int64_t rest = b;
      std::fill(offset.begin(), offset.end(), 0);
      for (size_t i = rank; i-- > 0;) {
        int64_t idx = rest % batch[i];
        rest /= batch[i];
        for (size_t o = 0; o < offset.size(); ++o) offset[o] += idx * strides[o][i];
      }
      const float* xb = x.data + offset[0] + row0 * x.strides.end()[-2];
      sgemm(fast, 1, xa.transposed, ya.transposed, rows, t, d, 1.0f, xb, xa.ld, y.data + offset[1], ya.ld, 0.0f,
            scores.data(), t);
      for (int64_t i = 0; i < rows; ++i) {
        float* row = scores.data() + i * t;
        if (divide) for (int64_t j = 0; j < t; ++j) row[j] /= c;
        else if (c != 1.0f) for (int64_t j = 0; j < t; ++j) row[j] *= c;
        if (has_mask) {
          const float* m = mask.data + offset[3] + (row0 + i) * mask_row;
          if (mask_col == 1) for (int64_t j = 0; j < t; ++j) row[j] += m[j];
          else for (int64_t j = 0; j < t; ++j) row[j] += m[j * mask_col];
        }
        softmax_row(row, t, fast);
      }
      sgemm(fast, 1, false, va.transposed, rows, dv, t, 1.0f, scores.data(), t, v.data + offset[2], va.ld, 0.0f,
            out + offset[ops.size()] + row0 * result_strides[rank], out_ld);
    }
  };
  const size_t items = static_cast<size_t>(batches * blocks);
  if (fast) ctx.threads().parallel_for(items, 1, run_items);
  else run_items(0, items);
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
