// Who downloads a blob: an O_EXCL lease file, so that several processes pulling the same blob
// make one transfer, also on file systems where flock does nothing (NFS, some FUSE mounts).
//
// The file holds "pid host token"; its holder touches its mtime every heartbeat. A lease is
// stale when its mtime is older than stale_after_s, or when it was written on this host by a pid
// that no longer exists. A stale lease is taken over under a short-lived "<lease>.takeover"
// O_EXCL file, so two processes never both take it over.
#pragma once

#include <atomic>
#include <filesystem>
#include <memory>
#include <string>
#include <thread>

namespace mhub::hub {

struct LeaseOptions {
  double stale_after_s = 30;  // MHUB_LEASE_STALE_S overrides (tests)
  double heartbeat_s = 2;
};

LeaseOptions lease_options_from_env();

class Lease {
 public:
  // One try: an owned lease, or nullptr when a live holder has it. Takes over stale leases.
  // Throws mhub::Error(io) when the folder cannot be written.
  static std::unique_ptr<Lease> try_acquire(const std::filesystem::path& file, const LeaseOptions& options);
  ~Lease();  // stops the heartbeat and removes the file if it is still ours
  Lease(const Lease&) = delete;
  Lease& operator=(const Lease&) = delete;
  // False once another process took the lease over (this one was judged stale).
  bool still_owned() const;

 private:
  Lease(std::filesystem::path file, std::string content, const LeaseOptions& options);
  std::filesystem::path file_;
  std::string content_;
  std::atomic<bool> stop_{false};
  std::thread heartbeat_;
};

// True when a lease file exists and is not stale.
bool lease_is_live(const std::filesystem::path& file, double stale_after_s = lease_options_from_env().stale_after_s);

}  // namespace mhub::hub
