// Data readers, augmentation and the background loader.
#include <doctest/doctest.h>
#include <zlib.h>

#include <fstream>
#include <set>

#include "common/atomic_file.h"
#include "common/error.h"
#include "engine/train/augment.h"
#include "engine/train/dataset.h"
#include "engine/train/loader.h"
#include "tests/test_skip.h"
#include "tests/train/train_test_support.h"

using namespace mhub;
using namespace mhub::train;
namespace fs = std::filesystem;

namespace {

std::string idx_bytes(const std::vector<uint32_t>& dims, const std::vector<uint8_t>& data) {
  std::string s = {0, 0, 8, static_cast<char>(dims.size())};
  for (uint32_t d : dims)
    for (int shift = 24; shift >= 0; shift -= 8) s += static_cast<char>((d >> shift) & 0xff);
  s.append(data.begin(), data.end());
  return s;
}

void write_gz(const fs::path& path, const std::string& bytes) {
  gzFile f = gzopen(path.c_str(), "wb");
  REQUIRE(f);
  REQUIRE(gzwrite(f, bytes.data(), static_cast<unsigned>(bytes.size())) == static_cast<int>(bytes.size()));
  gzclose(f);
}

}  // namespace

TEST_SUITE("train") {

TEST_CASE("IDX folders: plain and gzipped, train and test splits") {
  const auto dir = mhub::test::scratch_dir("train_idx");
  std::vector<uint8_t> pixels(3 * 2 * 2);
  for (size_t i = 0; i < pixels.size(); ++i) pixels[i] = static_cast<uint8_t>(i * 20);
  write_gz(dir / "train-images-idx3-ubyte.gz", idx_bytes({3, 2, 2}, pixels));
  write_gz(dir / "train-labels-idx1-ubyte.gz", idx_bytes({3}, {2, 0, 1}));
  write_file_atomically(dir / "t10k-images-idx3-ubyte", idx_bytes({1, 2, 2}, {0, 0, 0, 255}));
  write_file_atomically(dir / "t10k-labels-idx1-ubyte", idx_bytes({1}, {4}));
  const auto train = open_dataset(dir.string(), "train");
  CHECK(train->size() == 3);
  CHECK(train->example_shape() == std::vector<int64_t>{1, 2, 2});
  CHECK(train->num_classes() == 3);
  const auto e = train->get(1);
  CHECK(e.label == 0);
  CHECK(e.input[0] == doctest::Approx(80 / 255.0));
  const auto test = open_dataset(dir.string(), "test");
  CHECK(test->size() == 1);
  CHECK(test->get(0).input[3] == 1.0f);

  // Malformed: label count differs, truncated gzip, wrong magic.
  write_gz(dir / "train-labels-idx1-ubyte.gz", idx_bytes({2}, {1, 1}));
  CHECK_THROWS_AS(open_dataset(dir.string(), "train"), Error);
  std::string packed = read_whole_file(dir / "train-images-idx3-ubyte.gz");
  write_file_atomically(dir / "train-images-idx3-ubyte.gz", packed.substr(0, packed.size() / 2));
  CHECK_THROWS_WITH_AS(open_dataset(dir.string(), "train"), doctest::Contains("gzip"), Error);
  write_file_atomically(dir / "t10k-images-idx3-ubyte", "\x01\x02\x08\x01");
  CHECK_THROWS_WITH_AS(open_dataset(dir.string(), "test"), doctest::Contains("IDX"), Error);
}

TEST_CASE("Fashion-MNIST from /usr/share/datasets just works") {
  if (!fs::exists("/usr/share/datasets/fashion-mnist")) MHUB_SKIP("/usr/share/datasets/fashion-mnist is missing (Debian package dataset-fashion-mnist)");
  const auto train = open_dataset("/usr/share/datasets/fashion-mnist", "train");
  CHECK(train->size() == 60000);
  CHECK(train->num_classes() == 10);
  CHECK(train->example_shape() == std::vector<int64_t>{1, 28, 28});
  CHECK(open_dataset("/usr/share/datasets/fashion-mnist", "test")->size() == 10000);
}

TEST_CASE(".npy pairs and round trip") {
  const auto dir = mhub::test::scratch_dir("train_npy");
  ir::write_npy(dir / "inputs.npy", {4, 3}, {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11});
  ir::write_npy(dir / "labels.npy", {4}, {1, 0, 1, 2});
  const auto back = ir::read_npy(dir / "inputs.npy");
  CHECK(back.dims == std::vector<int64_t>{4, 3});
  CHECK(ir::npy_floats(back)[11] == 11.0f);
  // Float labels mean regression targets; integer labels come from fixtures' int64 arrays.
  const auto regression = open_dataset(dir.string(), "train");
  CHECK(regression->num_classes() == 0);
  CHECK(regression->get(3).target == std::vector<float>{2});
  const auto classes = open_dataset((mhub::test::train_fixtures() / "cnn/inputs.npy").string() + "," +
                                        (mhub::test::train_fixtures() / "cnn/targets.npy").string(),
                                    "train");
  // [20, 4, 1, 12, 12] inputs against [20, 4] int64 targets: 20 examples with 4-wide targets.
  CHECK(classes->size() == 20);
  CHECK(classes->get(0).target.size() == 4);
  // Malformed files name the problem.
  write_file_atomically(dir / "bad.npy", "\x93NUMPY\x01\x00\x10\x00{'descr': '<f4'}");
  CHECK_THROWS_WITH_AS(ir::read_npy(dir / "bad.npy"), doctest::Contains("bad.npy"), Error);
  std::string truncated = read_whole_file(dir / "inputs.npy");
  write_file_atomically(dir / "short.npy", truncated.substr(0, truncated.size() - 4));
  CHECK_THROWS_WITH_AS(ir::read_npy(dir / "short.npy"), doctest::Contains("bytes"), Error);
  CHECK_THROWS_AS(open_dataset((dir / "inputs.npy").string() + "," + (dir / "short.npy").string(), "train"), Error);
}

TEST_CASE("CSV with a header, label last") {
  const auto dir = mhub::test::scratch_dir("train_csv");
  write_file_atomically(dir / "d.csv", "a,b,label\n0.5,1,0\r\n2,3,2\n\n");
  const auto d = open_dataset((dir / "d.csv").string(), "train");
  CHECK(d->size() == 2);
  CHECK(d->example_shape() == std::vector<int64_t>{2});
  CHECK(d->num_classes() == 3);
  CHECK(d->get(0).input == std::vector<float>{0.5f, 1});
  write_file_atomically(dir / "ragged.csv", "1,2,0\n1,0\n");
  CHECK_THROWS_WITH_AS(open_dataset((dir / "ragged.csv").string(), "train"), doctest::Contains("ragged.csv:2"), Error);
  write_file_atomically(dir / "text.csv", "1,2,0\n1,x,0\n");
  CHECK_THROWS_AS(open_dataset((dir / "text.csv").string(), "train"), Error);
  write_file_atomically(dir / "frac.csv", "1,2,0.5\n");
  CHECK_THROWS_AS(open_dataset((dir / "frac.csv").string(), "train"), Error);
}

TEST_CASE("image folders decode PNG and JPEG into RGB and resize") {
  const auto images = mhub::test::train_fixtures() / "images";
  const auto d = open_dataset(images.string(), "train");
  CHECK(d->size() == 4);  // notes.txt is ignored
  CHECK(d->num_classes() == 2);
  CHECK(d->example_shape() == std::vector<int64_t>{3, 4, 6});
  const auto red = d->get(0);
  CHECK(red.label == 0);
  CHECK(red.input[0] == 0.0f);                 // the green corner pixel, red channel
  CHECK(red.input[24 + 0] == 1.0f);            // ... green channel
  CHECK(red.input[1] == 1.0f);                 // a red pixel
  const auto big = d->get(1);                  // 12x8 resized to 6x4
  CHECK(big.input.size() == 72);
  CHECK(big.input[5] == doctest::Approx(200 / 255.0));
  const auto blue = d->get(2);                 // JPEG
  CHECK(blue.label == 1);
  CHECK(blue.input[48 + 7] > 0.9f);
  CHECK(blue.input[7] < 0.1f);
  const auto grey = d->get(3);                 // greyscale JPEG expands to three equal channels
  CHECK(grey.input[0] == grey.input[24]);
  OpenOptions sized;
  sized.image_height = 2;
  sized.image_width = 3;
  CHECK(open_dataset(images.string(), "train", sized)->get(2).input.size() == 18);

  const auto dir = mhub::test::scratch_dir("train_images");
  fs::create_directories(dir / "cls");
  write_file_atomically(dir / "cls" / "broken.png", "\x89PNG\r\n\x1a\nnot really");
  write_file_atomically(dir / "cls" / "broken2.jpg", "\xff\xd8\xff\xe0 truncated");
  const auto broken = open_dataset(dir.string(), "train", sized);
  CHECK_THROWS_WITH_AS(broken->get(0), doctest::Contains("broken.png"), Error);
  CHECK_THROWS_WITH_AS(broken->get(1), doctest::Contains("broken2.jpg"), Error);
  CHECK_THROWS_AS(open_dataset(mhub::test::scratch_dir("train_empty").string(), "train"), Error);
  CHECK_THROWS_AS(open_dataset("/nonexistent/data", "train"), Error);
}

TEST_CASE("augmentations: crop padding shifts, flips mirror, normalisation") {
  std::vector<float> image = {1, 2, 3, 4, 5, 6};  // [1, 2, 3]
  CHECK(resize_bilinear(image, 1, 2, 3, 2, 3) == image);
  const auto half = resize_bilinear(image, 1, 2, 3, 1, 1);
  CHECK(half[0] == doctest::Approx(3.5));
  Augmentation flip;
  flip.horizontal_flip = true;
  int flipped = 0;
  for (uint64_t seed = 0; seed < 64; ++seed) {
    std::vector<float> copy = image;
    Rng rng(seed);
    augment_image(copy, 1, 2, 3, flip, rng);
    if (copy == std::vector<float>{3, 2, 1, 6, 5, 4}) ++flipped;
    else CHECK(copy == image);
  }
  CHECK(flipped > 16);
  CHECK(flipped < 48);
  Augmentation crop;
  crop.crop_padding = 1;
  std::set<std::vector<float>> seen;
  for (uint64_t seed = 0; seed < 64; ++seed) {
    std::vector<float> copy = image;
    Rng rng(seed);
    augment_image(copy, 1, 2, 3, crop, rng);
    float sum = 0;
    for (float v : copy) sum += v;
    CHECK(sum <= 21);
    seen.insert(copy);
  }
  CHECK(seen.size() == 9);  // every shift in [-1, 1]^2 occurs
  Augmentation norm;
  norm.mean = {1};
  norm.std = {2};
  Rng rng(0);
  augment_image(image, 1, 2, 3, norm, rng);
  CHECK(image[5] == 2.5f);
}

TEST_CASE("loader: every example once per epoch, reproducible by seed, errors surface") {
  std::vector<float> inputs(10);
  std::vector<int64_t> labels(10);
  for (int i = 0; i < 10; ++i) inputs[i] = static_cast<float>(i), labels[i] = i % 3;
  InMemoryDataset data("mem", {1}, {}, inputs, labels, {}, 0);
  auto epoch_order = [&](uint64_t seed, int64_t epoch, int64_t skip = 0) {
    LoaderOptions o;
    o.batch_size = 4;
    o.seed = seed;
    o.epoch = epoch;
    o.queue_capacity = 1;
    o.skip_batches = skip;
    BatchLoader loader(data, o);
    CHECK(loader.batch_count() == 3);
    std::vector<float> order;
    while (auto batch = loader.next()) {
      CHECK(batch->labels.size() == static_cast<size_t>(batch->rows()));
      order.insert(order.end(), batch->inputs.begin(), batch->inputs.end());
    }
    return order;
  };
  const auto a = epoch_order(7, 0);
  CHECK(std::set<float>(a.begin(), a.end()).size() == 10);
  CHECK(a.size() == 10);
  CHECK(epoch_order(7, 0) == a);
  CHECK(epoch_order(7, 1) != a);
  CHECK(epoch_order(8, 0) != a);
  const auto resumed = epoch_order(7, 0, 2);
  CHECK(resumed == std::vector<float>(a.begin() + 8, a.end()));
  {
    // Destroying a loader whose producer is blocked on a full queue must not hang.
    LoaderOptions o;
    o.batch_size = 1;
    o.queue_capacity = 1;
    BatchLoader loader(data, o);
    CHECK(loader.next().has_value());
  }
  const auto dir = mhub::test::scratch_dir("train_loader_error");
  fs::create_directories(dir / "cls");
  write_file_atomically(dir / "cls" / "x.png", "\x89PNG\r\n\x1a\nbroken");
  OpenOptions sized;
  sized.image_height = sized.image_width = 2;
  const auto broken = open_dataset(dir.string(), "train", sized);
  LoaderOptions o;
  BatchLoader loader(*broken, o);
  CHECK_THROWS_WITH_AS(loader.next(), doctest::Contains("x.png"), Error);
  LoaderOptions no_batch;
  no_batch.batch_size = 0;
  CHECK_THROWS_AS(BatchLoader(data, no_batch), Error);
}

}  // TEST_SUITE
