// Image preprocessing and augmentation on float images laid out [channels, height, width].
#pragma once

#include <cstdint>
#include <vector>

#include "engine/train/rng.h"

namespace mhub::train {

// Bilinear resize with half-pixel centres (align_corners=False, as torchvision/ONNX Resize).
std::vector<float> resize_bilinear(const std::vector<float>& image, int64_t channels, int64_t height, int64_t width,
                                   int64_t out_height, int64_t out_width);

struct Augmentation {
  int64_t crop_padding = 0;     // random crop of the original size from a zero-padded image
  bool horizontal_flip = false; // mirror with probability 1/2
  std::vector<float> mean, std; // per channel (one value applies to all); empty: no normalisation
};

// Applies `augmentation` in place to a [channels, height, width] image; random choices come from
// `rng` only, so the same rng state gives the same result.
void augment_image(std::vector<float>& image, int64_t channels, int64_t height, int64_t width,
                   const Augmentation& augmentation, Rng& rng);

// Fits a [C, H, W] image to the model's [C', H', W']: bilinear resize to H' x W', then a single
// channel is repeated C' times (greyscale into an RGB model). Throws mhub::Error (usage) for
// other channel changes.
std::vector<float> fit_image(const std::vector<float>& image, const std::vector<int64_t>& shape, const std::vector<int64_t>& wanted);

// Only the normalisation step (evaluation).
void normalize_image(std::vector<float>& image, int64_t channels, const std::vector<float>& mean,
                     const std::vector<float>& std);

}  // namespace mhub::train
