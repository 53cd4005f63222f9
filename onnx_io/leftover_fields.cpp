#include "onnx_io/leftover_fields.h"

#include <google/protobuf/descriptor.h>
#include <google/protobuf/unknown_field_set.h>

#include <memory>
#include <vector>

#include "common/error.h"

namespace mhub::onnx_io {

std::string take_leftover_fields(google::protobuf::Message& message,
                                 std::initializer_list<int> unmodelled_field_numbers) {
  const google::protobuf::Reflection* reflection = message.GetReflection();
  const google::protobuf::Descriptor* descriptor = message.GetDescriptor();
  bool has_unknown = !reflection->GetUnknownFields(message).empty();
  std::vector<const google::protobuf::FieldDescriptor*> fields;
  for (int number : unmodelled_field_numbers) {
    const auto* field = descriptor->FindFieldByNumber(number);
    if (!field) continue;
    bool present = field->is_repeated() ? reflection->FieldSize(message, field) > 0
                                        : reflection->HasField(message, field);
    if (present) fields.push_back(field);
  }
  if (!has_unknown && fields.empty()) return {};
  std::unique_ptr<google::protobuf::Message> holder(message.New());
  if (!fields.empty()) reflection->SwapFields(&message, holder.get(), fields);
  if (has_unknown) reflection->MutableUnknownFields(holder.get())->Swap(reflection->MutableUnknownFields(&message));
  return holder->SerializeAsString();
}

void restore_leftover_fields(google::protobuf::Message& message, const std::string& bytes) {
  if (bytes.empty()) return;
  if (!message.MergeFromString(bytes))
    throw_error(ErrorCategory::internal, "kept fields of a " + message.GetTypeName() +
                                             " no longer parse");
}

uint64_t explicit_default_fields(const google::protobuf::Message& message) {
  using google::protobuf::FieldDescriptor;
  const auto* reflection = message.GetReflection();
  const auto* descriptor = message.GetDescriptor();
  uint64_t bits = 0;
  for (int index = 0; index < descriptor->field_count(); ++index) {
    const FieldDescriptor* field = descriptor->field(index);
    if (field->is_repeated() || field->number() >= 64 ||
        field->cpp_type() == FieldDescriptor::CPPTYPE_MESSAGE || !reflection->HasField(message, field))
      continue;
    bool is_default = false;
    switch (field->cpp_type()) {
      case FieldDescriptor::CPPTYPE_STRING: is_default = reflection->GetString(message, field).empty(); break;
      case FieldDescriptor::CPPTYPE_INT32: is_default = reflection->GetInt32(message, field) == 0; break;
      case FieldDescriptor::CPPTYPE_INT64: is_default = reflection->GetInt64(message, field) == 0; break;
      case FieldDescriptor::CPPTYPE_UINT32: is_default = reflection->GetUInt32(message, field) == 0; break;
      case FieldDescriptor::CPPTYPE_UINT64: is_default = reflection->GetUInt64(message, field) == 0; break;
      case FieldDescriptor::CPPTYPE_FLOAT: is_default = reflection->GetFloat(message, field) == 0; break;
      case FieldDescriptor::CPPTYPE_DOUBLE: is_default = reflection->GetDouble(message, field) == 0; break;
      case FieldDescriptor::CPPTYPE_BOOL: is_default = !reflection->GetBool(message, field); break;
      case FieldDescriptor::CPPTYPE_ENUM: is_default = reflection->GetEnumValue(message, field) == 0; break;
      default: break;
    }
    if (is_default) bits |= uint64_t{1} << field->number();
  }
  return bits;
}

void restore_explicit_defaults(google::protobuf::Message& message, uint64_t fields) {
  using google::protobuf::FieldDescriptor;
  if (fields == 0) return;
  const auto* reflection = message.GetReflection();
  const auto* descriptor = message.GetDescriptor();
  for (int number = 1; number < 64; ++number) {
    if (!(fields & (uint64_t{1} << number))) continue;
    const FieldDescriptor* field = descriptor->FindFieldByNumber(number);
    if (!field || reflection->HasField(message, field)) continue;
    switch (field->cpp_type()) {
      case FieldDescriptor::CPPTYPE_STRING: reflection->SetString(&message, field, ""); break;
      case FieldDescriptor::CPPTYPE_INT32: reflection->SetInt32(&message, field, 0); break;
      case FieldDescriptor::CPPTYPE_INT64: reflection->SetInt64(&message, field, 0); break;
      case FieldDescriptor::CPPTYPE_UINT32: reflection->SetUInt32(&message, field, 0); break;
      case FieldDescriptor::CPPTYPE_UINT64: reflection->SetUInt64(&message, field, 0); break;
      case FieldDescriptor::CPPTYPE_FLOAT: reflection->SetFloat(&message, field, 0); break;
      case FieldDescriptor::CPPTYPE_DOUBLE: reflection->SetDouble(&message, field, 0); break;
      case FieldDescriptor::CPPTYPE_BOOL: reflection->SetBool(&message, field, false); break;
      case FieldDescriptor::CPPTYPE_ENUM: reflection->SetEnumValue(&message, field, 0); break;
      default: break;
    }
  }
}

}  // namespace mhub::onnx_io
