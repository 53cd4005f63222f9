// TensorProto <-> ir::Tensor.
//
// Import moves raw_data into the tensor's storage (no copy); typed fields (float_data,
// int32_data, ...) are decoded into packed little-endian bytes and the tensor remembers that
// encoding, so export writes the same field back. External data is resolved by the caller
// (external_data.h): here such a tensor only records its external_data entries.
#pragma once

#include <string>

#include "engine/ir/tensor.h"
#include "onnx_io/onnx_schema.pb.h"

namespace mhub::onnx_io {

// `context` names the file and tensor for messages. Throws mhub::Error (format) when the data
// does not match dtype and dims. Consumes the proto's data fields.
ir::Tensor tensor_from_proto(onnxpb::TensorProto& proto, const std::string& context);

// Writes `tensor` as it was imported (same field, same external entries).
void tensor_to_proto(const ir::Tensor& tensor, onnxpb::TensorProto& proto);

// Writes the tensor's metadata (name, dims, type, doc, metadata_props) but no data.
void tensor_header_to_proto(const ir::Tensor& tensor, onnxpb::TensorProto& proto);

// Reads a standalone TensorProto file (test_data_set_N/input_K.pb).
ir::Tensor read_tensor_file(const std::string& path);
void write_tensor_file(const ir::Tensor& tensor, const std::string& path);

}  // namespace mhub::onnx_io
