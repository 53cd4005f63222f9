// Files <-> engine values for `mhub run` and `mhub conformance`.
#pragma once

#include <string>

#include "engine/core/value.h"
#include "engine/ir/graph.h"
#include "onnx_io/data_value.h"

namespace mhub::runner {

engine::Value to_value(onnx_io::DataValue data);

// Reads an input file: .npy, or a protobuf (.pb: TensorProto / SequenceProto / OptionalProto as
// `type` calls for). Throws mhub::Error naming the file.
engine::Value read_value_file(const std::string& path, const ir::Type& type);

// "float32 [1,10]" style description.
std::string describe_value(const engine::Value& value);

}  // namespace mhub::runner
