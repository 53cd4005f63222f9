#include "hub/progress.h"

#include <unistd.h>

#include <algorithm>

namespace mhub::hub {

std::string format_bytes(double bytes) {
  const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  int unit = 0;
  while (bytes >= 1024 && unit < 4) {
    bytes /= 1024;
    ++unit;
  }
  char text[32];
  std::snprintf(text, sizeof(text), unit == 0 ? "%.0f %s" : "%.1f %s", bytes, units[unit]);
  return text;
}

void TerminalProgress::start(const std::string& label, uint64_t total_bytes, uint64_t already_bytes) {
  label_ = label;
  total_ = total_bytes;
  done_ = start_done_ = already_bytes;
  started_ = last_draw_ = std::chrono::steady_clock::now();
  draw(false);
}

void TerminalProgress::advance(uint64_t bytes) {
  done_ += bytes;
  auto now = std::chrono::steady_clock::now();
  if (now - last_draw_ < std::chrono::milliseconds(100)) return;
  last_draw_ = now;
  draw(false);
}

void TerminalProgress::finish() { draw(true); }

void TerminalProgress::draw(bool final_line) {
  double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started_).count();
  double rate = seconds > 0 ? static_cast<double>(done_ - start_done_) / seconds : 0;
  double fraction = total_ ? std::min(1.0, static_cast<double>(done_) / static_cast<double>(total_)) : 1.0;
  constexpr int width = 24;
  int filled = static_cast<int>(fraction * width);
  std::string bar = std::string(filled, '#') + std::string(width - filled, ' ');
  std::string eta = "--";
  if (rate > 0 && done_ < total_) eta = std::to_string(static_cast<long>((total_ - done_) / rate)) + "s";
  std::string label = label_.size() > 30 ? "..." + label_.substr(label_.size() - 27) : label_;
  std::fprintf(out_, "\r%-30s [%s] %s / %s  %s/s  ETA %s\033[K", label.c_str(), bar.c_str(),
               format_bytes(static_cast<double>(done_)).c_str(), format_bytes(static_cast<double>(total_)).c_str(),
               format_bytes(rate).c_str(), eta.c_str());
  if (final_line) std::fputc('\n', out_);
  std::fflush(out_);
}

std::unique_ptr<ProgressSink> make_progress(FILE* out) {
  if (!::isatty(::fileno(out))) return nullptr;
  return std::make_unique<TerminalProgress>(out);
}

}  // namespace mhub::hub
