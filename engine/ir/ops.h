// The operator enum: one entry per ONNX default-domain operator (ops.def), plus `opaque` for
// everything else (custom domains, unknown names), which is kept in graphs, never dropped.
#pragma once

#include <cstdint>
#include <string_view>

namespace mhub::ir {

enum class OpKind : uint16_t {
#define OP(name, since) name,
#include "engine/ir/ops.def"
#undef OP
  opaque,
};

// The number of ONNX operators the table knows. Changing ops.def changes this number; the
// static_assert in ops.cpp makes anyone adding an op there look at the name table too.
inline constexpr int kOpCount = static_cast<int>(OpKind::opaque);

std::string_view op_name(OpKind op);
int op_first_opset(OpKind op);  // opset in which the op first appeared; 0 for opaque
// Resolves (domain, op_type); domains other than "" and "ai.onnx" give OpKind::opaque.
OpKind lookup_op(std::string_view domain, std::string_view op_type);
bool is_default_domain(std::string_view domain);

}  // namespace mhub::ir
