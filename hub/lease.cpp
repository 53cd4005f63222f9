#include "hub/lease.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <ctime>
#include <random>
#include <sstream>

#include "common/atomic_file.h"
#include "common/error.h"

namespace fs = std::filesystem;

namespace mhub::hub {

namespace {

std::string this_host() {
  char name[256] = {0};
  ::gethostname(name, sizeof(name) - 1);
  return name;
}

// The file's contents, or "" when it cannot be read (gone, or being written).
std::string read_lease(const fs::path& file) {
  int fd = ::open(file.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return "";
  char buffer[512];
  ssize_t got = ::read(fd, buffer, sizeof(buffer));
  ::close(fd);
  return got > 0 ? std::string(buffer, static_cast<size_t>(got)) : "";
}

double age_seconds(const fs::path& file) {
  struct stat info {};
  if (::stat(file.c_str(), &info) != 0) return -1;
  timespec now{};
  ::clock_gettime(CLOCK_REALTIME, &now);
  return static_cast<double>(now.tv_sec - info.st_mtim.tv_sec) + (now.tv_nsec - info.st_mtim.tv_nsec) * 1e-9;
}

// Whether a lease with this content and age may be taken over.
bool is_stale(const std::string& content, double age, double stale_after_s) {
  if (age < 0) return false;  // gone: nothing to take over, just try again
  if (age > stale_after_s) return true;
  std::istringstream fields(content);
  long pid = 0;
  std::string host;
  if (!(fields >> pid >> host)) return age > 5;  // unreadable for long: a writer died mid-write
  if (host == this_host() && pid > 0 && ::kill(static_cast<pid_t>(pid), 0) != 0 && errno == ESRCH) return true;
  return false;
}

// O_EXCL create with the content; false when the file exists.
bool create_exclusive(const fs::path& file, const std::string& content) {
  int fd = ::open(file.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  if (fd < 0) {
    if (errno == EEXIST) return false;
    throw_error(ErrorCategory::io, file.string() + ": cannot create lease file: " + std::strerror(errno) +
                                       "; check that the cache folder is writable");
  }
  bool ok = ::write(fd, content.data(), content.size()) == static_cast<ssize_t>(content.size());
  ::close(fd);
  if (!ok) {
    ::unlink(file.c_str());
    throw_error(ErrorCategory::io, file.string() + ": cannot write lease file (disk full?)");
  }
  return true;
}

}  // namespace

LeaseOptions lease_options_from_env() {
  LeaseOptions options;
  if (const char* value = std::getenv("MHUB_LEASE_STALE_S")) {
    double seconds = std::atof(value);
    if (seconds > 0) {
      options.stale_after_s = seconds;
      options.heartbeat_s = std::min(options.heartbeat_s, seconds / 4);
    }
  }
  return options;
}

bool lease_is_live(const fs::path& file, double stale_after_s) {
  double age = age_seconds(file);
  if (age < 0) return false;
  return !is_stale(read_lease(file), age, stale_after_s);
}

Lease::Lease(fs::path file, std::string content, const LeaseOptions& options)
    : file_(std::move(file)), content_(std::move(content)) {
  double beat = options.heartbeat_s;
  heartbeat_ = std::thread([this, beat] {
    auto next = std::chrono::steady_clock::now();
    while (!stop_) {
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
      if (std::chrono::steady_clock::now() < next) continue;
      next = std::chrono::steady_clock::now() + std::chrono::duration_cast<std::chrono::steady_clock::duration>(
                                                     std::chrono::duration<double>(beat));
      if (still_owned()) ::utimensat(AT_FDCWD, file_.c_str(), nullptr, 0);
    }
  });
}

Lease::~Lease() {
  stop_ = true;
  heartbeat_.join();
  if (still_owned()) ::unlink(file_.c_str());
}

bool Lease::still_owned() const { return read_lease(file_) == content_; }

std::unique_ptr<Lease> Lease::try_acquire(const fs::path& file, const LeaseOptions& options) {
  fs::create_directories(file.parent_path());
  static std::mt19937_64 random{std::random_device{}()};
  std::string content = std::to_string(::getpid()) + " " + this_host() + " " + std::to_string(random()) + "\n";
  if (create_exclusive(file, content)) return std::unique_ptr<Lease>(new Lease(file, content, options));
  std::string seen = read_lease(file);
  if (!is_stale(seen, age_seconds(file), options.stale_after_s)) return nullptr;
  // Take over under a takeover file, re-checking that the lease is the same stale one.
  fs::path takeover = file.string() + ".takeover";
  if (!create_exclusive(takeover, content)) {
    if (age_seconds(takeover) > 10) ::unlink(takeover.c_str());  // its creator died mid-takeover
    return nullptr;
  }
  std::unique_ptr<Lease> lease;
  if (read_lease(file) == seen && is_stale(seen, age_seconds(file), options.stale_after_s)) {
    ::unlink(file.c_str());
    if (create_exclusive(file, content)) lease.reset(new Lease(file, content, options));
  }
  ::unlink(takeover.c_str());
  return lease;
}

}  // namespace mhub::hub
