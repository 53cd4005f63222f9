#include "engine/cpu/bf16_support.h"

#include <oneapi/dnnl/dnnl.hpp>

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

}  // namespace mhub::engine::cpu
