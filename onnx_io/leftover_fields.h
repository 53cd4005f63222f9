// Keeps the fields of a protobuf message that the IR does not model, as serialized bytes, so
// an exported model still carries them (fields newer than mhub's schema arrive as unknown
// fields and travel the same way).
#pragma once

#include <google/protobuf/message.h>

#include <initializer_list>
#include <string>

namespace mhub::onnx_io {

// Moves the listed fields and all unknown fields out of `message` and returns them serialized
// ("" when there are none).
std::string take_leftover_fields(google::protobuf::Message& message,
                                 std::initializer_list<int> unmodelled_field_numbers);

// Merges bytes from take_leftover_fields back into `message`. Throws mhub::Error (internal)
// if they do not parse.
void restore_leftover_fields(google::protobuf::Message& message, const std::string& bytes);

// proto2 remembers whether a scalar field was written even when it holds its default value
// ("" or 0). The IR stores plain values, so it records that fact separately: bit N set means
// field number N (< 64) was present with its default value.
uint64_t explicit_default_fields(const google::protobuf::Message& message);
// Marks those fields present again (only the ones still absent).
void restore_explicit_defaults(google::protobuf::Message& message, uint64_t fields);

}  // namespace mhub::onnx_io
