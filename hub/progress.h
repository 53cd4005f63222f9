// Download progress. Library code reports to a ProgressSink; only cli/ decides whether anything
// is drawn (a bar on a terminal, nothing in pipes). All calls come from the downloading thread.
#pragma once

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <memory>
#include <string>

namespace mhub::hub {

class ProgressSink {
 public:
  virtual ~ProgressSink() = default;
  virtual void start(const std::string& label, uint64_t total_bytes, uint64_t already_bytes) = 0;
  virtual void advance(uint64_t bytes) = 0;
  virtual void finish() = 0;
};

// Draws "label  [#####     ]  12.0 MiB / 80.0 MiB  35.2 MiB/s  ETA 2s" on one line, redrawn at
// most 10 times a second. `out` must be a terminal (see make_progress).
class TerminalProgress : public ProgressSink {
 public:
  explicit TerminalProgress(FILE* out) : out_(out) {}
  void start(const std::string& label, uint64_t total_bytes, uint64_t already_bytes) override;
  void advance(uint64_t bytes) override;
  void finish() override;

 private:
  void draw(bool final_line);
  FILE* out_;
  std::string label_;
  uint64_t total_ = 0, done_ = 0, start_done_ = 0;
  std::chrono::steady_clock::time_point started_, last_draw_;
};

// A TerminalProgress when `out` is a terminal, else nullptr (no progress output at all).
std::unique_ptr<ProgressSink> make_progress(FILE* out);

// "1.5 MiB"
std::string format_bytes(double bytes);

}  // namespace mhub::hub
