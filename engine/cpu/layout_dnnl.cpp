// Fast float32 Transpose as a oneDNN reorder (threaded, vectorised): the input is described in
// the output's dims with the permuted strides and copied into plain row-major memory. Reorder
// primitives are cached per (input dims, perm, threads). Empty, 0-D and over-12-D inputs run
// the reference kernel (layout.cpp).
#include <map>
#include <memory>
#include <mutex>
#include <tuple>

#include <oneapi/dnnl/dnnl.hpp>

#include "engine/cpu/cpu_kernels.h"
#include "engine/cpu/dnnl_common.h"
#include "engine/cpu/gemm.h"
#include "engine/cpu/layout.h"
#include "engine/cpu/nn_util.h"
#include "engine/cpu/tensor_util.h"

namespace mhub::engine::cpu {

namespace {

using dnnl::memory;

// (input dims, perm, threads: oneDNN sizes a primitive for the team it was made for).
using TransposeKey = std::tuple<std::vector<int64_t>, std::vector<int64_t>, int>;

struct TransposePlan {
  dnnl::reorder reorder;
  memory::desc scratch_md;
};

std::mutex cache_mutex;
std::map<TransposeKey, std::shared_ptr<TransposePlan>> cache;

std::shared_ptr<TransposePlan> plan_for(const std::vector<int64_t>& in_dims, const std::vector<int64_t>& perm, int threads,
                                        const memory::desc& src, const memory::desc& dst) {
  TransposeKey key{in_dims, perm, threads};
  std::lock_guard<std::mutex> lock(cache_mutex);
  auto it = cache.find(key);
  if (it != cache.end()) return it->second;
  // Plans are shared by sessions on other threads: each run brings its own scratchpad.
  dnnl::primitive_attr attr;
  attr.set_scratchpad_mode(dnnl::scratchpad_mode::user);
  dnnl::reorder::primitive_desc pd(dnnl_cpu_engine(), src, dnnl_cpu_engine(), dst, attr);
  auto plan = std::make_shared<TransposePlan>(TransposePlan{dnnl::reorder(pd), pd.scratchpad_desc()});
  if (cache.size() > 4096) cache.clear();  // bounded: shapes are re-planned after a flush
  cache[key] = plan;
  return plan;
}

void transpose_fast(OpContext& ctx) {
  const ir::Tensor& x = ctx.input(0);
  const size_t rank = x.dims.size();
  if (rank == 0 || rank > DNNL_MAX_NDIMS || x.numel() == 0) return transpose_reference(ctx);
  std::vector<int64_t> perm = ctx.node().attr_ints("perm");
  if (perm.empty())
    for (size_t i = 0; i < rank; ++i) perm.push_back(static_cast<int64_t>(rank - 1 - i));
  if (perm.size() != rank) return transpose_reference(ctx);  // its error
  const std::vector<int64_t> in_strides = strides_of(x.dims);
  memory::dims dims(rank), strides(rank);
  for (size_t i = 0; i < rank; ++i) {
    dims[i] = x.dims[perm[i]];
    strides[i] = in_strides[perm[i]];
  }
  const std::vector<int64_t> out_dims(dims.begin(), dims.end()), out_strides = strides_of(out_dims);
  const memory::desc src(dims, memory::data_type::f32, strides);
  const memory::desc dst(dims, memory::data_type::f32, memory::dims(out_strides.begin(), out_strides.end()));
  const int threads = static_cast<int>(ctx.threads().size());
  set_dnnl_threads(threads);
  std::shared_ptr<TransposePlan> plan = plan_for(x.dims, perm, threads, src, dst);
  ir::Tensor& y = ctx.allocate_output(0, ir::DataType::float32, out_dims);
  dnnl::stream stream(dnnl_cpu_engine());
  memory from(src, dnnl_cpu_engine(), const_cast<float*>(x.data<float>()));
  memory to(dst, dnnl_cpu_engine(), mutable_floats(y));
  plan->reorder.execute(stream, {{DNNL_ARG_FROM, from}, {DNNL_ARG_TO, to}, {DNNL_ARG_SCRATCHPAD, memory(plan->scratch_md, dnnl_cpu_engine())}});
  stream.wait();
}

// float32 with a perm that names every axis once, from 0 (or none: reversed axes).
bool transpose_fast_supports(const ir::Node& node, std::span<const ir::DataType> types) {
  if (types.empty() || types[0] != ir::DataType::float32) return false;
  const std::vector<int64_t> perm = node.attr_ints("perm");
  std::vector<bool> seen(perm.size(), false);
  for (int64_t p : perm) {
    if (p < 0 || p >= static_cast<int64_t>(perm.size()) || seen[p]) return false;
    seen[p] = true;
  }
  return true;
}

}  // namespace

void add_layout_dnnl_kernels(std::vector<KernelDef>& table) {
  table.push_back({ir::OpKind::Transpose, KernelKind::fast, transpose_fast, transpose_fast_supports});
}

}  // namespace mhub::engine::cpu
