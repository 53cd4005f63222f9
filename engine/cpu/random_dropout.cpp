// Dropout (family random): inference pass-through; training mode draws its mask from a seeded
// generator.
#include <cstring>
#include <random>

#include "engine/cpu/cpu_kernels.h"
#include "engine/cpu/nn_util.h"

namespace mhub::engine::cpu {

namespace {

void dropout(OpContext& ctx) {
  const ir::Node& node = ctx.node();
  const ir::Tensor& x = ctx.input(0);
  float ratio = node.attr_float("ratio", 0.5f);
  bool training = false;
  if (ctx.opset() >= 12) {
    if (ctx.has_input(1)) ratio = input_floats(ctx, 1)[0];
    if (ctx.has_input(2)) training = ctx.input(2).numel() > 0 && ctx.input(2).bytes()[0] != 0;
  }
  bool want_mask = ctx.output_count() > 1 && ctx.output_wanted(1);
  if (!training || ratio == 0.0f) {
    ctx.set_output(0, Value::of(x));
    if (want_mask) {
      ir::Tensor& m = ctx.allocate_output(1, ir::DataType::boolean, x.dims);
      std::memset(m.storage->mutable_data() + m.offset, 1, m.numel());
    }
    return;
  }
  // MT19937 seeded like numpy's legacy np.random.seed(int), with numpy's 53-bit doubles, so a
  // seeded node draws the same mask as the ONNX reference implementation.
  std::mt19937 gen(static_cast<uint32_t>(node.attr_int("seed", std::random_device{}())));
  std::vector<float> v = input_floats(ctx, 0);
  std::vector<uint8_t> keep(v.size());
  float k = 1.0f / (1.0f - ratio);
  for (size_t i = 0; i < v.size(); ++i) {
    uint32_t a = gen() >> 5, b = gen() >> 6;
    double u = (a * 67108864.0 + b) / 9007199254740992.0;
    keep[i] = u >= ratio;
    v[i] = keep[i] ? v[i] * k : 0.0f;
  }
  output_floats(ctx, 0, x.dtype, x.dims, v.data());
  if (want_mask) {
    ir::Tensor& m = ctx.allocate_output(1, ir::DataType::boolean, x.dims);
    if (!keep.empty()) std::memcpy(m.storage->mutable_data() + m.offset, keep.data(), keep.size());
  }
}

}  // namespace

void add_random_dropout_kernels(std::vector<KernelDef>& table) {
  table.push_back({ir::OpKind::Dropout, KernelKind::reference, dropout, nn_float_input});
}

}  // namespace mhub::engine::cpu
