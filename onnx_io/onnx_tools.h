// The reference ONNX tools from libonnx (Debian's onnx 1.12): checker, shape inference and the
// opset version converter. They work on libonnx's own message classes, so models cross over as
// bytes. libonnx 1.12 knows the default domain up to opset 17 and IR version 8; newer models are
// reported as skipped rather than failed.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "engine/ir/graph.h"

namespace mhub::onnx_io {

inline constexpr int kReferenceToolsMaxOpset = 17;
inline constexpr int kReferenceToolsMaxIrVersion = 8;

struct CheckReport {
  bool checker_ran = false;
  bool checker_passed = false;
  std::string checker_message;   // the checker's complaint, or why it was skipped
  bool shapes_ran = false;
  bool shapes_passed = false;
  std::string shapes_message;
  int values_typed_before = 0;   // value_info + outputs with a known type before inference
  int values_typed_after = 0;
  std::vector<std::string> untyped_values;  // node outputs shape inference could not type
};

// Runs the checker (full_check) and shape inference on the model stored at `path`.
CheckReport check_model_file(const std::filesystem::path& path);

// Converts the default-domain opset to `target_opset`. External tensors stay where they are
// (the result refers to the same files under `base_dir`). Throws mhub::Error (unsupported)
// naming the missing adapter or the opset range libonnx supports.
ir::Model convert_opset(const ir::Model& model, int target_opset, const std::filesystem::path& base_dir);

// Runs shape inference and returns the model with value_info filled in.
ir::Model infer_shapes(const ir::Model& model, const std::filesystem::path& base_dir);

// Like infer_shapes, except that a model newer than libonnx knows (opset > 17, IR > 8) comes
// back unchanged instead of throwing: its shapes are left to the caller (the training graph
// fills them from a probe run of the engine).
ir::Model infer_shapes_if_known(const ir::Model& model, const std::filesystem::path& base_dir);

}  // namespace mhub::onnx_io
