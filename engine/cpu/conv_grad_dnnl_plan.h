// The oneDNN plan behind the fast ConvGradInput / ConvGradWeight kernels (conv_grad.cpp has the
// ops and their reference loops): one backward primitive, the layouts it wants for its two
// operands and its result, the plain layouts of the graph's tensors, and the reorders between
// them. One plan serves every data-type case; the builders take the types:
//  - float32 (conv_grad_dnnl.cpp): operands and results float32;
//  - bfloat16 compute (conv_grad_dnnl_bf16.cpp): operands bfloat16, results in the graph's
//    type (bfloat16 data, or float32 data whose reorders round to bfloat16 and whose float32
//    dX / dW / dB oneDNN accumulates and writes directly).
//
// Plans are cached per (node attributes, shapes, types), never by data address: every input of
// these ops is computed anew each run, or is a parameter the trainer updates in place, so its
// bytes are reordered on every run. The blocked copies, the blocked result and the scratchpad
// live in per-thread buffers that steady-state runs find big enough: a training step allocates
// nothing here (at batch 32 a fresh multi-megabyte buffer per call is memory the kernel maps and
// zeroes page by page, every step). Primitives use user scratchpads, so sessions on other
// threads share them.
#pragma once

#include <memory>

#include "engine/core/op_context.h"
#include "engine/cpu/conv_grad.h"
#include "engine/cpu/dnnl_common.h"

namespace mhub::engine::cpu {

// The primitive's compute type for dY, W and X (`operand`) and the graph tensors' type (`io`).
struct ConvGradTypes {
  dnnl::memory::data_type operand, io;
};

struct ConvGradPlan {
  dnnl::primitive prim;
  // a, b: the node's inputs 0 and 1 (ConvGradInput: dY, W; ConvGradWeight: X, dY); out: dX or dW
  dnnl::memory::desc a_plain, a_md, b_plain, b_md, out_plain, out_md, bias_md, scratch_md;
  dnnl::reorder a_reorder, b_reorder, out_reorder;  // empty where the primitive takes the plain layout
  bool with_bias = false;                          // ConvGradWeight writes dB (output 1) too
  int a_arg = 0, b_arg = 0, out_arg = 0;           // DNNL_ARG_* of a, b and out
};

// The cached plan for the node of `ctx` (ConvGradInput when `grad_input`, else ConvGradWeight,
// with dB when output 1 is wanted), built on first use. Sets oneDNN's thread count from the
// context (primitives are created for it). Throws mhub::Error (naming the node)
// where oneDNN picks a non-plain bias gradient layout.
std::shared_ptr<const ConvGradPlan> conv_grad_plan(OpContext& ctx, const ConvGradShapes& s, bool grad_input,
                                                   ConvGradTypes types);

// Runs `plan` on the node's inputs 0 and 1 into `out` (plain layout, the graph's type) and
// `bias` (when the plan has one), on oneDNN's thread count that conv_grad_plan set.
void run_conv_grad_plan(OpContext& ctx, const ConvGradPlan& plan, void* out, void* bias);

}  // namespace mhub::engine::cpu
