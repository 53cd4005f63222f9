#include "engine/core/op_context.h"

#include "engine/ops/shape.h"

#include "common/error.h"

namespace mhub::engine {

OpContext::OpContext(const ir::Node& node, int64_t opset, std::vector<const Value*> inputs,
                     std::vector<Value>& outputs, ExecutionScope& scope)
    : node_(node), opset_(opset), inputs_(std::move(inputs)), outputs_(outputs), scope_(scope) {}

bool OpContext::has_input(size_t index) const {
  return index < inputs_.size() && inputs_[index] && inputs_[index]->kind != Value::Kind::absent;
}

bool OpContext::input_is_constant(size_t index) const {
  return constant_inputs_ && index < constant_inputs_->size() && (*constant_inputs_)[index] && has_input(index);
}

const Value& OpContext::value(size_t index) const {
  if (!has_input(index))
    throw_error(ErrorCategory::format, describe() + ": input " + std::to_string(index) + " is missing");
  return *inputs_[index];
}

const ir::Tensor& OpContext::input(size_t index) const {
  const Value& v = value(index);
  if (!v.is_tensor())
    throw_error(ErrorCategory::format, describe() + ": input " + std::to_string(index) + " is not a tensor");
  return v.tensor;
}

ir::Tensor& OpContext::allocate_output(size_t index, ir::DataType dtype, const std::vector<int64_t>& dims) {
  if (index >= outputs_.size())
    throw_error(ErrorCategory::internal, describe() + ": output " + std::to_string(index) + " does not exist");
  outputs_[index] = Value::of(scope_.allocate(dtype, dims));
  return outputs_[index].tensor;
}

void OpContext::set_output(size_t index, Value value) {
  if (index >= outputs_.size())
    throw_error(ErrorCategory::internal, describe() + ": output " + std::to_string(index) + " does not exist");
  outputs_[index] = std::move(value);
}

bool OpContext::output_wanted(size_t index) const {
  return index < node_.outputs.size() && !node_.outputs[index].empty();
}

std::string OpContext::describe() const { return ops::describe(node_); }

}  // namespace mhub::engine
