// Training and evaluation data: a Dataset hands out examples by index, each a float input of a
// fixed shape plus a class label (classification) or a float target (regression).
//
// open_dataset(spec, split) understands
//   DIR with the four IDX files (train-/t10k-images-idx3-ubyte, -labels-idx1-ubyte, .gz or not):
//       Fashion-MNIST / MNIST layout; pixels scaled to [0, 1], shape [1, rows, cols]
//   DIR with inputs.npy + labels.npy (or X.npy + y.npy), or DIR/<split>/ holding them
//   FILE.npy,LABELS.npy                       an explicit .npy pair
//   FILE.csv                                  numeric CSV, last column the label (header optional)
//   DIR of class folders of PNG/JPEG images   (or DIR/train + DIR/val|test of them); images are
//       decoded as RGB [3, H, W] in [0, 1] and resized to image_size (default: the first image's)
// `split` is "train" or "test"; for sources without a test part, "test" reads the same data.
// Errors: mhub::Error (io / format / usage) naming the file and what to do.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace mhub::train {

struct Example {
  std::vector<float> input;   // example_shape() elements, row-major
  int64_t label = -1;         // class id, or -1 for regression data
  std::vector<float> target;  // regression target (empty for class labels)
};

class Dataset {
 public:
  virtual ~Dataset() = default;
  virtual size_t size() const = 0;
  virtual std::vector<int64_t> example_shape() const = 0;
  // Number of classes (max label + 1), or 0 for regression data.
  virtual int64_t num_classes() const = 0;
  // Thread-safe: the loader thread calls it while the trainer runs.
  virtual Example get(size_t index) const = 0;
  virtual std::string describe() const = 0;
  // True when inputs are image pixels scaled from 8 bits to [0, 1] (IDX files, u8 .npy, image
  // folders): the data a model's catalogue mean/std normalisation is meant for. Float .npy and
  // CSV data are taken as already prepared.
  virtual bool scaled_pixels() const { return false; }
};

// Holds every example in memory; u8 inputs are stored as bytes and scaled by 1/255 on get().
class InMemoryDataset : public Dataset {
 public:
  InMemoryDataset(std::string description, std::vector<int64_t> shape, std::vector<uint8_t> u8_inputs,
                  std::vector<float> f32_inputs, std::vector<int64_t> labels, std::vector<float> targets,
                  size_t target_width);
  size_t size() const override { return count_; }
  std::vector<int64_t> example_shape() const override { return shape_; }
  int64_t num_classes() const override { return classes_; }
  Example get(size_t index) const override;
  std::string describe() const override { return description_; }
  bool scaled_pixels() const override { return !u8_.empty(); }

 private:
  std::string description_;
  std::vector<int64_t> shape_;
  size_t per_example_ = 0, count_ = 0, target_width_ = 0;
  std::vector<uint8_t> u8_;
  std::vector<float> f32_;
  std::vector<int64_t> labels_;
  std::vector<float> targets_;
  int64_t classes_ = 0;
};

struct OpenOptions {
  int64_t image_height = 0, image_width = 0;  // 0: take the first image's size
};

std::unique_ptr<Dataset> open_dataset(const std::string& spec, const std::string& split, const OpenOptions& options = {});

// Readers behind open_dataset, usable on their own.
std::unique_ptr<Dataset> open_idx_pair(const std::string& images_path, const std::string& labels_path);
std::unique_ptr<Dataset> open_npy_pair(const std::string& inputs_path, const std::string& labels_path);
std::unique_ptr<Dataset> open_csv(const std::string& path);
std::unique_ptr<Dataset> open_image_folder(const std::string& dir, const OpenOptions& options);

// A whole file, gunzipped when its name ends in .gz (zlib). Throws mhub::Error (io / format).
std::string read_maybe_gzipped(const std::string& path);

}  // namespace mhub::train
