// Image-folder datasets: DIR/<class name>/<image>.png|.jpg|.jpeg, classes numbered in sorted
// name order. Images are decoded on demand (on the loader thread) with libpng / libjpeg.
#include <cstddef>
#include <cstdio>
// jpeglib.h needs size_t and FILE declared before it.
#include <jpeglib.h>
#include <png.h>

#include <algorithm>
#include <csetjmp>
#include <filesystem>

#include "common/atomic_file.h"
#include "common/error.h"
#include "engine/train/augment.h"
#include "engine/train/dataset.h"

namespace mhub::train {
namespace fs = std::filesystem;
namespace {

struct DecodedImage {
  int64_t height = 0, width = 0;
  std::vector<uint8_t> rgb;  // interleaved RGB rows
};

DecodedImage decode_png(const std::string& bytes, const std::string& path) {
  png_image image{};
  image.version = PNG_IMAGE_VERSION;
  if (!png_image_begin_read_from_memory(&image, bytes.data(), bytes.size()))
    throw Error(ErrorCategory::format, path + ": not a readable PNG (" + image.message + ")");
  image.format = PNG_FORMAT_RGB;
  DecodedImage out;
  out.height = image.height;
  out.width = image.width;
  out.rgb.resize(PNG_IMAGE_SIZE(image));
  if (!png_image_finish_read(&image, nullptr, out.rgb.data(), 0, nullptr)) {
    png_image_free(&image);
    throw Error(ErrorCategory::format, path + ": corrupt PNG (" + image.message + ")");
  }
  return out;
}

struct JpegError {
  jpeg_error_mgr manager;
  std::jmp_buf jump;
  char message[JMSG_LENGTH_MAX];
};

// Library code never prints: libjpeg's warnings (e.g. "Premature end of JPEG file") are dropped;
// real errors still reach on_jpeg_error.
void ignore_jpeg_message(j_common_ptr) {}

void on_jpeg_error(j_common_ptr info) {
  auto* error = reinterpret_cast<JpegError*>(info->err);
  info->err->format_message(info, error->message);
  std::longjmp(error->jump, 1);
}

// libjpeg reports errors by longjmp back into this frame, so this frame holds no object with a
// destructor: the image goes into the caller's `out`.
void decode_jpeg_into(const std::string& bytes, const std::string& path, DecodedImage& out) {
  jpeg_decompress_struct info{};
  JpegError error{};
  info.err = jpeg_std_error(&error.manager);
  error.manager.error_exit = on_jpeg_error;
  error.manager.output_message = ignore_jpeg_message;
  if (setjmp(error.jump)) {
    jpeg_destroy_decompress(&info);
    throw Error(ErrorCategory::format, path + ": corrupt JPEG (" + std::string(error.message) + ")");
  }
  jpeg_create_decompress(&info);
  jpeg_mem_src(&info, reinterpret_cast<const unsigned char*>(bytes.data()), bytes.size());
  jpeg_read_header(&info, TRUE);
  info.out_color_space = JCS_RGB;
  jpeg_start_decompress(&info);
  out.height = info.output_height;
  out.width = info.output_width;
  out.rgb.resize(static_cast<size_t>(out.height * out.width * 3));
  while (info.output_scanline < info.output_height) {
    unsigned char* row = out.rgb.data() + static_cast<size_t>(info.output_scanline) * out.width * 3;
    jpeg_read_scanlines(&info, &row, 1);
  }
  jpeg_finish_decompress(&info);
  jpeg_destroy_decompress(&info);
}

DecodedImage decode_jpeg(const std::string& bytes, const std::string& path) {
  DecodedImage out;
  decode_jpeg_into(bytes, path, out);
  return out;
}

DecodedImage decode_image(const std::string& path) {
  const std::string bytes = read_whole_file(path);
  if (bytes.size() >= 8 && bytes.compare(0, 8, "\x89PNG\r\n\x1a\n") == 0) return decode_png(bytes, path);
  if (bytes.size() >= 3 && static_cast<uint8_t>(bytes[0]) == 0xFF && static_cast<uint8_t>(bytes[1]) == 0xD8)
    return decode_jpeg(bytes, path);
  throw Error(ErrorCategory::format, path + ": neither PNG nor JPEG; image folders hold .png/.jpg files only");
}

bool is_image_name(const fs::path& p) {
  std::string ext = p.extension().string();
  std::transform(ext.begin(), ext.end(), ext.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return ext == ".png" || ext == ".jpg" || ext == ".jpeg";
}

class ImageFolderDataset : public Dataset {
 public:
  ImageFolderDataset(std::string dir, std::vector<std::pair<std::string, int64_t>> files, int64_t classes, int64_t height,
                     int64_t width)
      : dir_(std::move(dir)), files_(std::move(files)), classes_(classes), height_(height), width_(width) {}
  size_t size() const override { return files_.size(); }
  std::vector<int64_t> example_shape() const override { return {3, height_, width_}; }
  int64_t num_classes() const override { return classes_; }
  std::string describe() const override { return dir_; }
  bool scaled_pixels() const override { return true; }

  Example get(size_t index) const override {
    const auto decoded = decode_image(files_[index].first);
    const size_t plane = static_cast<size_t>(decoded.height * decoded.width);
    std::vector<float> chw(plane * 3);
    for (size_t i = 0; i < plane; ++i)
      for (int c = 0; c < 3; ++c) chw[c * plane + i] = static_cast<float>(decoded.rgb[i * 3 + c]) / 255.0f;
    Example e;
    e.label = files_[index].second;
    e.input = (decoded.height == height_ && decoded.width == width_)
                  ? std::move(chw)
                  : resize_bilinear(chw, 3, decoded.height, decoded.width, height_, width_);
    return e;
  }

 private:
  std::string dir_;
  std::vector<std::pair<std::string, int64_t>> files_;
  int64_t classes_, height_, width_;
};

}  // namespace

std::unique_ptr<Dataset> open_image_folder(const std::string& dir, const OpenOptions& options) {
  std::vector<fs::path> class_dirs;
  for (const auto& entry : fs::directory_iterator(dir))
    if (entry.is_directory()) class_dirs.push_back(entry.path());
  std::sort(class_dirs.begin(), class_dirs.end());
  std::vector<std::pair<std::string, int64_t>> files;
  for (size_t c = 0; c < class_dirs.size(); ++c) {
    std::vector<std::string> names;
    for (const auto& entry : fs::directory_iterator(class_dirs[c]))
      if (entry.is_regular_file() && is_image_name(entry.path())) names.push_back(entry.path().string());
    std::sort(names.begin(), names.end());
    for (auto& name : names) files.emplace_back(std::move(name), static_cast<int64_t>(c));
  }
  if (files.empty())
    throw Error(ErrorCategory::format, dir + ": found no IDX files, no .npy pair and no class folders with .png/.jpg images; see mhub finetune --help for --data layouts");
  int64_t height = options.image_height, width = options.image_width;
  if (height <= 0 || width <= 0) {
    const auto first = decode_image(files.front().first);
    height = first.height;
    width = first.width;
  }
  return std::make_unique<ImageFolderDataset>(dir, std::move(files), static_cast<int64_t>(class_dirs.size()), height, width);
}

}  // namespace mhub::train
