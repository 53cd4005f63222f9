// Load-time pass: scaled dot-product attention spelled out in primitives,
//   S = MatMul(X, Y) [* c | / c] [+ mask];  P = Softmax(S, axis -1);  O = MatMul(P, V)
// (P may pass through a Dropout that keeps it as it is first: training_mode absent or a constant
// false, or a constant ratio 0; mask output unread)
// becomes one internal node (ir::OpKind::FusedAttention, domain ir::kInternalDomain, run by
// cpu/attention_fused.cpp) with inputs (X, Y, V, mask or "") and attributes mhub_scale = c,
// mhub_scale_div = 1 for a Div (0 for Mul; no scale: c = 1, Mul). The kernel computes one
// batch entry (e.g. one batch x head) at a time — its S rows only — threaded over the batch.
// X, Y, V keep their MatMul meaning (Y is K already transposed). A scaling of X by a constant
// (X = Q / c or Q * c, torch's MultiheadAttention) becomes the scale when the scores have none
// of their own. Transposes producing X, Y or V (the head split) and one taking the result (the
// head merge) go into the node as attributes mhub_perm_x / _y / _v / _out (the perm), read and
// written as strided matrices by the kernel, no copy; a Gather of one constant index >= 0 on
// axis 0 between them (q, k, v = qkv.permute(2, 0, 3, 1, 4)[0, 1, 2]: timm, Swin) becomes
// mhub_take_x / _y / _v, the Transpose before it staying while other readers need it: only perms keeping the input's innermost
// axis among the operand's two matrix axes (the result's innermost axis in place), and only
// where the fused node is the Transpose's only reader (or the result's only reader is it).
// c must be a float32 scalar constant; the Softmax must be over
// axis -1 (or its default from opset 13); S and P (and the Dropout's output) must have the next
// node as only reader.
#pragma once

#include <cstddef>
#include <cstdint>

#include "engine/core/passes/graph_match.h"

namespace mhub::engine::passes {

// `opset` is the model's default-domain opset (Softmax's default axis changed at 13).
// Returns how many nodes the rewrites removed.
size_t fuse_attention(ir::Graph& graph, int64_t opset, const CanReplace& can_replace);
inline size_t fuse_attention(ir::Graph& graph, int64_t opset) { return fuse_attention(graph, opset, CanReplace{}); }

}  // namespace mhub::engine::passes
