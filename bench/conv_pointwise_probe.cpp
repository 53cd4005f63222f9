// Pointwise (1x1) convolutions between channels-last float32 values: oneDNN's brgconv_1x1 (its
// own choice) against its direct jit kernel, and the same product as a GEMM, on the 1x1 shapes of
// ResNet-50, MobileNetV2 / V3, GoogLeNet, DenseNet-121 and RegNetY-400MF (with the fused residual
// and the activation where the network has them), interleaved in one process. It is the evidence
// for pointwise_prefers_direct_jit (engine/cpu/dnnl_common.h), whose verdict it prints beside
// each row, and for keeping 1x1 Convs on oneDNN's convolution rather than a GEMM:
//   matmul: oneDNN's matmul primitive, X [P, IC] (the nhwc bytes, P = N*H*W) x W^T [IC, OC]
//           (ONNX's [OC, IC] read with strides {1, IC}, reordered once into the primitive's
//           layout) + bias [1, OC], the same sum / eltwise post-ops, Y [P, OC] (the nhwc bytes);
//   sgemm:  dnnl_sgemm on ONNX's weights (beta = 1 for the residual), then one threaded pass for
//           the bias and the activation (what the engine's epilogue would do).
// Every candidate writes the same Y in place (the sum rows add to what Y holds, as the engine's
// in-place residual does).
// Time is the process's CPU time (both threads), so that other work on the machine shows less
// than in wall time; OMP_WAIT_POLICY=PASSIVE (the run line below) keeps waiting threads from
// spinning that time away.
//
// Figures (2026-12-07, this machine's 2-core AMD EPYC, oneDNN 2.6.3, loaded machine: CPU-time
// hints, not wall-clock speed; two runs each of batch 8 x 20 rounds and batch 1 x 100 rounds):
// - oneDNN 2.6 runs the matmul on brg:avx512_core, the brgemm kernels brgconv_1x1 is built on,
//   and it took what brgconv_1x1 took: matmul / brgconv_1x1 0.93-1.08 on every shape but one at
//   batch 8 and 0.96-1.06 at batch 1 (single-run outliers of 1.2 on 0.07 ms nodes). The one:
//   MobileNetV2's 32 -> 16 at 112x112, batch 8, where the matmul took 6-9% less than both
//   convolution kernels in every run (0.70-0.81 ms against 0.74-0.89): below 10%, and about 0.1%
//   of that model. Where "mm/eng" reads 1.1-1.4 (batch 8, the narrow shapes the rule sends to
//   the direct kernel, e.g. ResNet-50's 64 -> 256 with the residual at 56x56: brgconv_1x1
//   6.8-7.1 ms, direct 6.1, matmul 7.1-7.2) or 0.87-0.92 (batch 1 at 112x112: 16 -> 96, 16 -> 64,
//   32 -> 48, where the direct kernel the rule picks took 7-15% more than brgconv_1x1) it is the
//   direct kernel against brgemm, not the matmul. (At batch 1 on larger images, 160x160 and
//   224x224 (a run with those shapes), the direct kernel was as fast or up to 44% faster again.)
// - sgemm + the epilogue pass took 1.1-4x the engine's choice (ResNet-50's shapes at batch 8
//   1.1-2x, the narrow ones at 112x112 and 56x56 up to 4x).
// So no class of shapes where a GEMM path would save >= 10%: 1x1 Convs stay convolutions.
// The residual's cost at batch 8 looks like memory traffic: ResNet-50's 64 -> 256 at 56x56 took
// 4.2-4.6 ms without the sum and 6.8-7.1 with it on brgconv_1x1 (4.1-4.3 and 6.1 on the direct
// kernel), while at batch 1 (the tensors in cache) the sum added 2-4% (0.48 -> 0.49-0.51 ms).
//
// Build and run (not part of ctest; the figures are only meaningful side by side):
//   ninja -C build mhub_conv_pointwise_probe
//   OMP_NUM_THREADS=2 OMP_WAIT_POLICY=PASSIVE build/engine/mhub_conv_pointwise_probe [batch] [rounds]
// Output: one row per shape ("act": r Relu, hs HardSwish, - none): CPU ms per run of each
// implementation (least over the rounds; 0 where oneDNN does not offer that kernel), the matmul's
// and sgemm's time over the convolution the engine runs (the rule's pick), which one the rule
// picks, and the matmul's oneDNN implementation.
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

enum class Act { none, relu, hard_swish };

struct Shape {
  const char* network;
  int ic, oc, hw;
  bool sum;  // the residual Add fused (sum post-op)
  Act act = Act::relu;
};

const Act N = Act::none, H = Act::hard_swish;
const std::vector<Shape> kShapes = {
    {"resnet50", 64, 64, 56, false}, {"resnet50", 64, 256, 56, false}, {"resnet50", 64, 256, 56, true},
    {"resnet50", 256, 64, 56, false}, {"resnet50", 256, 128, 56, false}, {"resnet50", 128, 512, 28, true},
    {"resnet50", 512, 128, 28, false}, {"resnet50", 256, 1024, 14, true}, {"resnet50", 1024, 256, 14, false},
    {"resnet50", 512, 2048, 7, true},
    {"mobilenet_v2", 32, 16, 112, false, N}, {"mobilenet_v2", 16, 96, 112, false},
    {"mobilenet_v2", 96, 24, 56, false, N}, {"mobilenet_v2", 24, 144, 56, false},
    {"mobilenet_v2", 144, 24, 56, false, N}, {"mobilenet_v2", 32, 192, 28, false},
    {"mobilenet_v2", 192, 32, 28, false, N}, {"mobilenet_v2", 64, 384, 14, false},
    {"mobilenet_v2", 384, 64, 14, false, N}, {"mobilenet_v2", 160, 960, 7, false},
    {"mobilenet_v2", 960, 160, 7, false, N},
    {"mobilenet_v3", 16, 64, 112, false}, {"mobilenet_v3", 72, 24, 56, false, N},
    {"mobilenet_v3", 40, 240, 28, false, H}, {"mobilenet_v3", 240, 80, 14, false, N},
    {"mobilenet_v3", 112, 672, 14, false, H}, {"mobilenet_v3", 160, 960, 7, false, H},
    {"googlenet", 64, 64, 56, false}, {"googlenet", 192, 64, 28, false}, {"googlenet", 256, 128, 28, false},
    {"googlenet", 480, 192, 14, false}, {"googlenet", 512, 160, 14, false}, {"googlenet", 832, 384, 7, false},
    {"densenet121", 128, 128, 56, false}, {"densenet121", 256, 128, 56, false, N},
    {"densenet121", 384, 128, 28, false}, {"densenet121", 512, 256, 28, false, N},
    {"densenet121", 768, 128, 14, false}, {"densenet121", 1024, 512, 14, false, N},
    {"densenet121", 768, 128, 7, false},
    {"regnet_y_400", 32, 48, 112, false}, {"regnet_y_400", 48, 48, 56, true}, {"regnet_y_400", 104, 104, 28, true},
    {"regnet_y_400", 208, 208, 14, true}, {"regnet_y_400", 440, 440, 7, true},
};

double cpu_ms() {
  timespec t;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
  return t.tv_sec * 1e3 + t.tv_nsec * 1e-6;
}

void append_act(dnnl::post_ops& post, Act act) {
  if (act == Act::relu) post.append_eltwise(1.0f, dnnl::algorithm::eltwise_relu, 0.0f, 0.0f);
  if (act == Act::hard_swish) post.append_eltwise(1.0f, dnnl::algorithm::eltwise_hardswish, 0.0f, 0.0f);
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
  dnnl::primitive prim;
  std::unordered_map<int, memory> args;
  double best = 1e30;
};

}  // namespace

int main(int argc, char** argv) {
  const int batch = argc > 1 ? std::atoi(argv[1]) : 8;
  const int rounds = argc > 2 ? std::atoi(argv[2]) : 10;
  dnnl::engine engine(dnnl::engine::kind::cpu, 0);
  dnnl::stream stream(engine);
  std::printf("%-13s %5s %5s %4s %3s %3s %9s %9s %9s %9s %6s %6s  %-11s %s\n", "network", "ic", "oc", "hw", "sum", "act",
              "brg1x1", "direct", "matmul", "sgemm", "mm/eng", "sg/eng", "rule", "matmul impl");
  for (const Shape& s : kShapes) {
    const memory::dim pixels = memory::dim(batch) * s.hw * s.hw;
    const memory::dims src{batch, s.ic, s.hw, s.hw}, weights{s.oc, s.ic, 1, 1}, bias{s.oc}, dst{batch, s.oc, s.hw, s.hw};
    const memory::desc src_md(src, memory::data_type::f32, memory::format_tag::nhwc);
    const memory::desc dst_md(dst, memory::data_type::f32, memory::format_tag::nhwc);
    const memory::desc w_any(weights, memory::data_type::f32, memory::format_tag::any);
    const memory::desc b_md(bias, memory::data_type::f32, memory::format_tag::a);
    dnnl::post_ops post;
    if (s.sum) post.append_sum(1.0f);
    append_act(post, s.act);
    dnnl::primitive_attr attr;
    attr.set_post_ops(post);
    attr.set_scratchpad_mode(dnnl::scratchpad_mode::user);
    // Every candidate reads X and the bias and writes Y in place (the sum rows add to what Y
    // holds, as the engine's in-place residual does): same bytes, same cache footprint.
    memory x(src_md, engine), y(dst_md, engine), b(b_md, engine);
    std::fill_n(static_cast<float*>(x.get_data_handle()), src_md.get_size() / sizeof(float), 0.5f);
    std::fill_n(static_cast<float*>(y.get_data_handle()), dst_md.get_size() / sizeof(float), 0.0f);
    std::fill_n(static_cast<float*>(b.get_data_handle()), s.oc, 0.0f);
    const dnnl::convolution_forward::desc desc(dnnl::prop_kind::forward_inference, dnnl::algorithm::convolution_direct,
                                               src_md, w_any, b_md, dst_md, {1, 1}, {0, 0}, {0, 0});
    dnnl::convolution_forward::primitive_desc pd(desc, attr, engine);
    std::vector<Candidate> candidates;
    int brg = -1, direct = -1;
    for (bool more = true; more; more = pd.next_impl()) {
      const std::string impl = pd.impl_info_str();
      const bool is_brg = impl.rfind("brgconv_1x1:", 0) == 0, is_direct = impl.rfind("jit:avx512", 0) == 0;
      if (!is_brg && !is_direct) continue;
      if ((is_brg && brg >= 0) || (is_direct && direct >= 0)) continue;
      (is_brg ? brg : direct) = static_cast<int>(candidates.size());
      memory w(pd.weights_desc(), engine), scratch(pd.scratchpad_desc(), engine);
      std::fill_n(static_cast<float*>(w.get_data_handle()), pd.weights_desc().get_size() / sizeof(float), 0.01f);
      candidates.push_back({impl, dnnl::convolution_forward(pd),
                            {{DNNL_ARG_SRC, x}, {DNNL_ARG_WEIGHTS, w}, {DNNL_ARG_BIAS, b}, {DNNL_ARG_DST, y},
                             {DNNL_ARG_SCRATCHPAD, scratch}}});
    }
    // The same product as a matmul: X [P, IC] (the nhwc bytes), W^T [IC, OC] (ONNX's [OC, IC]
    // read with strides {1, IC}, reordered once into the layout the primitive wants), bias
    // [1, OC], Y [P, OC] (the nhwc bytes), the same post-ops.
    const memory::desc mm_src({pixels, s.ic}, memory::data_type::f32, memory::format_tag::ab);
    const memory::desc mm_dst({pixels, s.oc}, memory::data_type::f32, memory::format_tag::ab);
    const memory::desc mm_w_any({s.ic, s.oc}, memory::data_type::f32, memory::format_tag::any);
    const memory::desc mm_b({1, s.oc}, memory::data_type::f32, memory::format_tag::ab);
    const dnnl::matmul::primitive_desc mm_pd(dnnl::matmul::desc(mm_src, mm_w_any, mm_b, mm_dst), attr, engine);
    {
      memory w(mm_pd.weights_desc(), engine), scratch(mm_pd.scratchpad_desc(), engine);
      std::fill_n(static_cast<float*>(w.get_data_handle()), mm_pd.weights_desc().get_size() / sizeof(float), 0.01f);
      memory xs(mm_src, engine, x.get_data_handle()), ys(mm_dst, engine, y.get_data_handle());
      memory bs(mm_b, engine, b.get_data_handle());
      candidates.push_back({mm_pd.impl_info_str(), dnnl::matmul(mm_pd),
                            {{DNNL_ARG_SRC, xs}, {DNNL_ARG_WEIGHTS, w}, {DNNL_ARG_BIAS, bs}, {DNNL_ARG_DST, ys},
                             {DNNL_ARG_SCRATCHPAD, scratch}}});
    }
    const size_t matmul = candidates.size() - 1;
    // dnnl_sgemm (row-major, W as ONNX stores it, transposed): beta = 1 for the residual rows,
    // then one threaded pass adding the bias and applying the activation (what the engine's
    // epilogue would do).
    std::vector<float> w_onnx(size_t(s.oc) * s.ic, 0.01f);
    double sgemm_best = 1e30;
    auto run_sgemm = [&] {
      float* yp = static_cast<float*>(y.get_data_handle());
      const float* xp = static_cast<const float*>(x.get_data_handle());
      const float* bp = static_cast<const float*>(b.get_data_handle());
      dnnl_sgemm('N', 'T', pixels, s.oc, s.ic, 1.0f, xp, s.ic, w_onnx.data(), s.ic, s.sum ? 1.0f : 0.0f, yp, s.oc);
      const Act act = s.act;
      const int oc = s.oc;
#pragma omp parallel for
      for (memory::dim p = 0; p < pixels; ++p) {
        float* row = yp + p * oc;
        for (int c = 0; c < oc; ++c) {
          float v = row[c] + bp[c];
          if (act == Act::relu) v = v > 0.0f ? v : 0.0f;
          if (act == Act::hard_swish) v = v * std::min(std::max(v + 3.0f, 0.0f), 6.0f) * (1.0f / 6.0f);
          row[c] = v;
        }
      }
    };
    for (int r = 0; r < rounds; ++r) {
      for (Candidate& c : candidates) {
        const double start = cpu_ms();
        c.prim.execute(stream, c.args);
        stream.wait();
        c.best = std::min(c.best, cpu_ms() - start);
      }
      const double start = cpu_ms();
      run_sgemm();
      sgemm_best = std::min(sgemm_best, cpu_ms() - start);
    }
    const bool picks_direct = rule_picks_direct(batch, s);
    auto shown = [&](int i) { return i >= 0 ? candidates[i].best : 0.0; };
    // The convolution the engine runs today: the rule's choice where oneDNN offers it, else
    // oneDNN's first choice among the two.
    const int engine_choice = picks_direct && direct >= 0 ? direct : brg >= 0 ? brg : direct;
    const double engine_ms = engine_choice >= 0 ? candidates[engine_choice].best : 1e30;
    std::string mm_impl = candidates[matmul].impl;
    if (mm_impl.size() > 24) mm_impl.resize(24);
    std::printf("%-13s %5d %5d %4d %3d %3s %9.3f %9.3f %9.3f %9.3f %6.2f %6.2f  %-11s %s\n", s.network, s.ic, s.oc, s.hw,
                s.sum, s.act == Act::relu ? "r" : s.act == Act::none ? "-" : "hs", shown(brg), shown(direct),
                candidates[matmul].best, sgemm_best, candidates[matmul].best / engine_ms, sgemm_best / engine_ms,
                picks_direct ? "direct" : "brgconv_1x1", mm_impl.c_str());
  }
  return 0;
}
