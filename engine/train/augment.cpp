#include "engine/train/augment.h"

#include <algorithm>
#include <cmath>

#include "common/error.h"

namespace mhub::train {

std::vector<float> resize_bilinear(const std::vector<float>& image, int64_t channels, int64_t height, int64_t width,
                                   int64_t out_height, int64_t out_width) {
  std::vector<float> out(static_cast<size_t>(channels * out_height * out_width));
  const double scale_y = static_cast<double>(height) / static_cast<double>(out_height);
  const double scale_x = static_cast<double>(width) / static_cast<double>(out_width);
  for (int64_t oy = 0; oy < out_height; ++oy) {
    const double sy = std::clamp((oy + 0.5) * scale_y - 0.5, 0.0, static_cast<double>(height - 1));
    const int64_t y0 = static_cast<int64_t>(sy), y1 = std::min(y0 + 1, height - 1);
    const double fy = sy - static_cast<double>(y0);
    for (int64_t ox = 0; ox < out_width; ++ox) {
      const double sx = std::clamp((ox + 0.5) * scale_x - 0.5, 0.0, static_cast<double>(width - 1));
      const int64_t x0 = static_cast<int64_t>(sx), x1 = std::min(x0 + 1, width - 1);
      const double fx = sx - static_cast<double>(x0);
      for (int64_t c = 0; c < channels; ++c) {
        const float* p = image.data() + c * height * width;
        const double top = p[y0 * width + x0] * (1 - fx) + p[y0 * width + x1] * fx;
        const double bottom = p[y1 * width + x0] * (1 - fx) + p[y1 * width + x1] * fx;
        out[static_cast<size_t>((c * out_height + oy) * out_width + ox)] = static_cast<float>(top * (1 - fy) + bottom * fy);
      }
    }
  }
  return out;
}

std::vector<float> fit_image(const std::vector<float>& image, const std::vector<int64_t>& shape, const std::vector<int64_t>& wanted) {
  if (shape == wanted) return image;
  if (shape.size() != 3 || wanted.size() != 3 || (shape[0] != wanted[0] && shape[0] != 1))
    throw Error(ErrorCategory::usage, "the data's images have " + std::to_string(shape.empty() ? 0 : shape[0]) +
                                          " channel(s) and the model wants " + std::to_string(wanted.empty() ? 0 : wanted[0]) +
                                          "; only greyscale can be repeated into more channels");
  std::vector<float> resized = shape[1] == wanted[1] && shape[2] == wanted[2]
                                   ? image
                                   : resize_bilinear(image, shape[0], shape[1], shape[2], wanted[1], wanted[2]);
  if (shape[0] == wanted[0]) return resized;
  std::vector<float> out;
  out.reserve(resized.size() * static_cast<size_t>(wanted[0]));
  for (int64_t c = 0; c < wanted[0]; ++c) out.insert(out.end(), resized.begin(), resized.end());
  return out;
}

void normalize_image(std::vector<float>& image, int64_t channels, const std::vector<float>& mean, const std::vector<float>& std) {
  if (mean.empty()) return;
  if ((mean.size() != 1 && mean.size() != static_cast<size_t>(channels)) || mean.size() != std.size())
    throw Error(ErrorCategory::usage, "normalisation needs one mean/std value or one per channel (" + std::to_string(channels) + ")");
  const size_t plane = image.size() / static_cast<size_t>(channels);
  for (int64_t c = 0; c < channels; ++c) {
    const float m = mean.size() == 1 ? mean[0] : mean[c], s = std.size() == 1 ? std[0] : std[c];
    for (size_t i = 0; i < plane; ++i) image[c * plane + i] = (image[c * plane + i] - m) / s;
  }
}

void augment_image(std::vector<float>& image, int64_t channels, int64_t height, int64_t width,
                   const Augmentation& augmentation, Rng& rng) {
  if (augmentation.crop_padding > 0) {
    const int64_t pad = augmentation.crop_padding;
    const int64_t dy = static_cast<int64_t>(rng.below(static_cast<uint64_t>(2 * pad + 1))) - pad;
    const int64_t dx = static_cast<int64_t>(rng.below(static_cast<uint64_t>(2 * pad + 1))) - pad;
    std::vector<float> shifted(image.size(), 0.0f);
    for (int64_t c = 0; c < channels; ++c)
      for (int64_t y = 0; y < height; ++y) {
        const int64_t sy = y + dy;
        if (sy < 0 || sy >= height) continue;
        for (int64_t x = 0; x < width; ++x) {
          const int64_t sx = x + dx;
          if (sx >= 0 && sx < width) shifted[(c * height + y) * width + x] = image[(c * height + sy) * width + sx];
        }
      }
    image.swap(shifted);
  }
  if (augmentation.horizontal_flip && rng.coin())
    for (int64_t row = 0; row < channels * height; ++row) std::reverse(image.begin() + row * width, image.begin() + (row + 1) * width);
  normalize_image(image, channels, augmentation.mean, augmentation.std);
}

}  // namespace mhub::train
