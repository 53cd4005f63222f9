// The model page of `mhub board`: what `mhub inspect --json` reports (ports, opsets, op
// histogram, "parameters", "nodes" (count)) plus "graph_nodes": the top-level nodes with their inputs and outputs, which the
// page draws as a graph (at most kMaxDrawnNodes nodes; "truncated" says when there were more).
#pragma once

#include <filesystem>

#include <nlohmann/json.hpp>

namespace mhub::board {

constexpr size_t kMaxDrawnNodes = 1500;

// Throws mhub::Error as onnx_io::load_model does (format, io).
nlohmann::json describe_model(const std::filesystem::path& path);

}  // namespace mhub::board
