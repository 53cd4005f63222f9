// Load-time graph rewrites the session needs before planning.
#pragma once

#include <functional>
#include <vector>

#include "engine/ir/graph.h"

namespace mhub::engine {

// Gives every node attribute graph of `graph` (recursively) its own copy, so the session can
// rewrite subgraphs without touching the caller's model (ir::Model shares subgraphs by pointer).
void clone_subgraphs(ir::Graph& graph);

// Replaces each node of `graph` (and of its subgraphs) that calls one of `functions` (same
// domain, name and overload) and that `has_kernel` says no kernel runs, by the function's body:
// formal inputs/outputs become the call's values, the body's own values get unique names,
// attribute references take the call's attribute (or the function's default). Body nodes whose
// function imports a different opset than the model carry it as metadata "mhub.opset" (read by
// node_opset). Throws mhub::Error (format) for calls nested more than 64 deep (recursion).
void inline_functions(ir::Graph& graph, const std::vector<ir::Function>& functions,
                      const std::vector<ir::OpsetImport>& model_opsets,
                      const std::function<bool(const ir::Node&)>& has_kernel);

// The opset a node runs under: its "mhub.opset" metadata if inlined, else the model's import
// for its domain (0 when the model imports none).
int64_t node_opset(const ir::Node& node, const std::vector<ir::OpsetImport>& model_opsets);

}  // namespace mhub::engine
