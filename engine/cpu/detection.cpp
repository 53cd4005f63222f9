// NonMaxSuppression: greedy per-(batch, class) selection by descending score, suppressing boxes
// whose IoU with a kept box exceeds iou_threshold. Output [K, 3] int64 of (batch, class, box).
#include <algorithm>
#include <cmath>
#include <numeric>

#include "common/error.h"
#include "engine/cpu/cpu_kernels.h"
#include "engine/cpu/scalar_access.h"

namespace mhub::engine::cpu {

namespace {

struct Box {
  double y1, x1, y2, x2;
};

double iou(const Box& a, const Box& b) {
  double area_a = (a.y2 - a.y1) * (a.x2 - a.x1), area_b = (b.y2 - b.y1) * (b.x2 - b.x1);
  if (area_a <= 0 || area_b <= 0) return 0.0;
  double h = std::min(a.y2, b.y2) - std::max(a.y1, b.y1), w = std::min(a.x2, b.x2) - std::max(a.x1, b.x1);
  if (h <= 0 || w <= 0) return 0.0;
  double inter = h * w;
  return inter / (area_a + area_b - inter);
}

void non_max_suppression(OpContext& ctx) {
  const ir::Tensor& boxes = ctx.input(0);
  const ir::Tensor& scores = ctx.input(1);
  if (boxes.dims.size() != 3 || boxes.dims[2] != 4 || scores.dims.size() != 3 ||
      scores.dims[0] != boxes.dims[0] || scores.dims[2] != boxes.dims[1])
    throw_error(ErrorCategory::format, ctx.describe() + ": expected boxes [B, N, 4] and scores [B, C, N]");
  int64_t max_out = ctx.has_input(2) && ctx.input(2).numel() ? load_int64(ctx.input(2), 0) : 0;
  double iou_threshold = ctx.has_input(3) && ctx.input(3).numel() ? load_as_double(ctx.input(3), 0) : 0.0;
  bool has_score_threshold = ctx.has_input(4) && ctx.input(4).numel();
  double score_threshold = has_score_threshold ? load_as_double(ctx.input(4), 0) : 0.0;
  bool center = ctx.node().attr_int("center_point_box", 0) != 0;
  int64_t batches = boxes.dims[0], count = boxes.dims[1], classes = scores.dims[1];
  std::vector<int64_t> selected;  // triples
  for (int64_t b = 0; b < batches; ++b) {
    std::vector<Box> box(static_cast<size_t>(count));
    for (int64_t i = 0; i < count; ++i) {
      uint64_t at = static_cast<uint64_t>((b * count + i) * 4);
      double v[4];
      for (int k = 0; k < 4; ++k) v[k] = load_as_double(boxes, at + k);
      if (center) box[i] = {v[1] - v[3] / 2, v[0] - v[2] / 2, v[1] + v[3] / 2, v[0] + v[2] / 2};
      else box[i] = {std::min(v[0], v[2]), std::min(v[1], v[3]), std::max(v[0], v[2]), std::max(v[1], v[3])};
    }
    for (int64_t c = 0; c < classes; ++c) {
      auto score = [&](int64_t i) { return load_as_double(scores, static_cast<uint64_t>((b * classes + c) * count + i)); };
      std::vector<int64_t> order;
      for (int64_t i = 0; i < count; ++i)
        if (!has_score_threshold || score(i) > score_threshold) order.push_back(i);
      std::stable_sort(order.begin(), order.end(), [&](int64_t x, int64_t y) { return score(x) > score(y); });
      std::vector<int64_t> kept;
      for (int64_t i : order) {
        if (static_cast<int64_t>(kept.size()) >= max_out) break;
        bool suppressed = false;
        for (int64_t k : kept)
          if (iou(box[i], box[k]) > iou_threshold) { suppressed = true; break; }
        if (suppressed) continue;
        kept.push_back(i);
        selected.insert(selected.end(), {b, c, i});
      }
    }
  }
  int64_t rows = static_cast<int64_t>(selected.size() / 3);
  ir::Tensor& y = ctx.allocate_output(0, ir::DataType::int64, {rows, 3});
  for (size_t i = 0; i < selected.size(); ++i) store_int64(y, i, selected[i]);
}

}  // namespace

void add_detection_kernels(std::vector<KernelDef>& table) {
  table.push_back({ir::OpKind::NonMaxSuppression, KernelKind::reference, non_max_suppression, nullptr});
}

}  // namespace mhub::engine::cpu
