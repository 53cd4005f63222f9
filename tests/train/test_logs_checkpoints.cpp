// metrics.jsonl, TensorBoard event files (CRC32C) and safetensors checkpoints.
#include <doctest/doctest.h>

#include <fstream>
#include <nlohmann/json.hpp>

#include "common/atomic_file.h"
#include "common/error.h"
#include "engine/train/checkpoint.h"
#include "engine/train/metrics.h"
#include "engine/train/rng.h"
#include "tests/train/train_test_support.h"

using namespace mhub;
using namespace mhub::train;
namespace fs = std::filesystem;

TEST_SUITE("train") {

TEST_CASE("CRC32C known vectors") {
  CHECK(crc32c("123456789", 9) == 0xE3069283u);
  CHECK(crc32c("", 0) == 0u);
  const std::string zeros(32, '\0');
  CHECK(crc32c(zeros.data(), zeros.size()) == 0x8A9136AAu);  // RFC 3720 B.4
}

TEST_CASE("metrics log writes jsonl and TensorBoard records that read back with valid CRCs") {
  const auto dir = mhub::test::scratch_dir("train_metrics");
  fs::path events;
  {
    MetricsLog log(dir / "run");
    log.write(1, {{"train/loss", 2.5}, {"lr", 0.1}});
    log.write(2, {{"train/loss", 1.25}});
    events = log.events_path();
  }
  const auto contents = read_event_file(events);
  CHECK(contents.records == 3);
  CHECK(contents.file_version == "brain.Event:2");
  REQUIRE(contents.scalars.size() == 3);
  CHECK(contents.scalars[0].tag == "lr");
  CHECK(contents.scalars[1].tag == "train/loss");
  CHECK(contents.scalars[1].value == 2.5f);
  CHECK(contents.scalars[2].step == 2);
  CHECK(contents.scalars[2].value == 1.25f);
  CHECK(contents.scalars[2].wall_time > 1.6e9);

  std::ifstream jsonl(dir / "run" / "metrics.jsonl");
  std::string line;
  std::vector<nlohmann::json> lines;
  while (std::getline(jsonl, line)) lines.push_back(nlohmann::json::parse(line));
  REQUIRE(lines.size() == 2);
  CHECK(lines[0]["step"] == 1);
  CHECK(lines[0]["train/loss"] == 2.5);
  CHECK(lines[1]["train/loss"] == 1.25);

  // A flipped byte anywhere is caught by a CRC.
  std::string bytes = read_whole_file(events);
  bytes[bytes.size() - 10] ^= 1;
  write_file_atomically(dir / "corrupt", bytes);
  CHECK_THROWS_WITH_AS(read_event_file(dir / "corrupt"), doctest::Contains("CRC"), Error);
  write_file_atomically(dir / "short", read_whole_file(events).substr(0, 20));
  CHECK_THROWS_AS(read_event_file(dir / "short"), Error);
}

TEST_CASE("checkpoints round-trip tensors and metadata; malformed files are rejected") {
  const auto dir = mhub::test::scratch_dir("train_checkpoint");
  Rng rng(42);
  rng.next_u64();
  Checkpoint c;
  c.tensors.push_back({"param/fc.weight", {2, 3}, {1, 2, 3, 4, 5, -6}});
  c.tensors.push_back({"optim/fc.weight/exp_avg", {2, 3}, {0.5f, 0, 0, 0, 0, 1e-20f}});
  c.tensors.push_back({"param/scalar", {}, {7}});
  c.metadata = {{"step", "12"}, {"rng", rng.state_text()}};
  save_checkpoint(dir / "a.safetensors", c);
  const auto back = load_checkpoint(dir / "a.safetensors");
  REQUIRE(back.tensors.size() == 3);
  CHECK(back.tensors[0].name == "param/fc.weight");
  CHECK(back.tensors[0].values == c.tensors[0].values);
  CHECK(back.find("optim/fc.weight/exp_avg")->values[5] == 1e-20f);
  CHECK(back.find("param/scalar")->dims.empty());
  CHECK(back.metadata.at("step") == "12");
  Rng restored(0);
  restored.set_state_text(back.metadata.at("rng"));
  CHECK(restored.next_u64() == rng.next_u64());
  // Same state, same bytes.
  save_checkpoint(dir / "b.safetensors", back);
  CHECK(read_whole_file(dir / "a.safetensors") == read_whole_file(dir / "b.safetensors"));
  // The header is what the safetensors format says: size, JSON, aligned data.
  const std::string bytes = read_whole_file(dir / "a.safetensors");
  uint64_t header_size;
  std::memcpy(&header_size, bytes.data(), 8);
  CHECK(header_size % 8 == 0);
  const auto header = nlohmann::json::parse(bytes.substr(8, header_size));
  CHECK(header["param/fc.weight"]["dtype"] == "F32");
  CHECK(header["param/fc.weight"]["data_offsets"] == nlohmann::json::array({0, 24}));

  auto corrupt = [&](const std::string& name, std::string content) {
    write_file_atomically(dir / name, content);
    CHECK_THROWS_WITH_AS(load_checkpoint(dir / name), doctest::Contains(name.c_str()), Error);
  };
  corrupt("tiny", "abc");
  corrupt("hugeheader", std::string("\xff\xff\xff\xff\x00\x00\x00\x00{}", 10));
  std::string not_json = "\x04\x00\x00\x00\x00\x00\x00\x00{{{{";
  corrupt("notjson", not_json);
  std::string bad_offsets = R"({"w":{"dtype":"F32","shape":[2],"data_offsets":[0,12]}})";
  std::string file(8, '\0');
  file[0] = static_cast<char>(bad_offsets.size());
  corrupt("offsets", file + bad_offsets + std::string(12, '\0'));
  CHECK_THROWS_AS(rng.set_state_text("zz"), Error);
}

}  // TEST_SUITE
