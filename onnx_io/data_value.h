// Test-data files: standalone TensorProto / SequenceProto / OptionalProto (.pb), as the ONNX
// backend suite stores inputs and expected outputs. onnx_io knows nothing of the engine, so the
// result is a plain struct; the engine-side Value is made from it by the caller.
#pragma once

#include <string>
#include <vector>

#include "engine/ir/graph.h"

namespace mhub::onnx_io {

struct DataValue {
  enum class Kind : uint8_t { tensor, sequence, optional_none };
  Kind kind = Kind::tensor;
  ir::Tensor tensor;                   // kind tensor
  std::vector<ir::Tensor> sequence;    // kind sequence (tensor elements)
  ir::DataType sequence_elem = ir::DataType::undefined;
};

// Reads `path` as the proto message `type` calls for: TensorProto for tensors (and for an
// unknown type), SequenceProto for sequences, OptionalProto for optionals (an optional holding
// a value gives that value). Throws mhub::Error: io, format (not that message, bad tensor
// data), unsupported (maps, sparse tensors, sequences of non-tensors).
DataValue read_data_file(const std::string& path, const ir::Type& type);

}  // namespace mhub::onnx_io
