#include "engine/ops/matmul.h"

#include <algorithm>
#include <string>

#include "engine/ops/shape.h"

namespace mhub::engine::ops {

MatMulPlan plan_matmul(const ir::Node& node, const std::vector<int64_t>& ad, const std::vector<int64_t>& bd) {
  if (ad.empty() || bd.empty()) fail(node, "MatMul operands must have at least one dimension");
  MatMulPlan p;
  std::vector<int64_t> a = ad, b = bd;
  bool a_vec = a.size() == 1, b_vec = b.size() == 1;
  if (a_vec) a.insert(a.begin(), 1);
  if (b_vec) b.push_back(1);
  p.m = a[a.size() - 2];
  p.k = a[a.size() - 1];
  p.n = b[b.size() - 1];
  if (b[b.size() - 2] != p.k)
    fail(node, "inner dimensions differ (" + std::to_string(p.k) + " vs " + std::to_string(b[b.size() - 2]) + ")");
  size_t ab = a.size() - 2, bb = b.size() - 2, rank = std::max(ab, bb);
  std::vector<int64_t> batch(rank), as(rank, 0), bs(rank, 0);
  int64_t astride = p.m * p.k, bstride = p.k * p.n;
  for (size_t i = rank; i-- > 0;) {
    int64_t da = i + ab >= rank ? a[i + ab - rank] : 1;
    int64_t db = i + bb >= rank ? b[i + bb - rank] : 1;
    if (da != db && da != 1 && db != 1) fail(node, "batch dimensions do not broadcast");
    batch[i] = std::max(da, db);
    if (da == 0 || db == 0) batch[i] = 0;
    as[i] = da == 1 ? 0 : astride;
    bs[i] = db == 1 ? 0 : bstride;
    astride *= da;
    bstride *= db;
  }
  int64_t total = dims_product(batch, 0, rank);
  std::vector<int64_t> idx(rank, 0);
  for (int64_t t = 0; t < total; ++t) {
    int64_t ao = 0, bo = 0;
    for (size_t i = 0; i < rank; ++i) { ao += idx[i] * as[i]; bo += idx[i] * bs[i]; }
    p.a_batch_offsets.push_back(ao);
    p.b_batch_offsets.push_back(bo);
    for (size_t d = rank; d-- > 0;) { if (++idx[d] < batch[d]) break; idx[d] = 0; }
  }
  p.out_dims = batch;
  if (!a_vec) p.out_dims.push_back(p.m);
  if (!b_vec) p.out_dims.push_back(p.n);
  return p;
}

}  // namespace mhub::engine::ops
