// How well oneDNN's float32 convolutions of a batch-1 mobile network share their work between
// two OpenMP threads, implementation by implementation, measured in CPU time so that other work
// on the machine shows less than in wall time. For every Conv shape of the network (nhwc
// activations, as conv_dnnl runs them) and every implementation oneDNN offers for it
// (primitive_desc iteration), it runs the primitive on 1 thread and on 2, and reads each
// OpenMP thread's CPU clock around the runs (the team oneDNN runs on is the one `omp parallel`
// sees). With OMP_WAIT_POLICY=PASSIVE (set by the run line below) a waiting thread sleeps
// instead of spinning, so a thread's CPU time is its share of the work. Two figures per shape:
// balance = smaller share / larger share (1.00: oneDNN's split is even), and inflation = both
// shares / the 1-thread time (1.00: the second thread costs nothing extra; above 1 the two
// threads slow each other: shared caches, memory bandwidth, or two vCPUs on one physical core).
//
// Build and run (not part of ctest; figures are hints on a loaded machine, not speeds):
//   ninja -C build mhub_conv_threads_probe
//   OMP_WAIT_POLICY=PASSIVE build/engine/mhub_conv_threads_probe [mobilenet_v2|mobilenet_v3] [runs] [all|dw]
// Output: one row per shape (count in the network, 1-thread CPU ms, the two threads' shares,
// balance, inflation, implementation); "all" adds a row for each other implementation (but the
// reference ones); "dw" does that for the depthwise shapes only.
#include <oneapi/dnnl/dnnl.hpp>
#include <omp.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <string>
#include <unordered_map>
#include <vector>

namespace {

struct ConvShape {
  int ic, oc, hw, kernel, stride, group;  // square input hw, pads kernel / 2
  bool sum;                              // a residual Add fused (sum post-op)
  int count = 1;
};

// torchvision's inverted residual blocks: expand 1x1 (t != 1), depthwise kxk with the block's
// stride, project 1x1 (+ the residual when the shape is kept).
struct Block { int t, c, n, s, k; };
std::vector<ConvShape> inverted_residuals(int first_oc, const std::vector<Block>& blocks, int last_oc) {
  std::vector<ConvShape> shapes{{3, first_oc, 224, 3, 2, 1, false}};
  int c = first_oc, hw = 112;
  for (const Block& b : blocks)
    for (int i = 0; i < b.n; ++i) {
      const int stride = i == 0 ? b.s : 1, hidden = c * b.t;
      if (b.t != 1) shapes.push_back({c, hidden, hw, 1, 1, 1, false});
      shapes.push_back({hidden, hidden, hw, b.k, stride, hidden, false});
      hw /= stride;
      shapes.push_back({hidden, b.c, hw, 1, 1, 1, stride == 1 && c == b.c});
      c = b.c;
    }
  shapes.push_back({c, last_oc, hw, 1, 1, 1, false});
  // Same shapes run once each: count them.
  std::vector<ConvShape> merged;
  for (const ConvShape& s : shapes) {
    auto same = [&](const ConvShape& m) {
      return m.ic == s.ic && m.oc == s.oc && m.hw == s.hw && m.kernel == s.kernel && m.stride == s.stride && m.group == s.group && m.sum == s.sum;
    };
    auto it = std::find_if(merged.begin(), merged.end(), same);
    if (it != merged.end()) ++it->count;
    else merged.push_back(s);
  }
  return merged;
}

// mobilenet_v3_large's expansions are not multiples of the input (its SE blocks are not Convs here).
std::vector<ConvShape> mobilenet_v3_shapes() {
  struct V3 { int k, exp, out, stride; };
  const std::vector<V3> cfg = {{3, 16, 16, 1}, {3, 64, 24, 2}, {3, 72, 24, 1}, {5, 72, 40, 2}, {5, 120, 40, 1}, {5, 120, 40, 1},
                               {3, 240, 80, 2}, {3, 200, 80, 1}, {3, 184, 80, 1}, {3, 184, 80, 1}, {3, 480, 112, 1},
                               {3, 672, 112, 1}, {5, 672, 160, 2}, {5, 960, 160, 1}, {5, 960, 160, 1}};
  std::vector<ConvShape> shapes{{3, 16, 224, 3, 2, 1, false}};
  int c = 16, hw = 112;
  for (const V3& b : cfg) {
    if (b.exp != c) shapes.push_back({c, b.exp, hw, 1, 1, 1, false});
    shapes.push_back({b.exp, b.exp, hw, b.k, b.stride, b.exp, false});
    hw /= b.stride;
    shapes.push_back({b.exp, b.out, hw, 1, 1, 1, b.stride == 1 && c == b.out});
    c = b.out;
  }
  shapes.push_back({c, 960, hw, 1, 1, 1, false});
  return shapes;
}

double thread_cpu_ms() {
  timespec t;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
  return t.tv_sec * 1e3 + t.tv_nsec * 1e-6;
}

struct Timing { double one = 0, two_max = 0, two_min = 0; };

// CPU ms per run: on 1 thread, and the larger and smaller shares of 2 threads. oneDNN fixes a
// primitive's thread count when it is created (its kernels plan their split then): one
// primitive per count, made by `make` under that count.
template <class Make>
Timing time_primitive(const Make& make, const std::unordered_map<int, dnnl::memory>& args, dnnl::stream& stream, int runs) {
  Timing t;
  for (int threads : {1, 2}) {
    omp_set_num_threads(threads);
    const dnnl::convolution_forward conv = make();
    conv.execute(stream, args);  // warm-up (and the team's creation)
    stream.wait();
    double before[2] = {0, 0}, after[2] = {0, 0};
#pragma omp parallel num_threads(threads)
    before[omp_get_thread_num()] = thread_cpu_ms();
    for (int r = 0; r < runs; ++r) conv.execute(stream, args);
    stream.wait();
#pragma omp parallel num_threads(threads)
    after[omp_get_thread_num()] = thread_cpu_ms();
    if (threads == 1) {
      t.one = (after[0] - before[0]) / runs;
    } else {
      const double a = (after[0] - before[0]) / runs, b = (after[1] - before[1]) / runs;
      t.two_max = std::max(a, b);
      t.two_min = std::min(a, b);
    }
  }
  return t;
}

}  // namespace

int main(int argc, char** argv) {
  const std::string net = argc > 1 ? argv[1] : "mobilenet_v2";
  const int runs = argc > 2 ? std::atoi(argv[2]) : 50;
  const bool depthwise_only = argc > 3 && std::strcmp(argv[3], "dw") == 0;
  const bool all = depthwise_only || (argc > 3 && std::strcmp(argv[3], "all") == 0);
  std::vector<ConvShape> shapes;
  if (net == "mobilenet_v2")
    shapes = inverted_residuals(32, {{1, 16, 1, 1, 3}, {6, 24, 2, 2, 3}, {6, 32, 3, 2, 3}, {6, 64, 4, 2, 3}, {6, 96, 3, 1, 3}, {6, 160, 3, 2, 3}, {6, 320, 1, 1, 3}}, 1280);
  else if (net == "mobilenet_v3")
    shapes = mobilenet_v3_shapes();
  else {
    std::fprintf(stderr, "unknown network %s (mobilenet_v2, mobilenet_v3)\n", net.c_str());
    return 2;
  }
  using dnnl::memory;
  dnnl::engine eng(dnnl::engine::kind::cpu, 0);
  dnnl::stream stream(eng);
  std::printf("%-34s %5s %8s %8s %8s %7s %9s  %s\n", "shape (ic oc hw k stride group)", "count", "1T ms", "2T max", "2T min", "balance",
              "inflation", "implementation");
  double total_one = 0, total_max = 0, total_min = 0;
  for (const ConvShape& s : shapes) {
    if (depthwise_only && s.group == 1) continue;
    const int out_hw = (s.hw + 2 * (s.kernel / 2) - s.kernel) / s.stride + 1;
    const bool grouped = s.group > 1;
    memory::dims src{1, s.ic, s.hw, s.hw}, dst{1, s.oc, out_hw, out_hw}, bias{s.oc};
    memory::dims weights = grouped ? memory::dims{s.group, s.oc / s.group, s.ic / s.group, s.kernel, s.kernel}
                                   : memory::dims{s.oc, s.ic, s.kernel, s.kernel};
    const auto f32 = memory::data_type::f32;
    // The first conv reads the graph's NCHW input: conv_dnnl lets oneDNN choose there (any) and
    // reorders X; that reorder is not timed.
    memory::desc src_md(src, f32, s.ic == 3 ? memory::format_tag::any : memory::format_tag::nhwc);
    memory::desc dst_md(dst, f32, memory::format_tag::nhwc), w_md(weights, f32, memory::format_tag::any), b_md(bias, f32, memory::format_tag::a);
    const int pad = s.kernel / 2;
    dnnl::convolution_forward::desc desc(dnnl::prop_kind::forward_inference, dnnl::algorithm::convolution_direct, src_md, w_md, b_md,
                                         dst_md, {s.stride, s.stride}, {pad, pad}, {pad, pad});
    dnnl::post_ops post;
    if (s.sum) post.append_sum(1.0f);
    post.append_eltwise(1.0f, dnnl::algorithm::eltwise_clip, 0.0f, 6.0f);
    dnnl::primitive_attr attr;
    attr.set_post_ops(post);
    dnnl::convolution_forward::primitive_desc pd(desc, attr, eng);
    char label[64];
    std::snprintf(label, sizeof label, "%d %d %d %d %d %d%s", s.ic, s.oc, s.hw, s.kernel, s.stride, s.group, s.sum ? " +sum" : "");
    bool first = true;
    do {
      if (!first && std::string(pd.impl_info_str()).find("ref") != std::string::npos) continue;  // slow, never chosen
      memory src_m(pd.src_desc(), eng), dst_m(pd.dst_desc(), eng), w_m(pd.weights_desc(), eng), b_m(b_md, eng),
          scratch(pd.scratchpad_desc(), eng);
      for (memory* m : {&src_m, &dst_m, &w_m, &b_m})
        std::memset(m->get_data_handle(), 0, m->get_desc().get_size());
      std::unordered_map<int, memory> args{{DNNL_ARG_SRC, src_m}, {DNNL_ARG_WEIGHTS, w_m}, {DNNL_ARG_BIAS, b_m}, {DNNL_ARG_DST, dst_m}, {DNNL_ARG_SCRATCHPAD, scratch}};
      const Timing t = time_primitive([&] { return dnnl::convolution_forward(pd); }, args, stream, runs);
      std::printf("%-34s %5d %8.4f %8.4f %8.4f %7.2f %9.2f  %s\n", first ? label : "", s.count, t.one, t.two_max, t.two_min,
                  t.two_max > 0 ? t.two_min / t.two_max : 0.0, t.one > 0 ? (t.two_max + t.two_min) / t.one : 0.0, pd.impl_info_str());
      if (first) {
        total_one += s.count * t.one;
        total_max += s.count * t.two_max;
        total_min += s.count * t.two_min;
      }
      first = false;
    } while (all && pd.next_impl());
  }
  std::printf("total (oneDNN's first choice, weighted by count): 1T %.3f ms, 2T shares %.3f / %.3f ms, balance %.2f, inflation %.2f\n",
              total_one, total_max, total_min, total_max > 0 ? total_min / total_max : 0.0,
              total_one > 0 ? (total_max + total_min) / total_one : 0.0);
  return 0;
}
