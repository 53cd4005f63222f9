// Pointwise (1x1) convolutions between channels-last float32 values: oneDNN's brgconv_1x1 (its
// own choice) against its direct jit kernel, on ResNet-50's and MobileNetV2's 1x1 shapes (with
// the fused residual where ResNet-50 has one), interleaved in one process. It is the evidence for
// pointwise_prefers_direct_jit (engine/cpu/dnnl_common.h), whose verdict it prints beside each row.
// Time is the process's CPU time (both threads), so that other work on the machine shows less
// than in wall time; OMP_WAIT_POLICY=PASSIVE (the run line below) keeps waiting threads from
// spinning that time away.
//
// Build and run (not part of ctest; the figures are only meaningful side by side):
//   ninja -C build mhub_conv_pointwise_probe
//   OMP_NUM_THREADS=2 OMP_WAIT_POLICY=PASSIVE build/engine/mhub_conv_pointwise_probe [batch] [rounds]
// Output: one row per shape: CPU ms per run of each implementation (least over the rounds), the
// direct kernel's time over brgconv_1x1's, and which one the rule picks.
#include <oneapi/dnnl/dnnl.hpp>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <string>
#include <unordered_map>
#include <vector>

#include "engine/cpu/dnnl_common.h"

namespace {

using dnnl::memory;

struct Shape {
  const char* network;
  int ic, oc, hw;
  bool sum;  // the residual Add fused (sum post-op)
};

const std::vector<Shape> kShapes = {
    {"resnet50", 64, 64, 56, false},    {"resnet50", 64, 256, 56, false},  {"resnet50", 64, 256, 56, true},
    {"resnet50", 256, 64, 56, false},   {"resnet50", 256, 128, 56, false}, {"resnet50", 128, 512, 28, true},
    {"resnet50", 512, 128, 28, false},  {"resnet50", 256, 1024, 14, true}, {"resnet50", 1024, 256, 14, false},
    {"resnet50", 512, 2048, 7, true},   {"mobilenet_v2", 32, 16, 112, false}, {"mobilenet_v2", 16, 96, 112, false},
    {"mobilenet_v2", 96, 24, 56, false}, {"mobilenet_v2", 24, 144, 56, false}, {"mobilenet_v2", 144, 24, 56, false},
    {"mobilenet_v2", 32, 192, 28, false}, {"mobilenet_v2", 192, 32, 28, false}, {"mobilenet_v2", 64, 384, 14, false},
    {"mobilenet_v2", 384, 64, 14, false}, {"mobilenet_v2", 160, 960, 7, false},  {"mobilenet_v2", 960, 160, 7, false},
};

double cpu_ms() {
  timespec t;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
  return t.tv_sec * 1e3 + t.tv_nsec * 1e-6;
}

// The engine's rule for this shape.
bool rule_picks_direct(int batch, const Shape& s) {
  mhub::engine::cpu::DnnlConvDims d;
  d.src = {batch, s.ic, s.hw, s.hw};
  d.weights = {s.oc, s.ic, 1, 1};
  d.dst = {batch, s.oc, s.hw, s.hw};
  d.bias = {s.oc};
  d.strides = {1, 1};
  d.dilates = {0, 0};
  d.pad_l = {0, 0};
  d.pad_r = {0, 0};
  return mhub::engine::cpu::pointwise_prefers_direct_jit(d);
}

struct Candidate {
  std::string impl;
  dnnl::convolution_forward conv;
  std::unordered_map<int, memory> args;
  double best = 1e30;
};

}  // namespace

int main(int argc, char** argv) {
  const int batch = argc > 1 ? std::atoi(argv[1]) : 8;
  const int rounds = argc > 2 ? std::atoi(argv[2]) : 10;
  dnnl::engine engine(dnnl::engine::kind::cpu, 0);
  dnnl::stream stream(engine);
  std::printf("%-13s %5s %5s %4s %4s %10s %10s %7s  rule\n", "network", "ic", "oc", "hw", "sum", "brg1x1 ms", "direct ms",
              "ratio");
  for (const Shape& s : kShapes) {
    const memory::dims src{batch, s.ic, s.hw, s.hw}, weights{s.oc, s.ic, 1, 1}, bias{s.oc}, dst{batch, s.oc, s.hw, s.hw};
    const memory::desc src_md(src, memory::data_type::f32, memory::format_tag::nhwc);
    const memory::desc dst_md(dst, memory::data_type::f32, memory::format_tag::nhwc);
    const memory::desc w_any(weights, memory::data_type::f32, memory::format_tag::any);
    const memory::desc b_md(bias, memory::data_type::f32, memory::format_tag::a);
    dnnl::post_ops post;
    if (s.sum) post.append_sum(1.0f);
    post.append_eltwise(1.0f, dnnl::algorithm::eltwise_relu, 0.0f, 0.0f);
    dnnl::primitive_attr attr;
    attr.set_post_ops(post);
    attr.set_scratchpad_mode(dnnl::scratchpad_mode::user);
    memory x(src_md, engine), y(dst_md, engine), b(b_md, engine);
    std::fill_n(static_cast<float*>(x.get_data_handle()), src_md.get_size() / sizeof(float), 0.5f);
    std::fill_n(static_cast<float*>(y.get_data_handle()), dst_md.get_size() / sizeof(float), 0.0f);
    std::fill_n(static_cast<float*>(b.get_data_handle()), s.oc, 0.0f);
    const dnnl::convolution_forward::desc desc(dnnl::prop_kind::forward_inference, dnnl::algorithm::convolution_direct,
                                               src_md, w_any, b_md, dst_md, {1, 1}, {0, 0}, {0, 0});
    dnnl::convolution_forward::primitive_desc pd(desc, attr, engine);
    std::vector<Candidate> candidates;
    for (bool more = true; more; more = pd.next_impl()) {
      const std::string impl = pd.impl_info_str();
      if (impl.rfind("brgconv_1x1:", 0) != 0 && impl.rfind("jit:avx512", 0) != 0) continue;
      memory w(pd.weights_desc(), engine), scratch(pd.scratchpad_desc(), engine);
      std::fill_n(static_cast<float*>(w.get_data_handle()), pd.weights_desc().get_size() / sizeof(float), 0.01f);
      candidates.push_back({impl, dnnl::convolution_forward(pd),
                            {{DNNL_ARG_SRC, x}, {DNNL_ARG_WEIGHTS, w}, {DNNL_ARG_BIAS, b}, {DNNL_ARG_DST, y},
                             {DNNL_ARG_SCRATCHPAD, scratch}}});
    }
    if (candidates.size() != 2) {
      std::printf("%-13s %5d %5d %4d %4d  (oneDNN offers %zu of the two kernels)\n", s.network, s.ic, s.oc, s.hw, s.sum,
                  candidates.size());
      continue;
    }
    for (int r = 0; r < rounds; ++r)
      for (Candidate& c : candidates) {
        const double start = cpu_ms();
        c.conv.execute(stream, c.args);
        stream.wait();
        c.best = std::min(c.best, cpu_ms() - start);
      }
    const Candidate& brg = candidates[0].impl.rfind("brgconv_1x1:", 0) == 0 ? candidates[0] : candidates[1];
    const Candidate& direct = &brg == &candidates[0] ? candidates[1] : candidates[0];
    std::printf("%-13s %5d %5d %4d %4d %10.3f %10.3f %7.2f  %s\n", s.network, s.ic, s.oc, s.hw, s.sum, brg.best,
                direct.best, direct.best / brg.best, rule_picks_direct(batch, s) ? "direct" : "brgconv_1x1");
  }
  return 0;
}
