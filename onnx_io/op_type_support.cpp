#include "onnx_io/op_type_support.h"

#include <onnx/defs/schema.h>

#include "onnx_io/onnx_tools.h"

namespace mhub::onnx_io {

bool op_accepts_float_type(const std::string& op_type, const std::string& domain, int64_t opset, ir::DataType type) {
  int version = static_cast<int>(std::min<int64_t>(opset, kReferenceToolsMaxOpset));
  const auto* schema = ::onnx::OpSchemaRegistry::Schema(op_type, version, domain == "ai.onnx" ? "" : domain);
  if (!schema) return true;
  std::string wanted = "tensor(" + std::string(ir::name_of(type)) + ")";
  for (const auto& input : schema->inputs()) {
    bool has_float = false;
    bool has_wanted = false;
    for (const std::string* allowed : input.GetTypes()) {
      has_float = has_float || *allowed == "tensor(float)";
      has_wanted = has_wanted || *allowed == wanted;
    }
    if (has_float && !has_wanted) return false;
  }
  return true;
}

}  // namespace mhub::onnx_io
