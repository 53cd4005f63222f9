// Signal ops: DFT (opset 17 axis attribute, opset 20 axis input), STFT, Hann/Hamming/Blackman
// windows and MelWeightMatrix. Transforms are direct O(n^2) sums in double: exact enough for
// the suite's tolerances and simple to check; no FFT library is needed for these sizes.
#include <cmath>
#include <complex>

#include "common/error.h"
#include "engine/cpu/cpu_kernels.h"
#include "engine/cpu/scalar_access.h"

namespace mhub::engine::cpu {

namespace {

constexpr double kPi = 3.14159265358979323846;
using Complex = std::complex<double>;

// Direct DFT of `in` (length n after zero-padding/truncation by the caller), `bins` outputs.
void dft_1d(const std::vector<Complex>& in, size_t bins, bool inverse, std::vector<Complex>& out) {
  size_t n = in.size();
  out.assign(bins, Complex(0, 0));
  double sign = inverse ? 1.0 : -1.0;
  for (size_t k = 0; k < bins; ++k) {
    Complex acc(0, 0);
    for (size_t t = 0; t < n; ++t) {
      double angle = sign * 2.0 * kPi * static_cast<double>((k * t) % n) / static_cast<double>(n);
      acc += in[t] * Complex(std::cos(angle), std::sin(angle));
    }
    out[k] = inverse ? acc / static_cast<double>(n) : acc;
  }
}

void dft(OpContext& ctx) {
  const ir::Tensor& x = ctx.input(0);
  int64_t rank = static_cast<int64_t>(x.dims.size());
  if (rank < 2 || (x.dims.back() != 1 && x.dims.back() != 2))
    throw_error(ErrorCategory::format, ctx.describe() + ": signal must be [..., N, 1] (real) or [..., N, 2] (complex)");
  int64_t axis;
  if (ctx.opset() >= 20) axis = ctx.has_input(2) ? load_int64(ctx.input(2), 0) : -2;
  else axis = ctx.node().attr_int("axis", 1);
  if (axis < 0) axis += rank;
  if (axis < 0 || axis >= rank - 1)
    throw_error(ErrorCategory::format, ctx.describe() + ": axis must name a signal axis, not the last (real/imag) one");
  bool inverse = ctx.node().attr_int("inverse", 0) != 0;
  bool onesided = ctx.node().attr_int("onesided", 0) != 0;
  int64_t in_len = x.dims[axis];
  // Inverse one-sided (irfft): the input holds bins 0..n/2 of a Hermitian spectrum and the
  // output is the real signal of length n.
  bool half_input = inverse && onesided;
  int64_t n = ctx.has_input(1) ? load_int64(ctx.input(1), 0) : (half_input ? 2 * (in_len - 1) : in_len);
  if (n <= 0) throw_error(ErrorCategory::format, ctx.describe() + ": dft_length must be positive");
  bool complex_in = x.dims.back() == 2;
  int64_t bins = onesided && !inverse ? n / 2 + 1 : n;
  std::vector<int64_t> out_dims = x.dims;
  out_dims[axis] = bins;
  out_dims.back() = half_input ? 1 : 2;
  int64_t out_comps = out_dims.back();
  ir::Tensor& y = ctx.allocate_output(0, x.dtype, out_dims);
  uint64_t outer = 1, inner = 1;
  for (int64_t d = 0; d < axis; ++d) outer *= static_cast<uint64_t>(x.dims[d]);
  for (int64_t d = axis + 1; d < rank - 1; ++d) inner *= static_cast<uint64_t>(x.dims[d]);
  uint64_t comps = static_cast<uint64_t>(x.dims.back());
  std::vector<Complex> signal(static_cast<size_t>(n)), spectrum;
  for (uint64_t o = 0; o < outer; ++o)
    for (uint64_t i = 0; i < inner; ++i) {
      auto sample = [&](int64_t t) {
        uint64_t at = ((o * static_cast<uint64_t>(in_len) + static_cast<uint64_t>(t)) * inner + i) * comps;
        return Complex(load_as_double(x, at), complex_in ? load_as_double(x, at + 1) : 0.0);
      };
      for (int64_t t = 0; t < n; ++t) {
        if (half_input && t >= in_len) signal[t] = std::conj(n - t < in_len ? sample(n - t) : Complex(0, 0));
        else signal[t] = t < in_len ? sample(t) : Complex(0, 0);
      }
      dft_1d(signal, static_cast<size_t>(bins), inverse, spectrum);
      for (int64_t k = 0; k < bins; ++k) {
        uint64_t at = ((o * static_cast<uint64_t>(bins) + static_cast<uint64_t>(k)) * inner + i) * static_cast<uint64_t>(out_comps);
        store_from_double(y, at, spectrum[k].real());
        if (out_comps == 2) store_from_double(y, at + 1, spectrum[k].imag());
      }
    }
}

// signal [batch, length, 1|2], frame_step, window?, frame_length? -> [batch, frames, bins, 2]
void stft(OpContext& ctx) {
  const ir::Tensor& x = ctx.input(0);
  if (x.dims.size() != 3) throw_error(ErrorCategory::format, ctx.describe() + ": signal must be [batch, length, 1|2]");
  int64_t step = load_int64(ctx.input(1), 0);
  const ir::Tensor* window = ctx.has_input(2) ? &ctx.input(2) : nullptr;
  int64_t frame_length = ctx.has_input(3) ? load_int64(ctx.input(3), 0) : (window ? window->dims.at(0) : 0);
  if (frame_length <= 0 || step <= 0)
    throw_error(ErrorCategory::format, ctx.describe() + ": frame_length (or a window) and a positive frame_step are needed");
  bool onesided = ctx.node().attr_int("onesided", 1) != 0;
  int64_t batch = x.dims[0], length = x.dims[1], comps = x.dims[2];
  if (length < frame_length) throw_error(ErrorCategory::format, ctx.describe() + ": signal is shorter than one frame");
  int64_t frames = 1 + (length - frame_length) / step;
  int64_t bins = onesided ? frame_length / 2 + 1 : frame_length;
  ir::Tensor& y = ctx.allocate_output(0, x.dtype, {batch, frames, bins, 2});
  std::vector<Complex> frame(static_cast<size_t>(frame_length)), spectrum;
  for (int64_t b = 0; b < batch; ++b)
    for (int64_t f = 0; f < frames; ++f) {
      for (int64_t t = 0; t < frame_length; ++t) {
        uint64_t at = static_cast<uint64_t>(((b * length) + f * step + t) * comps);
        double w = window ? load_as_double(*window, static_cast<uint64_t>(t)) : 1.0;
        frame[t] = Complex(load_as_double(x, at), comps == 2 ? load_as_double(x, at + 1) : 0.0) * w;
      }
      dft_1d(frame, static_cast<size_t>(bins), false, spectrum);
      for (int64_t k = 0; k < bins; ++k) {
        uint64_t at = static_cast<uint64_t>(((b * frames + f) * bins + k) * 2);
        store_from_double(y, at, spectrum[k].real());
        store_from_double(y, at + 1, spectrum[k].imag());
      }
    }
}

enum class Window { hann, hamming, blackman };

template <Window W>
void window_op(OpContext& ctx) {
  int64_t size = load_int64(ctx.input(0), 0);
  if (size < 0) throw_error(ErrorCategory::format, ctx.describe() + ": size must not be negative");
  auto dtype = static_cast<ir::DataType>(ctx.node().attr_int("output_datatype", 1));
  bool periodic = ctx.node().attr_int("periodic", 1) != 0;
  ir::Tensor& y = ctx.allocate_output(0, dtype, {size});
  double denominator = static_cast<double>(periodic ? size : size - 1);
  for (int64_t n = 0; n < size; ++n) {
    double phase = 2.0 * kPi * static_cast<double>(n) / denominator;
    double v;
    if (W == Window::hann) v = 0.5 - 0.5 * std::cos(phase);
    else if (W == Window::hamming) v = 25.0 / 46.0 - (21.0 / 46.0) * std::cos(phase);
    else v = 0.42 - 0.5 * std::cos(phase) + 0.08 * std::cos(2.0 * phase);
    store_from_double(y, static_cast<uint64_t>(n), v);
  }
}

// Triangular mel filters on the HTK mel scale, laid out [dft_length/2 + 1, num_mel_bins]; the
// filter edges are whole spectrogram bins, as the ONNX definition computes them.
void mel_weight_matrix(OpContext& ctx) {
  int64_t mel_bins = load_int64(ctx.input(0), 0);
  int64_t dft_length = load_int64(ctx.input(1), 0);
  int64_t sample_rate = load_int64(ctx.input(2), 0);
  double lower = load_as_double(ctx.input(3), 0), upper = load_as_double(ctx.input(4), 0);
  if (mel_bins <= 0 || dft_length <= 0 || sample_rate <= 0)
    throw_error(ErrorCategory::format, ctx.describe() + ": num_mel_bins, dft_length and sample_rate must be positive");
  auto dtype = static_cast<ir::DataType>(ctx.node().attr_int("output_datatype", 1));
  int64_t spectrogram_bins = dft_length / 2 + 1;
  auto to_mel = [](double hz) { return 2595.0 * std::log10(1.0 + hz / 700.0); };
  double low_mel = to_mel(lower), high_mel = to_mel(upper);
  double step = (high_mel - low_mel) / static_cast<double>(mel_bins + 2);
  std::vector<int64_t> edges(static_cast<size_t>(mel_bins + 2));
  for (int64_t i = 0; i < mel_bins + 2; ++i) {
    double hz = 700.0 * (std::pow(10.0, (static_cast<double>(i) * step + low_mel) / 2595.0) - 1.0);
    edges[i] = static_cast<int64_t>(std::floor(static_cast<double>(dft_length + 1) * hz / static_cast<double>(sample_rate)));
  }
  ir::Tensor& y = ctx.allocate_output(0, dtype, {spectrogram_bins, mel_bins});
  std::vector<double> w(static_cast<size_t>(spectrogram_bins * mel_bins), 0.0);
  auto at = [&](int64_t bin, int64_t mel) -> double& {
    if (bin < 0 || bin >= spectrogram_bins)
      throw_error(ErrorCategory::format, ctx.describe() + ": upper_edge_hertz lies above the Nyquist frequency");
    return w[static_cast<size_t>(bin * mel_bins + mel)];
  };
  for (int64_t m = 0; m < mel_bins; ++m) {
    int64_t left = edges[m], center = edges[m + 1], right = edges[m + 2];
    if (center == left) at(center, m) = 1.0;
    else
      for (int64_t j = left; j <= center; ++j) at(j, m) = static_cast<double>(j - left) / static_cast<double>(center - left);
    if (right > center)
      for (int64_t j = center; j < right; ++j) at(j, m) = static_cast<double>(right - j) / static_cast<double>(right - center);
  }
  for (size_t i = 0; i < w.size(); ++i) store_from_double(y, i, w[i]);
}

}  // namespace

void add_signal_kernels(std::vector<KernelDef>& table) {
  using O = ir::OpKind;
  auto ref = KernelKind::reference;
  table.push_back({O::DFT, ref, dft, nullptr});
  table.push_back({O::STFT, ref, stft, nullptr});
  table.push_back({O::HannWindow, ref, window_op<Window::hann>, nullptr});
  table.push_back({O::HammingWindow, ref, window_op<Window::hamming>, nullptr});
  table.push_back({O::BlackmanWindow, ref, window_op<Window::blackman>, nullptr});
  table.push_back({O::MelWeightMatrix, ref, mel_weight_matrix, nullptr});
}

}  // namespace mhub::engine::cpu
