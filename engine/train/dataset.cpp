#include "engine/train/dataset.h"

#include <zlib.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "common/allocation_limit.h"
#include "common/atomic_file.h"
#include "common/error.h"
#include "engine/ir/npy.h"

namespace mhub::train {
namespace fs = std::filesystem;

InMemoryDataset::InMemoryDataset(std::string description, std::vector<int64_t> shape, std::vector<uint8_t> u8_inputs,
                                 std::vector<float> f32_inputs, std::vector<int64_t> labels, std::vector<float> targets,
                                 size_t target_width)
    : description_(std::move(description)), shape_(std::move(shape)), target_width_(target_width),
      u8_(std::move(u8_inputs)), f32_(std::move(f32_inputs)), labels_(std::move(labels)), targets_(std::move(targets)) {
  per_example_ = 1;
  for (auto d : shape_) per_example_ *= static_cast<size_t>(d);
  const size_t total = u8_.empty() ? f32_.size() : u8_.size();
  count_ = per_example_ ? total / per_example_ : 0;
  for (auto label : labels_) classes_ = std::max(classes_, label + 1);
  const size_t targets_count = target_width_ ? targets_.size() / target_width_ : labels_.size();
  if (per_example_ == 0 || total % per_example_ != 0 || targets_count != count_)
    throw Error(ErrorCategory::format, description_ + ": " + std::to_string(count_) + " inputs but " +
                                           std::to_string(targets_count) + " labels; the two files must hold the same number of examples");
}

Example InMemoryDataset::get(size_t index) const {
  Example e;
  e.input.resize(per_example_);
  if (!u8_.empty()) {
    const uint8_t* p = u8_.data() + index * per_example_;
    for (size_t i = 0; i < per_example_; ++i) e.input[i] = static_cast<float>(p[i]) / 255.0f;
  } else {
    std::memcpy(e.input.data(), f32_.data() + index * per_example_, per_example_ * sizeof(float));
  }
  if (target_width_) e.target.assign(targets_.begin() + index * target_width_, targets_.begin() + (index + 1) * target_width_);
  else e.label = labels_[index];
  return e;
}

std::string read_maybe_gzipped(const std::string& path) {
  if (path.size() < 3 || path.compare(path.size() - 3, 3, ".gz") != 0) return read_whole_file(path);
  const std::string packed = read_whole_file(path);
  z_stream stream{};
  // 16 + MAX_WBITS: expect a gzip wrapper.
  if (inflateInit2(&stream, 16 + MAX_WBITS) != Z_OK) throw Error(ErrorCategory::internal, path + ": zlib init failed");
  stream.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(packed.data()));
  stream.avail_in = static_cast<uInt>(packed.size());
  std::string out;
  char buffer[1 << 16];
  int status;
  do {
    stream.next_out = reinterpret_cast<Bytef*>(buffer);
    stream.avail_out = sizeof buffer;
    status = inflate(&stream, Z_NO_FLUSH);
    if (status != Z_OK && status != Z_STREAM_END) {
      inflateEnd(&stream);
      throw Error(ErrorCategory::format, path + ": corrupt gzip data (" + (stream.msg ? stream.msg : "zlib error") +
                                             "); download the file again");
    }
    out.append(buffer, sizeof buffer - stream.avail_out);
    // A gzip bomb stops here: deflate expands at most 1032:1, and the total must fit the memory
    // limit (checked as it grows, so nothing beyond what was inflated is ever allocated).
    if (out.size() > packed.size() * 1032 + (1 << 16)) {
      inflateEnd(&stream);
      throw Error(ErrorCategory::format, path + ": inflates beyond deflate's 1032:1 ratio; not a gzip file mhub reads");
    }
    if (out.size() > allocation_limit()) {
      inflateEnd(&stream);
      check_allocation(out.size(), path + ": the inflated data");
    }
    if (status == Z_OK && stream.avail_in == 0 && stream.avail_out != 0) {
      inflateEnd(&stream);
      throw Error(ErrorCategory::format, path + ": gzip data ends early; download the file again");
    }
  } while (status != Z_STREAM_END);
  inflateEnd(&stream);
  return out;
}

namespace {

uint32_t big_endian_u32(const std::string& s, size_t at) {
  return (static_cast<uint32_t>(static_cast<uint8_t>(s[at])) << 24) | (static_cast<uint32_t>(static_cast<uint8_t>(s[at + 1])) << 16) |
         (static_cast<uint32_t>(static_cast<uint8_t>(s[at + 2])) << 8) | static_cast<uint8_t>(s[at + 3]);
}

// IDX: 0 0 type ndims, ndims big-endian uint32 dims, then the data. mhub reads unsigned bytes.
std::vector<uint32_t> parse_idx_header(const std::string& bytes, const std::string& path, size_t& data_start) {
  auto bad = [&](const std::string& problem) {
    return Error(ErrorCategory::format, path + ": not a valid IDX file: " + problem);
  };
  if (bytes.size() < 4 || bytes[0] != 0 || bytes[1] != 0) throw bad("missing the 0 0 magic bytes");
  if (static_cast<uint8_t>(bytes[2]) != 0x08)
    throw Error(ErrorCategory::unsupported, path + ": IDX element type " + std::to_string(static_cast<uint8_t>(bytes[2])) +
                                                " is not supported; only unsigned bytes (0x08)");
  const int ndims = static_cast<uint8_t>(bytes[3]);
  if (ndims < 1 || ndims > 4) throw bad(std::to_string(ndims) + " dimensions");
  if (bytes.size() < 4 + 4 * static_cast<size_t>(ndims)) throw bad("truncated header");
  std::vector<uint32_t> dims;
  uint64_t count = 1;
  for (int i = 0; i < ndims; ++i) {
    dims.push_back(big_endian_u32(bytes, 4 + 4 * i));
    count *= dims.back();
  }
  data_start = 4 + 4 * static_cast<size_t>(ndims);
  if (bytes.size() - data_start != count)
    throw bad("holds " + std::to_string(bytes.size() - data_start) + " data bytes, header says " + std::to_string(count));
  return dims;
}

std::string first_existing(const fs::path& dir, const std::vector<std::string>& names) {
  for (const auto& name : names)
    if (fs::exists(dir / name)) return (dir / name).string();
  return {};
}

bool has_npy_pair(const fs::path& dir, std::string& inputs, std::string& labels) {
  for (auto [x, y] : {std::pair{"inputs.npy", "labels.npy"}, std::pair{"X.npy", "y.npy"}, std::pair{"x.npy", "y.npy"}}) {
    if (fs::exists(dir / x) && fs::exists(dir / y)) {
      inputs = (dir / x).string();
      labels = (dir / y).string();
      return true;
    }
  }
  return false;
}

}  // namespace

std::unique_ptr<Dataset> open_idx_pair(const std::string& images_path, const std::string& labels_path) {
  const std::string images = read_maybe_gzipped(images_path), labels = read_maybe_gzipped(labels_path);
  size_t images_start, labels_start;
  const auto image_dims = parse_idx_header(images, images_path, images_start);
  const auto label_dims = parse_idx_header(labels, labels_path, labels_start);
  if (label_dims.size() != 1 || label_dims[0] != image_dims[0])
    throw Error(ErrorCategory::format, labels_path + ": expected one label per image of " + images_path);
  std::vector<int64_t> shape = {1};
  for (size_t i = 1; i < image_dims.size(); ++i) shape.push_back(image_dims[i]);
  std::vector<uint8_t> pixels(images.begin() + static_cast<std::ptrdiff_t>(images_start), images.end());
  std::vector<int64_t> label_values;
  for (size_t i = labels_start; i < labels.size(); ++i) label_values.push_back(static_cast<uint8_t>(labels[i]));
  return std::make_unique<InMemoryDataset>(images_path, shape, std::move(pixels), std::vector<float>{},
                                           std::move(label_values), std::vector<float>{}, 0);
}

std::unique_ptr<Dataset> open_npy_pair(const std::string& inputs_path, const std::string& labels_path) {
  const ir::Tensor inputs = ir::read_npy(inputs_path), labels = ir::read_npy(labels_path);
  if (inputs.dims.empty() || labels.dims.empty() || labels.dims[0] != inputs.dims[0])
    throw Error(ErrorCategory::format, labels_path + ": its first dimension must equal the example count of " + inputs_path);
  std::vector<int64_t> shape(inputs.dims.begin() + 1, inputs.dims.end());
  if (shape.empty()) shape = {1};
  const std::string description = inputs_path + "," + labels_path;
  if (!ir::is_float(labels.dtype) && labels.dims.size() == 1)
    return std::make_unique<InMemoryDataset>(description, shape, std::vector<uint8_t>{}, ir::npy_floats(inputs),
                                             ir::npy_int64s(labels), std::vector<float>{}, 0);
  const size_t width = labels.dims[0] ? labels.numel() / static_cast<size_t>(labels.dims[0]) : 1;
  return std::make_unique<InMemoryDataset>(description, shape, std::vector<uint8_t>{}, ir::npy_floats(inputs),
                                           std::vector<int64_t>{}, ir::npy_floats(labels), width);
}

std::unique_ptr<Dataset> open_csv(const std::string& path) {
  std::istringstream text(read_whole_file(path));
  std::string line;
  std::vector<float> inputs;
  std::vector<int64_t> labels;
  size_t columns = 0, line_number = 0, rows = 0;
  while (std::getline(text, line)) {
    ++line_number;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.empty()) continue;
    std::vector<double> values;
    std::string cell;
    std::istringstream cells(line);
    bool numeric = true;
    while (std::getline(cells, cell, ',')) {
      char* end = nullptr;
      const double v = std::strtod(cell.c_str(), &end);
      while (end && *end == ' ') ++end;
      if (cell.empty() || !end || *end != '\0') numeric = false;
      values.push_back(v);
    }
    if (!numeric) {
      if (rows == 0 && columns == 0) {  // a header line
        columns = values.size();
        continue;
      }
      throw Error(ErrorCategory::format, path + ":" + std::to_string(line_number) + ": a cell is not a number; the CSV must be numeric with the label last");
    }
    if (columns == 0) columns = values.size();
    if (values.size() != columns || columns < 2)
      throw Error(ErrorCategory::format, path + ":" + std::to_string(line_number) + ": has " + std::to_string(values.size()) +
                                             " columns, expected " + std::to_string(columns) + " (features..., label)");
    const double label = values.back();
    if (label < 0 || label != std::floor(label))
      throw Error(ErrorCategory::format, path + ":" + std::to_string(line_number) + ": label " + std::to_string(label) + " is not a class id (0, 1, ...)");
    for (size_t i = 0; i + 1 < values.size(); ++i) inputs.push_back(static_cast<float>(values[i]));
    labels.push_back(static_cast<int64_t>(label));
    ++rows;
  }
  if (rows == 0) throw Error(ErrorCategory::format, path + ": holds no data rows");
  return std::make_unique<InMemoryDataset>(path, std::vector<int64_t>{static_cast<int64_t>(columns - 1)}, std::vector<uint8_t>{},
                                           std::move(inputs), std::move(labels), std::vector<float>{}, 0);
}

std::unique_ptr<Dataset> open_dataset(const std::string& spec, const std::string& split, const OpenOptions& options) {
  if (split != "train" && split != "test")
    throw Error(ErrorCategory::internal, "open_dataset: split must be train or test");
  const auto comma = spec.find(',');
  if (comma != std::string::npos) return open_npy_pair(spec.substr(0, comma), spec.substr(comma + 1));
  const fs::path path(spec);
  if (!fs::exists(path))
    throw Error(ErrorCategory::io, spec + ": no such file or folder; --data takes a folder (IDX, .npy pair, image classes), a .csv or X.npy,y.npy");
  if (fs::is_regular_file(path)) {
    if (path.extension() == ".csv") return open_csv(spec);
    throw Error(ErrorCategory::usage, spec + ": a single file must be a .csv; for .npy give INPUTS.npy,LABELS.npy");
  }
  const std::string prefix = split == "train" ? "train" : "t10k";
  const std::string images = first_existing(path, {prefix + "-images-idx3-ubyte.gz", prefix + "-images-idx3-ubyte", prefix + "-images.idx3-ubyte"});
  const std::string labels = first_existing(path, {prefix + "-labels-idx1-ubyte.gz", prefix + "-labels-idx1-ubyte", prefix + "-labels.idx1-ubyte"});
  if (!images.empty() && !labels.empty()) return open_idx_pair(images, labels);
  std::string x, y;
  for (const auto& sub : split == "train" ? std::vector<std::string>{"train"} : std::vector<std::string>{"test", "val"})
    if (has_npy_pair(path / sub, x, y)) return open_npy_pair(x, y);
  if (has_npy_pair(path, x, y)) return open_npy_pair(x, y);
  for (const auto& sub : split == "train" ? std::vector<std::string>{"train"} : std::vector<std::string>{"val", "test"})
    if (fs::is_directory(path / sub)) return open_image_folder((path / sub).string(), options);
  return open_image_folder(spec, options);
}

}  // namespace mhub::train
