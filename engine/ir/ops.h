// The operator enum: one entry per ONNX default-domain operator (ops.def), then mhub's internal
// operators (internal_ops.def, domain kInternalDomain), plus `opaque` for everything else
// (custom domains, unknown names), which is kept in graphs, never dropped.
#pragma once

#include <cstdint>
#include <string_view>

namespace mhub::ir {

enum class OpKind : uint16_t {
#define OP(name, since, family) name,
#include "engine/ir/ops.def"
#undef OP
#define INTERNAL_OP(name, family) name,
#include "engine/ir/internal_ops.def"
#undef INTERNAL_OP
  opaque,
};

// The number of ONNX operators the table knows (the internal ones come after them). Changing
// ops.def changes this number; the static_assert in ops.cpp makes anyone adding an op there look
// at the name table too.
inline constexpr int kOpCount = 0
#define OP(name, since, family) +1
#include "engine/ir/ops.def"
#undef OP
    ;
inline constexpr int kInternalOpCount = static_cast<int>(OpKind::opaque) - kOpCount;

// The domain of mhub's internal operators: sessions run them, exports never contain them.
inline constexpr std::string_view kInternalDomain = "mhub.internal";
bool is_internal_op(OpKind op);

// The op families (op_families.def): where an op's kernels, rule and spec live in each folder.
enum class OpFamily : uint8_t {
#define FAMILY(name) name,
#include "engine/ir/op_families.def"
#undef FAMILY
  none,  // the family of OpKind::opaque only
};
inline constexpr int kFamilyCount = static_cast<int>(OpFamily::none);

OpFamily op_family(OpKind op);
std::string_view family_name(OpFamily family);
// The family called `name`; OpFamily::none when there is none.
OpFamily lookup_family(std::string_view name);

std::string_view op_name(OpKind op);
int op_first_opset(OpKind op);  // opset in which the op first appeared; 0 for opaque
// Resolves (domain, op_type); domains other than "", "ai.onnx" and kInternalDomain give
// OpKind::opaque.
OpKind lookup_op(std::string_view domain, std::string_view op_type);
bool is_default_domain(std::string_view domain);

}  // namespace mhub::ir
