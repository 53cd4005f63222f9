// Training logs: metrics.jsonl (one JSON object per line) and TensorBoard event files.
//
// A TensorBoard file is a sequence of records: uint64 length (little endian), masked CRC32C of
// those 8 bytes, the data, masked CRC32C of the data. Each record's data is an Event protobuf;
// mhub writes its few fields by hand: wall_time (1, double), step (2, int64), file_version
// (3, string) and summary (5) holding Summary.Value entries {tag (1), simple_value (2, float)}.
#pragma once

#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

namespace mhub::train {

uint32_t crc32c(const void* data, size_t size, uint32_t crc = 0);
uint32_t masked_crc32c(const void* data, size_t size);

// Appends scalars to `<logdir>/events.out.tfevents.<unix time>.mhub` and
// `<logdir>/metrics.jsonl`; both are flushed after every call so a crash loses at most one line.
// Throws mhub::Error (io) naming the file when the folder cannot be written.
class MetricsLog {
 public:
  explicit MetricsLog(const std::filesystem::path& logdir);
  ~MetricsLog();
  MetricsLog(const MetricsLog&) = delete;
  MetricsLog& operator=(const MetricsLog&) = delete;

  void write(int64_t step, const std::map<std::string, double>& scalars);
  const std::filesystem::path& events_path() const { return events_path_; }
  const std::filesystem::path& jsonl_path() const { return jsonl_path_; }

 private:
  void write_record(const std::string& event);
  std::filesystem::path events_path_, jsonl_path_;
  std::FILE* events_ = nullptr;
  std::FILE* jsonl_ = nullptr;
};

// `<logdir>/run.json`: {"model": MODEL, "started": "YYYY-MM-DDTHH:MM:SSZ", "settings": {NAME: VALUE}},
// what a run was started with, written before its first step so `mhub board` lists it with its
// settings while it trains (a sweep's trials get theirs from sweep.json). Replaced atomically;
// throws mhub::Error (io) naming the file.
void write_run_settings(const std::filesystem::path& logdir, const std::string& model,
                        const std::vector<std::pair<std::string, std::string>>& settings);

// What a tfevents file says, for tests and `mhub` tooling. Throws mhub::Error (format) naming
// the file and record when a length or CRC does not check out.
struct ScalarEvent {
  int64_t step = 0;
  double wall_time = 0;
  std::string tag;
  float value = 0;
};
struct EventFileContents {
  std::string file_version;
  std::vector<ScalarEvent> scalars;
  size_t records = 0;
};
EventFileContents read_event_file(const std::filesystem::path& path);

}  // namespace mhub::train
