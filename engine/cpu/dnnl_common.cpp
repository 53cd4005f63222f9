#include "engine/cpu/dnnl_common.h"

#include <algorithm>
#include <cstdlib>
#include <new>

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

void dnnl_append_activation(dnnl::post_ops& post, const ops::FusedActivation& fused) {
  using dnnl::algorithm;
  using ops::Activation;
  switch (fused.act) {
    case Activation::none: break;
    case Activation::relu: post.append_eltwise(1.0f, algorithm::eltwise_relu, 0.0f, 0.0f); break;
    case Activation::leaky_relu: post.append_eltwise(1.0f, algorithm::eltwise_relu, fused.alpha, 0.0f); break;
    case Activation::clip: post.append_eltwise(1.0f, algorithm::eltwise_clip, fused.alpha, fused.beta); break;
    case Activation::gelu: post.append_eltwise(1.0f, algorithm::eltwise_gelu_erf, 0.0f, 0.0f); break;
    case Activation::gelu_tanh: post.append_eltwise(1.0f, algorithm::eltwise_gelu_tanh, 0.0f, 0.0f); break;
    case Activation::sigmoid: post.append_eltwise(1.0f, algorithm::eltwise_logistic, 0.0f, 0.0f); break;
    case Activation::silu: post.append_eltwise(1.0f, algorithm::eltwise_swish, 1.0f, 0.0f); break;
    case Activation::tanh: post.append_eltwise(1.0f, algorithm::eltwise_tanh, 0.0f, 0.0f); break;
    case Activation::hard_swish: post.append_eltwise(1.0f, algorithm::eltwise_hardswish, 0.0f, 0.0f); break;
    case Activation::hard_sigmoid:
      post.append_eltwise(1.0f, algorithm::eltwise_linear, fused.alpha, fused.beta);
      post.append_eltwise(1.0f, algorithm::eltwise_clip, 0.0f, 1.0f);
      break;
  }
}

std::string dnnl_attribute_signature(const ir::Node& node) {
  std::string sig = node.op_type;
  for (const ir::Attribute& a : node.attributes) {
    sig += ";" + a.name + "=" + std::to_string(a.i) + "," + std::to_string(a.f) + "," + a.s;
    for (int64_t v : a.ints) sig += "," + std::to_string(v);
  }
  return sig;
}

void DnnlKeyHash::bytes(const void* p, size_t n) {
  const unsigned char* c = static_cast<const unsigned char*>(p);
  for (size_t i = 0; i < n; ++i) h = (h ^ c[i]) * 1099511628211ull;
}

void DnnlKeyHash::dims(const std::vector<int64_t>& d) {
  value(d.size());
  bytes(d.data(), d.size() * sizeof(int64_t));
}

void DnnlKeyHash::node(const ir::Node& node) {
  bytes(node.op_type.data(), node.op_type.size());
  for (const ir::Attribute& a : node.attributes) {
    bytes(a.name.data(), a.name.size());
    value(a.i);
    value(a.f);
    bytes(a.s.data(), a.s.size());
    dims(a.ints);
    bytes(a.floats.data(), a.floats.size() * sizeof(float));
  }
}

bool dnnl_same_attributes(const std::vector<ir::Attribute>& a, const std::vector<ir::Attribute>& b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i)
    if (a[i].name != b[i].name || a[i].type != b[i].type || a[i].i != b[i].i || a[i].f != b[i].f || a[i].s != b[i].s ||
        a[i].ints != b[i].ints || a[i].floats != b[i].floats)
      return false;
  return true;
}

void DnnlBuffer::Free::operator()(char* p) const { std::free(p); }

void* DnnlBuffer::at_least(size_t bytes) {
  if (bytes > size_ || !data_) {
    size_t size = (std::max<size_t>(bytes, 1) + 63) / 64 * 64;
    data_.reset(static_cast<char*>(std::aligned_alloc(64, size)));
    if (!data_) throw std::bad_alloc();
    size_ = size;
  }
  return data_.get();
}

dnnl::stream& dnnl_thread_stream() {
  thread_local dnnl::stream stream(dnnl_cpu_engine());
  return stream;
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

namespace {

// A 2-D, ungrouped, stride-1, undilated convolution with a k x k kernel (pads any).
bool plain_2d_stride_1(const DnnlConvDims& d, int64_t k) {
  if (d.grouped || d.src.size() != 4 || d.weights.size() != 4 || d.dst.size() != 4) return false;
  if (d.weights[2] != k || d.weights[3] != k) return false;
  for (size_t i = 0; i < 2; ++i)
    if (d.strides[i] != 1 || d.dilates[i] != 0) return false;
  return true;
}

}  // namespace

bool pointwise_prefers_direct_jit(const DnnlConvDims& d) {
  if (!plain_2d_stride_1(d, 1)) return false;
  for (size_t i = 0; i < 2; ++i)
    if (d.pad_l[i] != 0 || d.pad_r[i] != 0) return false;
  const int64_t pixels = d.dst[0] * d.dst[2] * d.dst[3];
  const int64_t in_channels = d.weights[1], out_channels = d.weights[0];
  return pixels >= kDirectPointwiseMinPixels && (in_channels <= 64 || out_channels <= 32);
}

bool winograd_preferred(const DnnlConvDims& d) {
  if (!plain_2d_stride_1(d, 3)) return false;
  const int64_t pixels = d.dst[0] * d.dst[2] * d.dst[3];
  const int64_t channels = std::min(d.weights[0], d.weights[1]);
  return channels >= kWinogradWideChannels || (channels >= kWinogradMinChannels && pixels >= kWinogradMinPixels) ||
         (channels >= kWinogradNarrowChannels && pixels >= kWinogradNarrowMinPixels);
}

DnnlConvDims dnnl_deconv_dims(const std::vector<int64_t>& x, const std::vector<int64_t>& w, int64_t group,
                              const ops::ConvTransposeGeometry& g) {
  DnnlConvDims d;
  int64_t c = x[1], m = w[1] * group;
  d.src.assign(x.begin(), x.end());
  d.dst = {x[0], m};
  d.dst.insert(d.dst.end(), g.out.begin(), g.out.end());
  d.grouped = group > 1;
  d.weights = d.grouped ? memory::dims{group, m / group, c / group} : memory::dims{m, c};
  d.weights.insert(d.weights.end(), g.kernel.begin(), g.kernel.end());
  d.bias = {m};
  d.strides.assign(g.stride.begin(), g.stride.end());
  for (int64_t v : g.dilation) d.dilates.push_back(v - 1);
  d.pad_l.assign(g.pad_begin.begin(), g.pad_begin.end());
  for (size_t i = 0; i < g.pad_end.size(); ++i) d.pad_r.push_back(g.pad_end[i] - g.output_padding[i]);
  return d;
}

memory::desc dnnl_deconv_weights_plain(const DnnlConvDims& d) {
  // ONNX order: [group][C/group][M/group][k...]; dims order: ([group,] M/group, C/group, k...).
  size_t lead = d.grouped ? 3 : 2;
  memory::dims strides(d.weights.size());
  memory::dim k = 1;
  for (size_t i = d.weights.size(); i-- > lead;) {
    strides[i] = k;
    k *= d.weights[i];
  }
  memory::dim oc = d.weights[lead - 2], ic = d.weights[lead - 1];
  strides[lead - 2] = k;
  strides[lead - 1] = oc * k;
  if (d.grouped) strides[0] = ic * oc * k;
  return memory::desc(d.weights, memory::data_type::f32, strides);
}

memory dnnl_in_layout(dnnl::stream& stream, const memory::desc& plain, const memory::desc& wanted, const void* bytes) {
  memory user(plain, dnnl_cpu_engine(), const_cast<void*>(bytes));
  if (wanted == plain) return user;
  memory reordered(wanted, dnnl_cpu_engine());
  dnnl::reorder(user, reordered).execute(stream, user, reordered);
  return reordered;
}

dnnl::convolution_forward::primitive_desc dnnl_conv_forward_hint(const DnnlConvDims& d, bool with_bias, memory::data_type type) {
  auto any = memory::format_tag::any;
  memory::desc src(d.src, type, any), weights(d.weights, type, any), dst(d.dst, type, any);
  memory::desc bias(d.bias, type, memory::format_tag::a);
  auto desc = with_bias ? dnnl::convolution_forward::desc(dnnl::prop_kind::forward_training, dnnl::algorithm::convolution_direct,
                                                          src, weights, bias, dst, d.strides, d.dilates, d.pad_l, d.pad_r)
                        : dnnl::convolution_forward::desc(dnnl::prop_kind::forward_training, dnnl::algorithm::convolution_direct,
                                                          src, weights, dst, d.strides, d.dilates, d.pad_l, d.pad_r);
  return dnnl::convolution_forward::primitive_desc(desc, dnnl_cpu_engine());
}

}  // namespace mhub::engine::cpu
