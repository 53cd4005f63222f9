// Fast float32 Softmax and LogSoftmax on oneDNN's softmax_forward / logsoftmax_forward
// (vectorised, threaded over rows) where the op runs over the innermost elements: opset >= 13
// along the last axis (or any axis whose later dims are all 1), and opset < 13's rows of the 2-D
// flattening. Other axes, and empty or 0-D inputs, run the reference kernel (softmax.cpp).
// Primitives are cached per (op, rows, row length); each run brings its own scratchpad. Rows
// with NaN or +Inf come out all NaN, as the reference's do.
#include <algorithm>
#include <limits>
#include <map>
#include <memory>
#include <mutex>
#include <tuple>
#include <unordered_map>

#include <oneapi/dnnl/dnnl.hpp>

#include "engine/cpu/cpu_kernels.h"
#include "engine/cpu/dnnl_common.h"
#include "engine/cpu/gemm.h"
#include "engine/cpu/nn_util.h"
#include "engine/ops/shape.h"

namespace mhub::engine::cpu {

namespace {

using dnnl::memory;

// Elements from which the op runs on the session's threads rather than one.
constexpr int64_t kThreadedElements = int64_t{1} << 16;

struct SoftmaxPlan {
  dnnl::primitive softmax;
  memory::desc data_md, scratch_md;
};

// (log_softmax, rows, row length, threads: a scratchpad is sized for the team it was made for).
using SoftmaxKey = std::tuple<bool, int64_t, int64_t, int>;

std::mutex cache_mutex;
std::map<SoftmaxKey, std::shared_ptr<SoftmaxPlan>> cache;

std::shared_ptr<SoftmaxPlan> plan_for(bool log_softmax, int64_t rows, int64_t len, int threads) {
  const SoftmaxKey key{log_softmax, rows, len, threads};
  std::lock_guard<std::mutex> lock(cache_mutex);
  auto it = cache.find(key);
  if (it != cache.end()) return it->second;
  auto plan = std::make_shared<SoftmaxPlan>();
  plan->data_md = memory::desc({rows, len}, memory::data_type::f32, memory::format_tag::ab);
  dnnl::primitive_attr attr;
  attr.set_scratchpad_mode(dnnl::scratchpad_mode::user);
  const auto kind = dnnl::prop_kind::forward_inference;
  if (log_softmax) {
    dnnl::logsoftmax_forward::primitive_desc pd(dnnl::logsoftmax_forward::desc(kind, plan->data_md, 1), attr, dnnl_cpu_engine());
    plan->softmax = dnnl::logsoftmax_forward(pd);
    plan->scratch_md = pd.scratchpad_desc();
  } else {
    dnnl::softmax_forward::primitive_desc pd(dnnl::softmax_forward::desc(kind, plan->data_md, 1), attr, dnnl_cpu_engine());
    plan->softmax = dnnl::softmax_forward(pd);
    plan->scratch_md = pd.scratchpad_desc();
  }
  if (cache.size() > 4096) cache.clear();  // bounded: shapes are re-planned after a flush
  cache[key] = plan;
  return plan;
}

// A row holding NaN or +Inf is all NaN in the reference (its sum, or max - max, is NaN); oneDNN
// leaves NaN only where the input had it and 0 (Softmax) or -Inf (LogSoftmax) elsewhere. Such a
// row always has a NaN in oneDNN's output too: fill the row with it.
void nan_rows_like_reference(OpContext& ctx, float* y, int64_t rows, int64_t len) {
  ctx.threads().parallel_for(static_cast<size_t>(rows), std::max<size_t>(1, 16384 / static_cast<size_t>(len)), [&](size_t lo, size_t hi) {
    for (size_t r = lo; r < hi; ++r) {
      float* row = y + r * len;
      bool nan = false;
      for (int64_t i = 0; i < len; ++i) nan |= row[i] != row[i];
      if (nan) std::fill(row, row + len, std::numeric_limits<float>::quiet_NaN());
    }
  });
}

void softmax_fast(OpContext& ctx) {
  const ir::Tensor& x = ctx.input(0);
  const int64_t rank = static_cast<int64_t>(x.dims.size());
  if (rank == 0 || x.numel() == 0) return softmax_reference(ctx);
  const bool new_semantics = ctx.opset() >= 13;
  const int64_t axis = ops::normalize_axis(ctx.node(), ctx.node().attr_int("axis", new_semantics ? -1 : 1), rank);
  const int64_t len = new_semantics ? x.dims[axis] : ops::dims_product(x.dims, axis, rank);
  if (new_semantics && ops::dims_product(x.dims, axis + 1, rank) != 1) return softmax_reference(ctx);
  const int64_t rows = ops::dims_product(x.dims, 0, axis);
  // A small tensor costs less on one thread than waking oneDNN's OpenMP team (passive waiting).
  const int threads = rows * len >= kThreadedElements ? static_cast<int>(ctx.threads().size()) : 1;
  set_dnnl_threads(threads);
  std::shared_ptr<SoftmaxPlan> plan = plan_for(ctx.node().op == ir::OpKind::LogSoftmax, rows, len, threads);
  ir::Tensor& y = ctx.allocate_output(0, ir::DataType::float32, x.dims);
  dnnl::engine& engine = dnnl_cpu_engine();
  dnnl::stream stream(engine);
  memory src(plan->data_md, engine, const_cast<float*>(x.data<float>()));
  memory dst(plan->data_md, engine, mutable_floats(y));
  plan->softmax.execute(stream, {{DNNL_ARG_SRC, src}, {DNNL_ARG_DST, dst}, {DNNL_ARG_SCRATCHPAD, memory(plan->scratch_md, engine)}});
  stream.wait();
  nan_rows_like_reference(ctx, mutable_floats(y), rows, len);
}

bool float32_input(const ir::Node&, std::span<const ir::DataType> types) {
  return !types.empty() && types[0] == ir::DataType::float32;
}

}  // namespace

void add_softmax_dnnl_kernels(std::vector<KernelDef>& table) {
  table.push_back({ir::OpKind::Softmax, KernelKind::fast, softmax_fast, float32_input});
  table.push_back({ir::OpKind::LogSoftmax, KernelKind::fast, softmax_fast, float32_input});
}

}  // namespace mhub::engine::cpu
