// Times oneDNN's float32 forward convolution on every Conv shape of a network with the
// activations in nhwc and in nChw16c (16 channels per block), interleaved in one process, and
// prints the implementation oneDNN picks for each. It answers one question: would a blocked
// hidden layout (docs/ARCHITECTURE.md, channels-last decision) make mhub's convolutions faster?
// Only the convolutions are timed: with a hidden layout chosen for the whole chain, neither
// side pays reorders between Convs.
//
// Build and run (not part of ctest; the figures are only meaningful side by side):
//   ninja -C build mhub_conv_layout_probe
//   OMP_NUM_THREADS=1 build/engine/mhub_conv_layout_probe [resnet50|googlenet] [batch] [rounds, 0: impls only]
// Output: one row per shape (count in the network, CPU ms per run in each layout as the median
// over the rounds, ratio, impl names) and the totals weighted by count.
#include <oneapi/dnnl/dnnl.hpp>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <string>
#include <vector>

namespace {

enum class PostOp { none, relu, sum_relu };

struct ConvShape {
    int count;  // how often the network runs this convolution
    int ic, oc, in_hw, kernel, stride, pad;
    PostOp post;
};

// torchvision resnet50 (v1.5: the stride on the 3x3), 224x224 input.
std::vector<ConvShape> resnet50_shapes() {
    return {
        {1, 3, 64, 224, 7, 2, 3, PostOp::relu},
        // layer1 @56
        {1, 64, 64, 56, 1, 1, 0, PostOp::relu},
        {3, 64, 64, 56, 3, 1, 1, PostOp::relu},
        {3, 64, 256, 56, 1, 1, 0, PostOp::sum_relu},
        {1, 64, 256, 56, 1, 1, 0, PostOp::none},
        {2, 256, 64, 56, 1, 1, 0, PostOp::relu},
        // layer2 @28
        {1, 256, 128, 56, 1, 1, 0, PostOp::relu},
        {1, 128, 128, 56, 3, 2, 1, PostOp::relu},
        {4, 128, 512, 28, 1, 1, 0, PostOp::sum_relu},
        {1, 256, 512, 56, 1, 2, 0, PostOp::none},
        {3, 512, 128, 28, 1, 1, 0, PostOp::relu},
        {3, 128, 128, 28, 3, 1, 1, PostOp::relu},
        // layer3 @14
        {1, 512, 256, 28, 1, 1, 0, PostOp::relu},
        {1, 256, 256, 28, 3, 2, 1, PostOp::relu},
        {6, 256, 1024, 14, 1, 1, 0, PostOp::sum_relu},
        {1, 512, 1024, 28, 1, 2, 0, PostOp::none},
        {5, 1024, 256, 14, 1, 1, 0, PostOp::relu},
        {5, 256, 256, 14, 3, 1, 1, PostOp::relu},
        // layer4 @7
        {1, 1024, 512, 14, 1, 1, 0, PostOp::relu},
        {1, 512, 512, 14, 3, 2, 1, PostOp::relu},
        {3, 512, 2048, 7, 1, 1, 0, PostOp::sum_relu},
        {1, 1024, 2048, 14, 1, 2, 0, PostOp::none},
        {2, 2048, 512, 7, 1, 1, 0, PostOp::relu},
        {2, 512, 512, 7, 3, 1, 1, PostOp::relu},
    };
}

// torchvision googlenet: the stem and representative inception branches (one 4b-like set of
// shapes counted for 4a..4e), every channel count a multiple of 16 so both layouts apply.
std::vector<ConvShape> googlenet_shapes() {
    return {
        {1, 3, 64, 224, 7, 2, 3, PostOp::relu},
        {1, 64, 64, 56, 1, 1, 0, PostOp::relu},
        {1, 64, 192, 56, 3, 1, 1, PostOp::relu},
        // inception 3a/3b @28
        {1, 192, 64, 28, 1, 1, 0, PostOp::relu},
        {1, 192, 96, 28, 1, 1, 0, PostOp::relu},
        {1, 96, 128, 28, 3, 1, 1, PostOp::relu},
        {1, 192, 16, 28, 1, 1, 0, PostOp::relu},
        {1, 16, 32, 28, 3, 1, 1, PostOp::relu},
        {1, 256, 128, 28, 1, 1, 0, PostOp::relu},
        {1, 128, 192, 28, 3, 1, 1, PostOp::relu},
        // inception 4a..4e @14 (4b-like shapes stand for the family)
        {5, 512, 160, 14, 1, 1, 0, PostOp::relu},
        {5, 112, 224, 14, 3, 1, 1, PostOp::relu},
        {5, 512, 64, 14, 1, 1, 0, PostOp::relu},
        // inception 5a/5b @7
        {2, 832, 256, 7, 1, 1, 0, PostOp::relu},
        {2, 160, 320, 7, 3, 1, 1, PostOp::relu},
    };
}

using dnnl::memory;
using Tag = memory::format_tag;

// How a residual (PostOp::sum_relu) reaches the convolution.
enum class Residual {
    sum_untimed,  // sum post-op on dst; filling dst with the residual is not timed
    sum_copied,   // sum post-op after copying the residual into dst (what conv_dnnl does)
    binary_add,   // binary add post-op reading the residual where it is: no copy
    sum_jit_1x1,  // as sum_copied, on oneDNN's jit_1x1 implementation where it has one
};

struct Case {
    dnnl::convolution_forward conv;
    std::string impl;
    memory src, weights, bias, dst, residual;
    Residual how = Residual::sum_untimed;
};

Case make_case(const dnnl::engine& eng, const ConvShape& s, int batch, Tag act_tag,
               Residual how = Residual::sum_untimed) {
    const int out_hw = (s.in_hw + 2 * s.pad - s.kernel) / s.stride + 1;
    const memory::dims src_dims{batch, s.ic, s.in_hw, s.in_hw};
    const memory::dims w_dims{s.oc, s.ic, s.kernel, s.kernel};
    const memory::dims dst_dims{batch, s.oc, out_hw, out_hw};
    // A 3-channel input is the graph's plain NCHW input (blocking 3 channels would pad them):
    // oneDNN's blocked kernel reads it as it is, while its nhwc kernel needs it reordered to nhwc
    // first (mhub does that; nchw in, nhwc out is a reference implementation), not timed here.
    const Tag src_tag = s.ic % 16 == 0 ? act_tag : act_tag == Tag::nhwc ? Tag::nhwc : Tag::nchw;
    const Tag dst_tag = s.oc % 16 == 0 ? act_tag : Tag::nhwc;
    const memory::desc src_md(src_dims, memory::data_type::f32, src_tag);
    const memory::desc w_md(w_dims, memory::data_type::f32, Tag::any);
    const memory::desc b_md({s.oc}, memory::data_type::f32, Tag::a);
    const memory::desc dst_md(dst_dims, memory::data_type::f32, dst_tag);
    dnnl::post_ops ops;
    const bool binary = s.post == PostOp::sum_relu && how == Residual::binary_add;
    if (s.post == PostOp::sum_relu) {
        if (binary)
            ops.append_binary(dnnl::algorithm::binary_add, dst_md);
        else
            ops.append_sum(1.f);
    }
    if (s.post != PostOp::none) ops.append_eltwise(1.f, dnnl::algorithm::eltwise_relu, 0.f, 0.f);
    dnnl::primitive_attr attr;
    attr.set_post_ops(ops);
    const dnnl::convolution_forward::desc desc(
        dnnl::prop_kind::forward_inference, dnnl::algorithm::convolution_direct, src_md, w_md, b_md,
        dst_md, {s.stride, s.stride}, {s.pad, s.pad}, {s.pad, s.pad});
    dnnl::convolution_forward::primitive_desc pd(desc, attr, eng);
    if (how == Residual::sum_jit_1x1)
        while (std::string(pd.impl_info_str()).find("jit_1x1") == std::string::npos && pd.next_impl()) {
        }
    Case c{dnnl::convolution_forward(pd), pd.impl_info_str(), memory(pd.src_desc(), eng),
           memory(pd.weights_desc(), eng), memory(b_md, eng), memory(pd.dst_desc(), eng),
           memory(pd.dst_desc(), eng), how};
    // Deterministic, finite, non-zero data.
    for (memory* m : {&c.src, &c.weights, &c.bias, &c.dst, &c.residual}) {
        auto* p = static_cast<float*>(m->get_data_handle());
        const size_t n = m->get_desc().get_size() / sizeof(float);
        for (size_t i = 0; i < n; ++i) p[i] = static_cast<float>((i * 2654435761u) % 1000) * 1e-3f - 0.5f;
    }
    return c;
}

// CPU time of the process, not wall time: on a loaded machine the wall clock mostly measures
// how long the scheduler kept the process waiting. With OMP_NUM_THREADS=1 this is the
// convolution's own time; with more threads it includes OpenMP's spin-waiting.
double cpu_ms() {
    timespec t{};
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
    return t.tv_sec * 1e3 + t.tv_nsec * 1e-6;
}

double time_ms(dnnl::stream& strm, Case& c, int iters) {
    const double start = cpu_ms();
    for (int i = 0; i < iters; ++i) {
        if (c.how == Residual::sum_copied || c.how == Residual::sum_jit_1x1)
            std::memcpy(c.dst.get_data_handle(), c.residual.get_data_handle(), c.dst.get_desc().get_size());
        c.conv.execute(strm, {{DNNL_ARG_SRC, c.src}, {DNNL_ARG_WEIGHTS, c.weights}, {DNNL_ARG_BIAS, c.bias},
                              {DNNL_ARG_DST, c.dst},
                              {DNNL_ARG_ATTR_MULTIPLE_POST_OP(0) | DNNL_ARG_SRC_1, c.residual}});
    }
    strm.wait();
    return (cpu_ms() - start) / iters;
}

double median(std::vector<double> v) {
    std::sort(v.begin(), v.end());
    return v[v.size() / 2];
}

}  // namespace

int main(int argc, char** argv) {
    const std::string net = argc > 1 ? argv[1] : "resnet50";
    const int batch = argc > 2 ? std::atoi(argv[2]) : 1;
    const int rounds = argc > 3 ? std::atoi(argv[3]) : 15;
    if (batch < 1 || batch > 64 || rounds < 0 || rounds > 1000 ||
        (net != "resnet50" && net != "googlenet" && net != "residual" && net != "residual_jit_1x1")) {
        std::fprintf(stderr, "usage: %s [resnet50|googlenet|residual|residual_jit_1x1] [batch 1..64] [rounds 0..1000 (0: implementations only)]\n", argv[0]);
        return 2;
    }
    // "residual": resnet50's residual convolutions, all nhwc, sum post-op after copying the
    // residual into dst (column A, oneDNN's choice of implementation) vs a binary add post-op
    // reading it in place (column B); "residual_jit_1x1": B is A on the jit_1x1 implementation.
    const bool jit_1x1 = net == "residual_jit_1x1";
    const bool residual = net == "residual" || jit_1x1;
    std::vector<ConvShape> shapes = net == "googlenet" ? googlenet_shapes() : resnet50_shapes();
    if (residual) std::erase_if(shapes, [](const ConvShape& s) { return s.post != PostOp::sum_relu; });
    dnnl::engine eng(dnnl::engine::kind::cpu, 0);
    dnnl::stream strm(eng);
    double total_plain = 0, total_blocked = 0;
    std::printf(residual ? "count ic oc hw k s | A_ms B_ms B/A | impl A | impl B\n"
                         : "count ic oc hw k s | nhwc_ms nChw16c_ms blocked/nhwc | impl nhwc | impl nChw16c\n");
    for (const ConvShape& s : shapes) {
        Case plain = make_case(eng, s, batch, Tag::nhwc, residual ? Residual::sum_copied : Residual::sum_untimed);
        Case blocked = residual ? make_case(eng, s, batch, Tag::nhwc, jit_1x1 ? Residual::sum_jit_1x1 : Residual::binary_add)
                                : make_case(eng, s, batch, Tag::nChw16c);
        if (rounds == 0) {
            std::printf("%d %d %d %d %d %d | - - - | %s | %s\n", s.count, s.ic, s.oc, s.in_hw, s.kernel, s.stride,
                        plain.impl.c_str(), blocked.impl.c_str());
            continue;
        }
        time_ms(strm, plain, 2);  // warm-up: JIT, page faults
        time_ms(strm, blocked, 2);
        std::vector<double> tp, tb;
        for (int r = 0; r < rounds; ++r) {  // interleaved, alternating which goes first
            if (r % 2 == 0) {
                tp.push_back(time_ms(strm, plain, 3));
                tb.push_back(time_ms(strm, blocked, 3));
            } else {
                tb.push_back(time_ms(strm, blocked, 3));
                tp.push_back(time_ms(strm, plain, 3));
            }
        }
        const double mp = median(tp), mb = median(tb);
        total_plain += s.count * mp;
        total_blocked += s.count * mb;
        std::printf("%d %d %d %d %d %d | %.3f %.3f %.3f | %s | %s\n", s.count, s.ic, s.oc, s.in_hw,
                    s.kernel, s.stride, mp, mb, mb / mp, plain.impl.c_str(), blocked.impl.c_str());
        std::fflush(stdout);
    }
    std::printf(residual ? "total (weighted by count): A %.2f ms, B %.2f ms, B/A %.3f\n"
                         : "total (weighted by count): nhwc %.2f ms, nChw16c %.2f ms, blocked/nhwc %.3f\n",
                total_plain, total_blocked, total_blocked / total_plain);
    return 0;
}
