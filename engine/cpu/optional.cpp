// Optional, OptionalHasElement, OptionalGetElement. An optional holding a value is that value
// itself (tensor or sequence Value); an empty one is Value::none().
#include "common/error.h"
#include "engine/cpu/cpu_kernels.h"
#include "engine/cpu/scalar_access.h"

namespace mhub::engine::cpu {

namespace {

void optional_construct(OpContext& ctx) {
  ctx.set_output(0, ctx.has_input(0) ? ctx.value(0) : Value::none());
}

void optional_has_element(OpContext& ctx) {
  bool has = ctx.has_input(0) && ctx.value(0).kind != Value::Kind::optional_none;
  ir::Tensor& y = ctx.allocate_output(0, ir::DataType::boolean, {});
  mutable_bytes(y)[0] = has ? 1 : 0;
}

void optional_get_element(OpContext& ctx) {
  const Value& v = ctx.value(0);
  if (v.kind == Value::Kind::optional_none)
    throw_error(ErrorCategory::format, ctx.describe() + ": the optional input holds no value");
  ctx.set_output(0, v);
}

}  // namespace

void add_optional_kernels(std::vector<KernelDef>& table) {
  using O = ir::OpKind;
  auto ref = KernelKind::reference;
  table.push_back({O::Optional, ref, optional_construct, nullptr});
  table.push_back({O::OptionalHasElement, ref, optional_has_element, nullptr});
  table.push_back({O::OptionalGetElement, ref, optional_get_element, nullptr});
}

}  // namespace mhub::engine::cpu
