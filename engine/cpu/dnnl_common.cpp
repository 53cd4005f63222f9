#include "engine/cpu/dnnl_common.h"

namespace mhub::engine::cpu {

using dnnl::memory;

dnnl::engine& dnnl_cpu_engine() {
  static dnnl::engine engine(dnnl::engine::kind::cpu, 0);
  return engine;
}

memory::format_tag dnnl_plain_tag(size_t rank) {
  return rank == 3 ? memory::format_tag::ncw : rank == 4 ? memory::format_tag::nchw : memory::format_tag::ncdhw;
}

memory::format_tag dnnl_plain_weight_tag(size_t rank, bool grouped) {
  if (grouped) return rank == 3 ? memory::format_tag::goiw : rank == 4 ? memory::format_tag::goihw : memory::format_tag::goidhw;
  return rank == 3 ? memory::format_tag::oiw : rank == 4 ? memory::format_tag::oihw : memory::format_tag::oidhw;
}

std::string dnnl_attribute_signature(const ir::Node& node) {
  std::string sig = node.op_type;
  for (const ir::Attribute& a : node.attributes) {
    sig += ";" + a.name + "=" + std::to_string(a.i) + "," + std::to_string(a.f) + "," + a.s;
    for (int64_t v : a.ints) sig += "," + std::to_string(v);
  }
  return sig;
}

DnnlConvDims dnnl_conv_dims(const std::vector<int64_t>& x, const std::vector<int64_t>& w, int64_t group,
                            const ops::ConvGeometry& g) {
  DnnlConvDims d;
  d.src.assign(x.begin(), x.end());
  d.dst = {x[0], w[0]};
  d.dst.insert(d.dst.end(), g.out.begin(), g.out.end());
  d.grouped = group > 1;
  d.weights = d.grouped ? memory::dims{group, w[0] / group, w[1]} : memory::dims{w[0], w[1]};
  d.weights.insert(d.weights.end(), g.kernel.begin(), g.kernel.end());
  d.bias = {w[0]};
  d.strides.assign(g.stride.begin(), g.stride.end());
  for (int64_t v : g.dilation) d.dilates.push_back(v - 1);  // oneDNN counts dilation from 0
  d.pad_l.assign(g.pad_begin.begin(), g.pad_begin.end());
  d.pad_r.assign(g.pad_end.begin(), g.pad_end.end());
  return d;
}

dnnl::convolution_forward::primitive_desc dnnl_conv_forward_hint(const DnnlConvDims& d, bool with_bias) {
  auto f32 = memory::data_type::f32;
  auto any = memory::format_tag::any;
  memory::desc src(d.src, f32, any), weights(d.weights, f32, any), dst(d.dst, f32, any);
  memory::desc bias(d.bias, f32, memory::format_tag::a);
  auto desc = with_bias ? dnnl::convolution_forward::desc(dnnl::prop_kind::forward_training, dnnl::algorithm::convolution_direct,
                                                          src, weights, bias, dst, d.strides, d.dilates, d.pad_l, d.pad_r)
                        : dnnl::convolution_forward::desc(dnnl::prop_kind::forward_training, dnnl::algorithm::convolution_direct,
                                                          src, weights, dst, d.strides, d.dilates, d.pad_l, d.pad_r);
  return dnnl::convolution_forward::primitive_desc(desc, dnnl_cpu_engine());
}

}  // namespace mhub::engine::cpu
