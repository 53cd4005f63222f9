// What the oneDNN kernels (conv_dnnl, conv_dnnl_bf16, conv_grad_dnnl) share: the CPU engine, plain
// memory layouts, a node's attributes as a cache key, and a Conv's geometry in oneDNN's terms.
//
// Cache keys never use node addresses (a later session may put another node there); they use
// the node's attributes and the tensor shapes, plus a weights address only where the weights
// are a session constant (OpContext::input_is_constant) and the cache entry keeps them alive.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include <oneapi/dnnl/dnnl.hpp>

#include "engine/core/op_context.h"
#include "engine/ops/conv_geometry.h"
#include "engine/ops/fused_activation.h"

namespace mhub::engine::cpu {

// A thread's cache of per-plan state (memory objects, argument maps) keyed by plan id: the entry
// for `id` and whether it was just created (empty: the caller fills it). Above 1024 entries the
// cache is dropped first — those are plans of sessions long gone.
template <class Entry>
std::pair<Entry&, bool> thread_plan_entry(std::unordered_map<uint64_t, Entry>& cache, uint64_t id) {
  auto it = cache.find(id);
  if (it != cache.end()) return {it->second, false};
  if (cache.size() > 1024) cache.clear();
  return {cache[id], true};
}

dnnl::engine& dnnl_cpu_engine();

// ncw / nchw / ncdhw for a tensor of `rank` dims (3 to 5).
dnnl::memory::format_tag dnnl_plain_tag(size_t rank);
// oiw / oihw / oidhw, or goiw / goihw / goidhw for grouped weights.
dnnl::memory::format_tag dnnl_plain_weight_tag(size_t rank, bool grouped);

// Memory over the caller's `bytes` in the `plain` layout, or (when the primitive wants another
// layout) a new memory in `wanted` with those bytes reordered into it on `stream`.
dnnl::memory dnnl_in_layout(dnnl::stream& stream, const dnnl::memory::desc& plain, const dnnl::memory::desc& wanted,
                            const void* bytes);

// The fused activation as oneDNN eltwise post-ops (HardSigmoid as linear + clip; none appends nothing).
void dnnl_append_activation(dnnl::post_ops& post, const ops::FusedActivation& fused);

// "op;name=i,f,s,ints...;..." over every attribute of the node.
std::string dnnl_attribute_signature(const ir::Node& node);

// Steady-state plan caches key on a hash of (op, attributes, shapes, ...) built without strings
// or allocation, and compare the fields themselves on a hit (dnnl_same_attributes).
struct DnnlKeyHash {
  uint64_t h = 1469598103934665603ull;  // FNV-1a
  void bytes(const void* p, size_t n);
  template <typename T>
  void value(const T& v) { bytes(&v, sizeof v); }
  void dims(const std::vector<int64_t>& d);
  void node(const ir::Node& node);  // op type and every attribute's name, i, f, s, ints, floats
};
bool dnnl_same_attributes(const std::vector<ir::Attribute>& a, const std::vector<ir::Attribute>& b);

// A growable 64-byte aligned buffer a thread keeps for one purpose (reordered activations, a
// scratchpad): steady-state runs find it big enough and allocate nothing.
class DnnlBuffer {
 public:
  void* at_least(size_t bytes);

 private:
  struct Free {
    void operator()(char* p) const;
  };
  std::unique_ptr<char, Free> data_;
  size_t size_ = 0;
};

// The calling thread's stream on dnnl_cpu_engine() (CPU primitives run synchronously on it).
dnnl::stream& dnnl_thread_stream();

// A forward Conv X [N, C, in...] * W [M, C/group, k...] -> Y [N, M, out...] in oneDNN's terms:
// weights split into [group, M/group, C/group, k...] when grouped, dilations counted from 0.
struct DnnlConvDims {
  dnnl::memory::dims src, weights, dst, bias, strides, dilates, pad_l, pad_r;
  bool grouped = false;
};
DnnlConvDims dnnl_conv_dims(const std::vector<int64_t>& x, const std::vector<int64_t>& w, int64_t group,
                            const ops::ConvGeometry& g);

// Whether a pointwise convolution (1x1 kernel, stride 1, no padding or dilation, one group; 2-D)
// between channels-last float32 values should run on oneDNN's direct jit kernel rather than the
// brgconv_1x1 oneDNN picks: over many pixels (batch x height x width >= kDirectPointwiseMinPixels,
// e.g. two 56x56 images or eight 28x28) with a narrow side (<= 64 input channels or <= 32 output
// channels). bench/conv_pointwise_probe.cpp (this machine's Zen 5, CPU time of 2 threads) on
// ResNet-50's and MobileNetV2's 1x1 shapes: at batch 8 the direct kernel took 9-28% less on the
// shapes the rule picks (21% less on ResNet-50's 64 -> 256 with the fused residual at 56x56) and
// 2-21% more on the others (256 and more input channels, or 14x14 and smaller); at batch 1 (3136
// pixels at 56x56) brgconv_1x1 was the faster on most shapes.
inline constexpr int64_t kDirectPointwiseMinPixels = 6144;
bool pointwise_prefers_direct_jit(const DnnlConvDims& d);

// Whether a float32 3x3 convolution (stride 1, no dilation, one group; 2-D) should run on
// oneDNN's Winograd kernel (F(2x2, 3x3) or F(4x4, 3x3): fewer multiplies than the direct
// kernel, on blocked nChw16c data; AVX-512 CPUs) where oneDNN offers it for the post-ops: at
// least kWinogradMinChannels input and output channels over kWinogradMinPixels output pixels
// (batch x height x width), kWinogradWideChannels over any count of them, or
// kWinogradNarrowChannels over kWinogradNarrowMinPixels (a 56x56 image). Measured per node
// on the suite's 254 such Convs (mhub bench --profile, quiet 2-core Zen 5, reorders to and from
// nhwc included): with 64+ channels over 392+ pixels the Winograd kernel took 0.52-0.93 of the
// direct one's time (ResNet-50's 56x56 to 14x14 3x3s at batch 8 0.51-0.62, 7x7 at batch 8
// 0.77-0.84), with 256+ channels at 14x14 and 7x7, batch 1, 0.70-0.91 (ResNet-18 and -50,
// DeepLabV3's 960 -> 256: 0.99); narrower ones at 196 pixels or fewer went either way
// (GoogLeNet's 96 -> 208 at 14x14 1.69, 192 -> 384 at 7x7 1.71, 128 -> 256 0.88); 32-63
// channels over 3136+ pixels took 0.61-0.86 (DenseNet's 128 -> 32 at 56x56 and 28x28 x 8,
// UNet's 32 -> 64) but 1.04 once (32 -> 32 at 128x128 x 8) and more at fewer pixels; 3-16
// channel shapes took up to 8x as long.
bool winograd_preferred(const DnnlConvDims& d);
inline constexpr int64_t kWinogradMinChannels = 64;
inline constexpr int64_t kWinogradMinPixels = 392;
inline constexpr int64_t kWinogradWideChannels = 256;
inline constexpr int64_t kWinogradNarrowChannels = 32;
inline constexpr int64_t kWinogradNarrowMinPixels = 3136;

// A ConvTranspose X [N, C, in...] * W [C, M/group, k...] -> Y [N, M, out...] as a oneDNN
// deconvolution: weights [M, C, k...] or [group, M/group, C/group, k...] (ONNX's bytes, described
// by `weights_plain`'s strides), pad_r = pad_end - output_padding (callers check it is >= 0).
DnnlConvDims dnnl_deconv_dims(const std::vector<int64_t>& x, const std::vector<int64_t>& w, int64_t group,
                              const ops::ConvTransposeGeometry& g);
// ONNX's ConvTranspose weight bytes [C, M/group, k...] in the dims of dnnl_deconv_dims.
dnnl::memory::desc dnnl_deconv_weights_plain(const DnnlConvDims& d);

// A forward_training convolution primitive descriptor over `any` layouts of `type` (float32 or
// bfloat16; a bias in the same type): the hint the backward primitives need, and the forward's
// layout choices.
dnnl::convolution_forward::primitive_desc dnnl_conv_forward_hint(const DnnlConvDims& d, bool with_bias,
                                                                 dnnl::memory::data_type type = dnnl::memory::data_type::f32);

}  // namespace mhub::engine::cpu
