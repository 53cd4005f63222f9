#include "engine/cpu/bf16_support.h"

#include <oneapi/dnnl/dnnl.hpp>

#include "engine/core/passes/compute_precision.h"

namespace mhub::engine::cpu {

bool cpu_has_bf16_units() {
  // oneDNN's ISA values are bit sets, each level containing the bits of those below it
  // (avx512_core_amx includes avx512_core_bf16); avx2_vnni_2 has bf16 conversions only.
  static const bool has = [] {
    const auto isa = static_cast<unsigned>(dnnl::get_effective_cpu_isa());
    const auto bf16 = static_cast<unsigned>(dnnl::cpu_isa::avx512_core_bf16);
    return (isa & bf16) == bf16;
  }();
  return has;
}

bool bf16_compute_hinted(const ir::Node& node) {
  return cpu_has_bf16_units() && node.attr_string(passes::kComputeAttribute, "") == "bf16";
}

ir::DataType conv_output_type(const ir::Node& node, ir::DataType x, ir::DataType w) {
  if (w != ir::DataType::float32 || node.attr_string(passes::kComputeAttribute, "") != "bf16") return x;
  const bool stored = bf16_compute_hinted(node) && node.attr_string(passes::kStorageAttribute, "") == "bf16";
  return stored ? ir::DataType::bfloat16 : ir::DataType::float32;
}

}  // namespace mhub::engine::cpu
