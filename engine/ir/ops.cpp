#include "engine/ir/ops.h"

#include <algorithm>
#include <array>

namespace mhub::ir {
namespace {

struct OpRow {
  std::string_view name;
  int first_opset;
};

constexpr std::array kOps = {
#define OP(name, since) OpRow{#name, since},
#include "engine/ir/ops.def"
#undef OP
};
static_assert(kOps.size() == static_cast<size_t>(kOpCount), "ops.def and OpKind disagree");
static_assert(kOpCount == 202, "op count changed: update this number after checking kernels/specs");

constexpr bool sorted_by_name() {
  for (size_t i = 1; i < kOps.size(); ++i)
    if (!(kOps[i - 1].name < kOps[i].name)) return false;
  return true;
}
static_assert(sorted_by_name(), "ops.def must stay sorted by name (lookup is a binary search)");

}  // namespace

std::string_view op_name(OpKind op) {
  auto index = static_cast<size_t>(op);
  return index < kOps.size() ? kOps[index].name : std::string_view("<opaque>");
}

int op_first_opset(OpKind op) {
  auto index = static_cast<size_t>(op);
  return index < kOps.size() ? kOps[index].first_opset : 0;
}

bool is_default_domain(std::string_view domain) { return domain.empty() || domain == "ai.onnx"; }

OpKind lookup_op(std::string_view domain, std::string_view op_type) {
  if (!is_default_domain(domain)) return OpKind::opaque;
  auto it = std::lower_bound(kOps.begin(), kOps.end(), op_type,
                             [](const OpRow& row, std::string_view name) { return row.name < name; });
  if (it == kOps.end() || it->name != op_type) return OpKind::opaque;
  return static_cast<OpKind>(it - kOps.begin());
}

}  // namespace mhub::ir
