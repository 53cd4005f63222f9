#include "engine/ir/ops.h"

#include <algorithm>
#include <array>

namespace mhub::ir {
namespace {

struct OpRow {
  std::string_view name;
  int first_opset;
  OpFamily family;
};

constexpr std::array kOps = {
#define OP(name, since, family) OpRow{#name, since, OpFamily::family},
#include "engine/ir/ops.def"
#undef OP
};
constexpr std::array kInternalOps = {
#define INTERNAL_OP(name, family) OpRow{#name, 1, OpFamily::family},
#include "engine/ir/internal_ops.def"
#undef INTERNAL_OP
};
constexpr std::array<std::string_view, kFamilyCount> kFamilyNames = {
#define FAMILY(name) #name,
#include "engine/ir/op_families.def"
#undef FAMILY
};
static_assert(kOps.size() == static_cast<size_t>(kOpCount), "ops.def and OpKind disagree");
static_assert(kInternalOps.size() == static_cast<size_t>(kInternalOpCount), "internal_ops.def and OpKind disagree");
static_assert(kOpCount == 202, "op count changed: update this number after checking kernels/specs");

template <size_t N>
constexpr bool sorted_by_name(const std::array<OpRow, N>& rows) {
  for (size_t i = 1; i < rows.size(); ++i)
    if (!(rows[i - 1].name < rows[i].name)) return false;
  return true;
}
static_assert(sorted_by_name(kOps), "ops.def must stay sorted by name (lookup is a binary search)");
static_assert(sorted_by_name(kInternalOps), "internal_ops.def must stay sorted by name");

constexpr bool sorted_names(const std::array<std::string_view, kFamilyCount>& names) {
  for (size_t i = 1; i < names.size(); ++i)
    if (!(names[i - 1] < names[i])) return false;
  return true;
}
static_assert(sorted_names(kFamilyNames), "op_families.def must stay sorted by name");

const OpRow* row_of(OpKind op) {
  auto index = static_cast<size_t>(op);
  if (index < kOps.size()) return &kOps[index];
  if (index - kOps.size() < kInternalOps.size()) return &kInternalOps[index - kOps.size()];
  return nullptr;
}

template <size_t N>
OpKind find_in(const std::array<OpRow, N>& rows, std::string_view op_type, size_t first_index) {
  auto it = std::lower_bound(rows.begin(), rows.end(), op_type,
                             [](const OpRow& row, std::string_view name) { return row.name < name; });
  if (it == rows.end() || it->name != op_type) return OpKind::opaque;
  return static_cast<OpKind>(first_index + static_cast<size_t>(it - rows.begin()));
}

}  // namespace

std::string_view op_name(OpKind op) {
  const OpRow* row = row_of(op);
  return row ? row->name : std::string_view("<opaque>");
}

int op_first_opset(OpKind op) {
  const OpRow* row = row_of(op);
  return row ? row->first_opset : 0;
}

OpFamily op_family(OpKind op) {
  const OpRow* row = row_of(op);
  return row ? row->family : OpFamily::none;
}

std::string_view family_name(OpFamily family) {
  auto index = static_cast<size_t>(family);
  return index < kFamilyNames.size() ? kFamilyNames[index] : std::string_view("<none>");
}

OpFamily lookup_family(std::string_view name) {
  auto it = std::lower_bound(kFamilyNames.begin(), kFamilyNames.end(), name);
  if (it == kFamilyNames.end() || *it != name) return OpFamily::none;
  return static_cast<OpFamily>(it - kFamilyNames.begin());
}

bool is_internal_op(OpKind op) {
  auto index = static_cast<size_t>(op);
  return index >= kOps.size() && index - kOps.size() < kInternalOps.size();
}

bool is_default_domain(std::string_view domain) { return domain.empty() || domain == "ai.onnx"; }

OpKind lookup_op(std::string_view domain, std::string_view op_type) {
  if (domain == kInternalDomain) return find_in(kInternalOps, op_type, kOps.size());
  if (!is_default_domain(domain)) return OpKind::opaque;
  return find_in(kOps, op_type, 0);
}

}  // namespace mhub::ir
