#include "engine/train/metrics.h"

#include <chrono>
#include <ctime>
#include <cstring>
#include <nlohmann/json.hpp>

#include "common/atomic_file.h"
#include "common/error.h"

namespace mhub::train {
namespace {

struct Crc32cTable {
  uint32_t entries[256];
  Crc32cTable() {
    for (uint32_t i = 0; i < 256; ++i) {
      uint32_t c = i;
      for (int k = 0; k < 8; ++k) c = (c & 1) ? (c >> 1) ^ 0x82F63B78u : c >> 1;  // Castagnoli, reflected
      entries[i] = c;
    }
  }
};

void put_varint(std::string& out, uint64_t v) {
  while (v >= 0x80) {
    out += static_cast<char>((v & 0x7f) | 0x80);
    v >>= 7;
  }
  out += static_cast<char>(v);
}

void put_fixed(std::string& out, const void* p, size_t n) { out.append(static_cast<const char*>(p), n); }

void put_bytes_field(std::string& out, int field, const std::string& bytes) {
  put_varint(out, (static_cast<uint64_t>(field) << 3) | 2);
  put_varint(out, bytes.size());
  out += bytes;
}

std::string event_header(double wall_time, int64_t step) {
  std::string e;
  e += '\x09';
  put_fixed(e, &wall_time, 8);
  e += '\x10';
  put_varint(e, static_cast<uint64_t>(step));
  return e;
}

double now_seconds() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

// A minimal protobuf reader over one message's bytes.
struct ProtoReader {
  const std::string& data;
  size_t pos = 0;
  const std::string& what;
  uint64_t varint() {
    uint64_t v = 0;
    for (int shift = 0; shift < 64; shift += 7) {
      if (pos >= data.size()) throw Error(ErrorCategory::format, what + ": truncated varint");
      const uint8_t b = static_cast<uint8_t>(data[pos++]);
      v |= static_cast<uint64_t>(b & 0x7f) << shift;
      if (!(b & 0x80)) return v;
    }
    throw Error(ErrorCategory::format, what + ": varint longer than 10 bytes");
  }
  std::string take(size_t n) {
    if (n > data.size() - pos) throw Error(ErrorCategory::format, what + ": field runs past the end of the record");
    std::string s = data.substr(pos, n);
    pos += n;
    return s;
  }
  void skip(int wire) {
    if (wire == 0) varint();
    else if (wire == 1) take(8);
    else if (wire == 5) take(4);
    else if (wire == 2) take(varint());
    else throw Error(ErrorCategory::format, what + ": unsupported wire type " + std::to_string(wire));
  }
};

}  // namespace

uint32_t crc32c(const void* data, size_t size, uint32_t crc) {
  static const Crc32cTable table;
  const auto* p = static_cast<const uint8_t*>(data);
  crc = ~crc;
  for (size_t i = 0; i < size; ++i) crc = table.entries[(crc ^ p[i]) & 0xff] ^ (crc >> 8);
  return ~crc;
}

uint32_t masked_crc32c(const void* data, size_t size) {
  const uint32_t crc = crc32c(data, size);
  return ((crc >> 15) | (crc << 17)) + 0xa282ead8u;
}

void write_run_settings(const std::filesystem::path& logdir, const std::string& model,
                        const std::vector<std::pair<std::string, std::string>>& settings) {
  std::error_code ec;
  std::filesystem::create_directories(logdir, ec);
  if (ec) throw Error(ErrorCategory::io, logdir.string() + ": cannot create the log folder: " + ec.message());
  nlohmann::json values = nlohmann::json::object();
  for (const auto& [name, value] : settings) values[name] = value;
  const std::time_t now = std::time(nullptr);
  std::tm utc{};
  gmtime_r(&now, &utc);
  char started[32];
  std::strftime(started, sizeof started, "%Y-%m-%dT%H:%M:%SZ", &utc);
  nlohmann::json run{{"model", model}, {"started", started}, {"settings", values}};
  // Settings hold user text (paths, globs): replace invalid UTF-8 rather than fail the run.
  write_file_atomically(logdir / "run.json", run.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) + "\n");
}

MetricsLog::MetricsLog(const std::filesystem::path& logdir) {
  std::error_code ec;
  std::filesystem::create_directories(logdir, ec);
  if (ec) throw Error(ErrorCategory::io, logdir.string() + ": cannot create the log folder: " + ec.message());
  const auto seconds = static_cast<long long>(now_seconds());
  events_path_ = logdir / ("events.out.tfevents." + std::to_string(seconds) + ".mhub");
  jsonl_path_ = logdir / "metrics.jsonl";
  events_ = std::fopen(events_path_.c_str(), "ab");
  jsonl_ = std::fopen(jsonl_path_.c_str(), "a");
  if (!events_ || !jsonl_) {
    if (events_) std::fclose(events_);
    if (jsonl_) std::fclose(jsonl_);
    throw Error(ErrorCategory::io, logdir.string() + ": cannot open log files for writing: " + std::strerror(errno));
  }
  std::string first = event_header(now_seconds(), 0);
  put_bytes_field(first, 3, "brain.Event:2");
  write_record(first);
}

MetricsLog::~MetricsLog() {
  std::fclose(events_);
  std::fclose(jsonl_);
}

void MetricsLog::write_record(const std::string& event) {
  std::string record;
  const uint64_t length = event.size();
  put_fixed(record, &length, 8);
  const uint32_t length_crc = masked_crc32c(&length, 8);
  put_fixed(record, &length_crc, 4);
  record += event;
  const uint32_t data_crc = masked_crc32c(event.data(), event.size());
  put_fixed(record, &data_crc, 4);
  if (std::fwrite(record.data(), 1, record.size(), events_) != record.size() || std::fflush(events_) != 0)
    throw Error(ErrorCategory::io, events_path_.string() + ": write failed: " + std::strerror(errno));
}

void MetricsLog::write(int64_t step, const std::map<std::string, double>& scalars) {
  const double wall = now_seconds();
  std::string summary;
  nlohmann::json line = {{"step", step}, {"wall_time", wall}};
  for (const auto& [tag, value] : scalars) {
    std::string entry;
    put_bytes_field(entry, 1, tag);
    entry += '\x15';
    const float v = static_cast<float>(value);
    put_fixed(entry, &v, 4);
    put_bytes_field(summary, 1, entry);
    line[tag] = value;
  }
  std::string event = event_header(wall, step);
  put_bytes_field(event, 5, summary);
  write_record(event);
  const std::string text = line.dump() + "\n";
  if (std::fwrite(text.data(), 1, text.size(), jsonl_) != text.size() || std::fflush(jsonl_) != 0)
    throw Error(ErrorCategory::io, jsonl_path_.string() + ": write failed: " + std::strerror(errno));
}

EventFileContents read_event_file(const std::filesystem::path& path) {
  const std::string bytes = read_whole_file(path);
  EventFileContents contents;
  size_t pos = 0;
  while (pos < bytes.size()) {
    const std::string where = path.string() + ": record " + std::to_string(contents.records);
    if (bytes.size() - pos < 12) throw Error(ErrorCategory::format, where + ": truncated record header");
    uint64_t length;
    uint32_t length_crc, data_crc;
    std::memcpy(&length, bytes.data() + pos, 8);
    std::memcpy(&length_crc, bytes.data() + pos + 8, 4);
    if (masked_crc32c(bytes.data() + pos, 8) != length_crc) throw Error(ErrorCategory::format, where + ": length CRC mismatch");
    if (length > bytes.size() - pos - 12 || bytes.size() - pos - 12 - length < 4)
      throw Error(ErrorCategory::format, where + ": record runs past the end of the file");
    const std::string event = bytes.substr(pos + 12, length);
    std::memcpy(&data_crc, bytes.data() + pos + 12 + length, 4);
    if (masked_crc32c(event.data(), event.size()) != data_crc) throw Error(ErrorCategory::format, where + ": data CRC mismatch");
    pos += 12 + length + 4;
    ++contents.records;

    ProtoReader reader{event, 0, where};
    int64_t step = 0;
    double wall = 0;
    std::vector<ScalarEvent> found;
    while (reader.pos < event.size()) {
      const uint64_t key = reader.varint();
      const int field = static_cast<int>(key >> 3), wire = static_cast<int>(key & 7);
      if (field == 1 && wire == 1) std::memcpy(&wall, reader.take(8).data(), 8);
      else if (field == 2 && wire == 0) step = static_cast<int64_t>(reader.varint());
      else if (field == 3 && wire == 2) contents.file_version = reader.take(reader.varint());
      else if (field == 5 && wire == 2) {
        const std::string summary = reader.take(reader.varint());
        ProtoReader s{summary, 0, where};
        while (s.pos < summary.size()) {
          const uint64_t skey = s.varint();
          if (skey != ((1 << 3) | 2)) { s.skip(static_cast<int>(skey & 7)); continue; }
          const std::string value = s.take(s.varint());
          ProtoReader v{value, 0, where};
          ScalarEvent scalar;
          while (v.pos < value.size()) {
            const uint64_t vkey = v.varint();
            if (vkey == ((1 << 3) | 2)) scalar.tag = v.take(v.varint());
            else if (vkey == ((2 << 3) | 5)) std::memcpy(&scalar.value, v.take(4).data(), 4);
            else v.skip(static_cast<int>(vkey & 7));
          }
          found.push_back(scalar);
        }
      } else reader.skip(wire);
    }
    for (auto& scalar : found) {
      scalar.step = step;
      scalar.wall_time = wall;
      contents.scalars.push_back(scalar);
    }
  }
  return contents;
}

}  // namespace mhub::train
