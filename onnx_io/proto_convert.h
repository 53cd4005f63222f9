// ModelProto <-> ir::Model, field by field. Internal to onnx_io.
#pragma once

#include <functional>
#include <string>

#include "engine/ir/graph.h"
#include "onnx_io/onnx_schema.pb.h"

namespace mhub::onnx_io {

// Called for every tensor read (initializers, attribute tensors, sparse parts) after decoding;
// load_model uses it to attach external data.
using TensorVisitor = std::function<void(ir::Tensor&)>;
// Called for every tensor written; decides how its data goes into the proto.
// `is_initializer` is false for attribute tensors (Constant values and the like).
using TensorWriter =
    std::function<void(const ir::Tensor&, onnxpb::TensorProto&, bool is_initializer)>;

// Consumes `proto` (tensor bytes are moved out of it). `source` names the file in messages.
ir::Model model_from_proto(onnxpb::ModelProto& proto, const std::string& source,
                           const TensorVisitor& on_tensor);
void model_to_proto(const ir::Model& model, onnxpb::ModelProto& proto, const TensorWriter& write);

ir::Type type_from_proto(const onnxpb::TypeProto& proto);
void type_to_proto(const ir::Type& type, onnxpb::TypeProto& proto);

}  // namespace mhub::onnx_io
