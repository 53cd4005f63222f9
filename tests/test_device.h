// The test device: a Backend whose memory is host memory tagged as another device
// (ir::Device::Kind::test), so every rule a device backend relies on (placement, copies between
// devices, host_inputs, the per-backend buffer pool) is checked on machines without a GPU.
//
// Two kernel sets:
// - hand_written: Relu, Add (float32, equal shapes), Reshape (shape read on the host) and the
//   CPU's dims-only view kernels, as the CUDA backend registers them. Every other op runs on the
//   CPU, so the session's fallback and crossing rules are visible (tests/test_device_session.cpp).
// - mirror_cpu: every op of the CPU table, run by the CPU kernel on the device's memory (which is
//   host memory underneath). The kernel refuses inputs that are not on the device and moves
//   outputs the CPU kernel made in host memory onto it, so an op spec run through a Session with
//   this device preferred exercises placement and copies of every op (tests/ops/spec_runner).
//
// Header-only (inline), shared by the test executables that need it.
#pragma once

#include <cstring>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "common/error.h"
#include "engine/core/backend.h"
#include "engine/core/op_context.h"
#include "engine/cpu/cpu_backend.h"
#include "engine/cpu/cpu_kernels.h"
#include "engine/core/view_kernels.h"

namespace mhub::test {

inline constexpr ir::Device kTestDevice{ir::Device::Kind::test, 0};

inline void expect_on(const ir::Tensor& tensor, const ir::Device& device, const std::string& what) {
  if (!tensor.storage || tensor.storage->device() != device)
    throw_error(ErrorCategory::internal, what + " is not on " + device.name());
}

// Memory of the test device: host bytes, tagged kTestDevice.
inline std::shared_ptr<ir::Storage> test_device_storage(size_t bytes) {
  auto memory = std::make_shared<std::vector<uint8_t>>(bytes);
  return ir::Storage::device_buffer(memory, memory->data(), bytes, kTestDevice);
}

inline ir::Tensor copy_onto_test_device(const ir::Tensor& tensor) {
  ir::Tensor moved = tensor;
  moved.offset = 0;
  moved.storage = test_device_storage(tensor.byte_size());
  if (tensor.byte_size()) std::memcpy(moved.storage->mutable_data(), tensor.bytes(), tensor.byte_size());
  return moved;
}

namespace device_kernels {

// Kernels of the hand-written set: they refuse inputs on the wrong device, so a missing or wrong
// transfer fails the test instead of reading the wrong memory.
inline void relu(engine::OpContext& ctx) {
  const ir::Tensor& x = ctx.input(0);
  expect_on(x, kTestDevice, "Relu input");
  ir::Tensor& y = ctx.allocate_output(0, x.dtype, x.dims);
  expect_on(y, kTestDevice, "Relu output");
  float* out = reinterpret_cast<float*>(y.storage->mutable_data() + y.offset);
  for (uint64_t i = 0; i < x.numel(); ++i) out[i] = x.data<float>()[i] > 0 ? x.data<float>()[i] : 0.0f;
}

inline void add(engine::OpContext& ctx) {
  const ir::Tensor& a = ctx.input(0);
  const ir::Tensor& b = ctx.input(1);
  expect_on(a, kTestDevice, "Add input 0");
  expect_on(b, kTestDevice, "Add input 1");
  if (a.dims != b.dims) throw_error(ErrorCategory::unsupported, "test device: Add needs equal shapes");
  ir::Tensor& y = ctx.allocate_output(0, a.dtype, a.dims);
  float* out = reinterpret_cast<float*>(y.storage->mutable_data() + y.offset);
  for (uint64_t i = 0; i < a.numel(); ++i) out[i] = a.data<float>()[i] + b.data<float>()[i];
}

// Reshape reads its shape operand on the host (host_inputs bit 1) and aliases the data.
inline void reshape(engine::OpContext& ctx) {
  const ir::Tensor& x = ctx.input(0);
  const ir::Tensor& shape = ctx.input(1);
  expect_on(x, kTestDevice, "Reshape data");
  expect_on(shape, ir::Device{}, "Reshape shape");
  ir::Tensor view = x;
  view.dims.assign(shape.data<int64_t>(), shape.data<int64_t>() + shape.numel());
  ctx.set_output(0, engine::Value::of(std::move(view)));
}

inline bool float32_inputs(const ir::Node&, std::span<const ir::DataType> types) {
  return !types.empty() && types[0] == ir::DataType::float32;
}

inline bool on_test_device(const engine::Value& value) {
  if (value.is_tensor()) return !value.tensor.storage || value.tensor.storage->device() == kTestDevice;
  if (value.kind == engine::Value::Kind::sequence)
    for (const ir::Tensor& item : value.sequence)
      if (item.storage && item.storage->device() != kTestDevice) return false;
  return true;
}

// The mirror set: the CPU kernel the CPU backend would pick, on the device's memory.
inline void run_cpu_kernel_on_device(engine::OpContext& ctx, bool allow_fast) {
  std::vector<ir::DataType> types(ctx.input_count(), ir::DataType::undefined);
  std::vector<const engine::Value*> inputs(ctx.input_count(), nullptr);
  std::vector<bool> constant(ctx.input_count(), false);
  for (size_t i = 0; i < ctx.input_count(); ++i) {
    if (!ctx.has_input(i)) continue;
    const engine::Value& value = ctx.value(i);
    if (!on_test_device(value))
      throw_error(ErrorCategory::internal, ctx.describe() + ": input " + std::to_string(i) + " is not on test:0");
    if (value.is_tensor()) types[i] = value.tensor.dtype;
    else if (value.kind == engine::Value::Kind::sequence) types[i] = value.sequence_elem;
    inputs[i] = &value;
    constant[i] = ctx.input_is_constant(i);
  }
  const engine::KernelDef* kernel = engine::cpu::cpu_backend().find_kernel(ctx.node(), types, allow_fast);
  if (!kernel) throw_error(ErrorCategory::internal, ctx.describe() + ": the CPU has no kernel the device found");
  std::vector<engine::Value> outputs(ctx.output_count());
  engine::OpContext inner(ctx.node(), ctx.opset(), std::move(inputs), outputs, ctx.scope());
  inner.set_constant_inputs(&constant);
  kernel->run(inner);
  for (size_t i = 0; i < outputs.size(); ++i) {
    engine::Value& out = outputs[i];
    if (out.is_tensor() && out.tensor.storage && out.tensor.storage->on_host())
      out.tensor = copy_onto_test_device(out.tensor);
    if (out.kind == engine::Value::Kind::sequence)
      for (ir::Tensor& item : out.sequence)
        if (item.storage && item.storage->on_host()) item = copy_onto_test_device(item);
    if (out.kind != engine::Value::Kind::absent) ctx.set_output(i, std::move(out));
  }
}
inline void mirror_fast(engine::OpContext& ctx) { run_cpu_kernel_on_device(ctx, true); }
inline void mirror_reference(engine::OpContext& ctx) { run_cpu_kernel_on_device(ctx, false); }

}  // namespace device_kernels

class TestDevice final : public engine::Backend {
 public:
  enum class Kernels { hand_written, mirror_cpu };

  explicit TestDevice(Kernels kernels = Kernels::hand_written) : kernels_(kernels) {
    if (kernels == Kernels::mirror_cpu) return;
    table_.push_back({ir::OpKind::Relu, engine::KernelKind::fast, device_kernels::relu, device_kernels::float32_inputs});
    table_.push_back({ir::OpKind::Add, engine::KernelKind::fast, device_kernels::add, device_kernels::float32_inputs});
    table_.push_back({ir::OpKind::Reshape, engine::KernelKind::fast, device_kernels::reshape,
                      device_kernels::float32_inputs, 1u << 1});
    // What the CUDA backend registers too: the CPU's dims-only kernels (found after the above).
    engine::add_view_kernels(table_);
  }
  std::string_view name() const override { return "test"; }
  ir::Device device() const override { return kTestDevice; }
  bool has_op(const ir::Node& node) const override {
    if (kernels_ == Kernels::mirror_cpu) return engine::cpu::cpu_backend().has_op(node);
    for (const auto& def : table_)
      if (def.op == node.op) return true;
    return false;
  }
  const engine::KernelDef* find_kernel(const ir::Node& node, std::span<const ir::DataType> types,
                                       bool allow_fast) const override {
    if (kernels_ == Kernels::hand_written) return engine::find_kernel(table_, node, types, allow_fast);
    if (!engine::cpu::cpu_backend().find_kernel(node, types, allow_fast)) return nullptr;
    return allow_fast ? &mirror_fast_ : &mirror_reference_;
  }
  std::shared_ptr<ir::Storage> allocate_storage(size_t bytes) const override {
    ++allocations;
    return test_device_storage(bytes);
  }
  ir::Tensor copy_to_host(const ir::Tensor& tensor) const override {
    expect_on(tensor, kTestDevice, "copy_to_host source");
    return ir::Tensor::from_bytes(tensor.dtype, tensor.dims, tensor.bytes(), tensor.byte_size(), tensor.name);
  }
  ir::Tensor copy_from_host(const ir::Tensor& tensor) const override {
    expect_on(tensor, ir::Device{}, "copy_from_host source");
    return copy_onto_test_device(tensor);
  }
  mutable size_t allocations = 0;

 private:
  Kernels kernels_;
  std::vector<engine::KernelDef> table_;
  // One row per kind serves every op (the row's op is not consulted by the session).
  engine::KernelDef mirror_fast_{ir::OpKind::opaque, engine::KernelKind::fast, device_kernels::mirror_fast, nullptr};
  engine::KernelDef mirror_reference_{ir::OpKind::opaque, engine::KernelKind::reference, device_kernels::mirror_reference,
                                      nullptr};
};

}  // namespace mhub::test
