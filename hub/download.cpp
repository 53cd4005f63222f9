#include "hub/download.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <sstream>
#include <thread>
#include <vector>

#include "common/atomic_file.h"
#include "common/error.h"
#include "common/printable.h"
#include "hub/hashing.h"

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

namespace mhub::hub {

namespace {

struct ChunkState {
  bool done = false;
  bool active = false;
  int failures = 0;
  Clock::time_point not_before{};
  std::string last_problem;
};

class ChunkedDownload;

struct Transfer {
  ChunkedDownload* owner = nullptr;
  CURL* easy = nullptr;
  curl_slist* headers = nullptr;
  size_t chunk = 0;
  uint64_t next_offset = 0;  // where the next body byte goes
  uint64_t end = 0;          // one past the chunk's last byte
  bool checked_status = false;
  std::string failure;       // why the write callback stopped the transfer
  bool permanent = false;    // the failure is not worth retrying
  int write_errno = 0;
  std::string retry_after;
  std::string content_range;
  std::string pending;        // received bytes not yet written; they start at pending_offset
  uint64_t pending_offset = 0;
  char error_buffer[CURL_ERROR_SIZE] = {0};
};

// The state of one blob's transfer; lives while ensure_blob holds the lease.
class ChunkedDownload {
 public:
  ChunkedDownload(const HttpConfig& http, const HubCache& cache, const BlobRequest& request,
                  const DownloadOptions& options, const Lease& lease)
      : http_(http), request_(request), options_(options), lease_(lease),
        incomplete_(cache.incomplete_path(request.repo, request.etag)),
        record_(incomplete_.string() + ".ranges"),
        blob_(cache.blob_path(request.repo, request.etag)) {}
  ~ChunkedDownload() {
    if (fd_ >= 0) ::close(fd_);
    if (record_fd_ >= 0) ::close(record_fd_);
    if (multi_) curl_multi_cleanup(multi_);
  }

  // Downloads, verifies, installs. Returns the sha256.
  std::string run(uint64_t& fetched_bytes);

  // Called by libcurl from inside curl_multi_perform (same thread).
  size_t on_body(Transfer& transfer, const char* data, size_t size);
  // Writes a transfer's buffered bytes at their offset. False (errno kept) when the disk says no.
  bool flush(Transfer& transfer);

 private:
  void open_partial_file();
  void plan_chunks(uint64_t chunk_bytes);
  bool load_record();
  void save_record();
  void record_chunk_done(size_t chunk);
  void check_free_space(uint64_t needed);
  void start_transfer(size_t chunk);
  void finish_transfer(Transfer* transfer, CURLcode result);
  void abort_all_transfers();
  void catch_up_hash();
  void transfer_all();
  uint64_t chunk_begin(size_t chunk) const { return chunk * chunk_bytes_; }
  uint64_t chunk_end(size_t chunk) const { return std::min(request_.size, (chunk + 1) * chunk_bytes_); }
  [[noreturn]] void fail(ErrorCategory category, const std::string& message);

  const HttpConfig& http_;
  const BlobRequest& request_;
  const DownloadOptions& options_;
  const Lease& lease_;
  fs::path incomplete_, record_, blob_;
  int fd_ = -1;
  int record_fd_ = -1;       // the record, open for one-byte updates
  size_t record_bits_at_ = 0;  // offset of the first chunk's '0'/'1' in the record
  uint64_t chunk_bytes_ = 0;
  std::vector<ChunkState> chunks_;
  size_t done_count_ = 0;
  size_t reused_chunks_ = 0;
  std::unique_ptr<BlobHasher> hasher_;
  uint64_t hash_cursor_ = 0;  // bytes [0, cursor) are hashed
  CURLM* multi_ = nullptr;
  std::vector<std::unique_ptr<Transfer>> active_;
  uint64_t fetched_ = 0;
  bool whole_file_fallback_ = false;  // the server ignored Range: one chunk, one connection
  Clock::time_point server_not_before_{};  // a Retry-After pauses every new request, not one chunk
};

size_t body_callback(char* data, size_t size, size_t count, void* user) {
  auto* transfer = static_cast<Transfer*>(user);
  return transfer->owner->on_body(*transfer, data, size * count);
}

size_t header_callback(char* data, size_t size, size_t count, void* user) {
  auto* transfer = static_cast<Transfer*>(user);
  std::string line(data, size * count);
  auto value_of = [&](const char* lower_name) -> std::string {
    size_t n = std::strlen(lower_name);
    if (line.size() <= n || line[n] != ':') return "";
    for (size_t i = 0; i < n; ++i)
      if (std::tolower(static_cast<unsigned char>(line[i])) != lower_name[i]) return "";
    size_t begin = line.find_first_not_of(" \t", n + 1);
    size_t end = line.find_last_not_of(" \t\r\n");
    return begin == std::string::npos || end < begin ? "" : line.substr(begin, end - begin + 1);
  };
  if (line.rfind("HTTP/", 0) == 0) {  // a new response (after a redirect): forget the old one
    transfer->retry_after.clear();
    transfer->content_range.clear();
  }
  if (auto value = value_of("retry-after"); !value.empty()) transfer->retry_after = value;
  if (auto value = value_of("content-range"); !value.empty()) transfer->content_range = value;
  return size * count;
}

void ChunkedDownload::fail(ErrorCategory category, const std::string& message) {
  abort_all_transfers();
  if (!chunks_.empty() && category != ErrorCategory::integrity) save_record();
  throw_error(category, mask_secrets(message, http_));
}

void ChunkedDownload::plan_chunks(uint64_t chunk_bytes) {
  chunk_bytes_ = std::max<uint64_t>(chunk_bytes, 1);
  size_t count = request_.size == 0 ? 0 : static_cast<size_t>((request_.size + chunk_bytes_ - 1) / chunk_bytes_);
  chunks_.assign(count, ChunkState{});
  done_count_ = 0;
}

// Record format, text: "mhub-ranges 1 <size> <chunk_bytes> <etag> <one 0/1 per chunk>".
bool ChunkedDownload::load_record() {
  std::error_code error;
  if (!fs::exists(record_, error)) return false;
  std::istringstream in(read_whole_file(record_));
  std::string magic, etag, bits;
  int version = 0;
  uint64_t size = 0, chunk_bytes = 0;
  if (!(in >> magic >> version >> size >> chunk_bytes >> etag >> bits) || magic != "mhub-ranges" || version != 1 ||
      size != request_.size || etag != request_.etag || chunk_bytes == 0)
    return false;
  plan_chunks(chunk_bytes);
  if (bits.size() != chunks_.size()) return false;
  for (size_t i = 0; i < chunks_.size(); ++i) {
    chunks_[i].done = bits[i] == '1';
    done_count_ += chunks_[i].done;
  }
  return true;
}

// The whole record, written atomically; then kept open so that each finished chunk flips one
// byte in place (a one-byte pwrite cannot tear, and needs no fsync: after kill -9 the page cache
// still holds it; after a power cut the final checksum catches anything the record got wrong).
void ChunkedDownload::save_record() {
  std::string bits;
  for (const auto& chunk : chunks_) bits += chunk.done ? '1' : '0';
  std::string head = "mhub-ranges 1 " + std::to_string(request_.size) + " " + std::to_string(chunk_bytes_) + " " +
                     request_.etag + " ";
  write_file_atomically(record_, head + bits + "\n");
  if (record_fd_ >= 0) ::close(record_fd_);
  record_fd_ = ::open(record_.c_str(), O_WRONLY | O_CLOEXEC);
  if (record_fd_ < 0) throw_error(ErrorCategory::io, record_.string() + ": cannot open: " + std::strerror(errno));
  record_bits_at_ = head.size();
}

void ChunkedDownload::record_chunk_done(size_t chunk) {
  if (::pwrite(record_fd_, "1", 1, static_cast<off_t>(record_bits_at_ + chunk)) != 1)
    fail(ErrorCategory::io, record_.string() + ": cannot update: " + std::strerror(errno));
}

void ChunkedDownload::open_partial_file() {
  fs::create_directories(incomplete_.parent_path());
  fd_ = ::open(incomplete_.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd_ < 0)
    throw_error(ErrorCategory::io, incomplete_.string() + ": cannot open: " + std::strerror(errno) +
                                       "; check that the cache folder is writable");
  struct stat info {};
  ::fstat(fd_, &info);
  uint64_t on_disk = static_cast<uint64_t>(info.st_size);
  // The file grows as ranges land (no preallocation), so a full disk shows up as a failed write.
  bool resumed = load_record();
  for (size_t i = 0; resumed && i < chunks_.size(); ++i)
    if (chunks_[i].done && chunk_end(i) > on_disk) resumed = false;  // record and file disagree
  if (!resumed) {
    plan_chunks(whole_file_fallback_ ? std::max<uint64_t>(request_.size, 1) : options_.chunk_bytes);
    // No record: a sequential prefix (huggingface_hub's own partial files) is kept by whole chunks.
    if (on_disk > 0 && on_disk <= request_.size && !fs::exists(record_)) {
      for (size_t i = 0; i < chunks_.size() && chunk_end(i) <= on_disk; ++i) {
        chunks_[i].done = true;
        ++done_count_;
      }
    }
    uint64_t keep = done_count_ == 0 ? 0 : chunk_end(done_count_ - 1);
    if (::ftruncate(fd_, static_cast<off_t>(keep)) != 0)
      throw_error(ErrorCategory::io, incomplete_.string() + ": cannot truncate the partial file: " + std::strerror(errno));
  }
  save_record();  // also when resuming: opens the record for in-place updates
  reused_chunks_ = done_count_;
}

void ChunkedDownload::check_free_space(uint64_t needed) {
  struct statvfs info {};
  if (::statvfs(incomplete_.parent_path().c_str(), &info) != 0) return;  // unknown: let writes tell
  uint64_t available = static_cast<uint64_t>(info.f_bavail) * info.f_frsize;
  if (available < needed)
    throw_error(ErrorCategory::io, incomplete_.parent_path().string() + ": needs " + format_bytes(needed) +
                                       " free but only " + format_bytes(available) +
                                       " are; free space (mhub cache prune) or set HF_HUB_CACHE elsewhere");
}

void ChunkedDownload::catch_up_hash() {
  std::vector<char> buffer;
  while (hash_cursor_ < request_.size) {
    size_t chunk = static_cast<size_t>(hash_cursor_ / chunk_bytes_);
    if (!chunks_[chunk].done) return;
    uint64_t end = chunk_end(chunk);
    buffer.resize(std::min<uint64_t>(end - hash_cursor_, 4u << 20));
    ssize_t got = ::pread(fd_, buffer.data(), buffer.size(), static_cast<off_t>(hash_cursor_));
    if (got <= 0)
      fail(ErrorCategory::io, incomplete_.string() + ": cannot read back for hashing: " +
                                  (got < 0 ? std::strerror(errno) : "file shrank"));
    hasher_->update(buffer.data(), static_cast<size_t>(got));
    hash_cursor_ += static_cast<uint64_t>(got);
  }
}

size_t ChunkedDownload::on_body(Transfer& transfer, const char* data, size_t size) {
  if (!transfer.checked_status) {
    transfer.checked_status = true;
    long status = 0;
    curl_easy_getinfo(transfer.easy, CURLINFO_RESPONSE_CODE, &status);
    uint64_t begin = chunk_begin(transfer.chunk);
    bool whole_file = begin == 0 && transfer.end == request_.size;
    if (status == 200 && !whole_file) {
      transfer.failure = "the server ignored the Range header";
      return 0;
    }
    if (status != 206 && status != 200) {
      transfer.failure = "HTTP " + std::to_string(status);
      transfer.permanent = !is_retryable_status(status);
      return 0;
    }
    if (status == 206) {
      std::string expected = "bytes " + std::to_string(begin) + "-" + std::to_string(transfer.end - 1) + "/";
      if (transfer.content_range.rfind(expected, 0) != 0) {
        transfer.failure = "unexpected Content-Range '" + transfer.content_range + "'";
        return 0;
      }
    }
  }
  if (transfer.next_offset + size > transfer.end) {
    transfer.failure = "the server sent more bytes than requested";
    return 0;
  }
  // libcurl hands over at most 16 KiB per call; writing in 1 MiB pieces saves 64x the syscalls.
  if (transfer.pending.empty()) transfer.pending_offset = transfer.next_offset;
  transfer.pending.append(data, size);
  if (transfer.pending.size() >= (1u << 20) && !flush(transfer)) return 0;
  // Hash straight from the network buffer when these bytes continue the hashed prefix.
  if (transfer.next_offset <= hash_cursor_ && hash_cursor_ < transfer.next_offset + size) {
    uint64_t skip = hash_cursor_ - transfer.next_offset;
    hasher_->update(data + skip, size - skip);
    hash_cursor_ += size - skip;
  }
  transfer.next_offset += size;
  fetched_ += size;
  if (options_.progress) options_.progress->advance(size);
  return size;
}

bool ChunkedDownload::flush(Transfer& transfer) {
  const char* at = transfer.pending.data();
  size_t left = transfer.pending.size();
  uint64_t offset = transfer.pending_offset;
  while (left > 0) {
    ssize_t written = ::pwrite(fd_, at, left, static_cast<off_t>(offset));
    if (written < 0 && errno == EINTR) continue;
    if (written <= 0) {
      transfer.write_errno = written < 0 ? errno : ENOSPC;
      transfer.permanent = true;
      return false;
    }
    at += written;
    left -= static_cast<size_t>(written);
    offset += static_cast<uint64_t>(written);
  }
  transfer.pending_offset = offset;
  transfer.pending.clear();
  return true;
}

void ChunkedDownload::start_transfer(size_t chunk) {
  auto transfer = std::make_unique<Transfer>();
  transfer->owner = this;
  transfer->chunk = chunk;
  transfer->next_offset = chunk_begin(chunk);
  transfer->end = chunk_end(chunk);
  transfer->easy = curl_easy_init();
  if (!transfer->easy) throw_error(ErrorCategory::internal, __FILE__ ": curl_easy_init returned null");
  CURL* easy = transfer->easy;
  apply_common_options(easy, http_);
  CURL_CHECK(curl_easy_setopt(easy, CURLOPT_URL, request_.url.c_str()));
  CURL_CHECK(curl_easy_setopt(easy, CURLOPT_ERRORBUFFER, transfer->error_buffer));
  // The CDN may redirect further; libcurl never sends our Authorization header to another host.
  CURL_CHECK(curl_easy_setopt(easy, CURLOPT_FOLLOWLOCATION, 1L));
  CURL_CHECK(curl_easy_setopt(easy, CURLOPT_MAXREDIRS, 10L));
  CURL_CHECK(curl_easy_setopt(easy, CURLOPT_BUFFERSIZE, 512L * 1024));
  std::string range = std::to_string(transfer->next_offset) + "-" + std::to_string(transfer->end - 1);
  CURL_CHECK(curl_easy_setopt(easy, CURLOPT_RANGE, range.c_str()));
  transfer->headers = curl_slist_append(transfer->headers, "Accept-Encoding: identity");
  if (!http_.token.empty() && origin_of(request_.url) == origin_of(http_.endpoint)) {
    std::string authorization = "Authorization: Bearer " + http_.token;
    transfer->headers = curl_slist_append(transfer->headers, authorization.c_str());
  }
  CURL_CHECK(curl_easy_setopt(easy, CURLOPT_HTTPHEADER, transfer->headers));
  CURL_CHECK(curl_easy_setopt(easy, CURLOPT_WRITEFUNCTION, body_callback));
  CURL_CHECK(curl_easy_setopt(easy, CURLOPT_WRITEDATA, transfer.get()));
  CURL_CHECK(curl_easy_setopt(easy, CURLOPT_HEADERFUNCTION, header_callback));
  CURL_CHECK(curl_easy_setopt(easy, CURLOPT_HEADERDATA, transfer.get()));
  CURL_CHECK(curl_easy_setopt(easy, CURLOPT_PRIVATE, transfer.get()));
  CURLM_CHECK(curl_multi_add_handle(multi_, easy));
  chunks_[chunk].active = true;
  active_.push_back(std::move(transfer));
}

void ChunkedDownload::abort_all_transfers() {
  for (auto& transfer : active_) {
    curl_multi_remove_handle(multi_, transfer->easy);
    curl_easy_cleanup(transfer->easy);
    curl_slist_free_all(transfer->headers);
    chunks_[transfer->chunk].active = false;
  }
  active_.clear();
}

void ChunkedDownload::finish_transfer(Transfer* transfer, CURLcode result) {
  flush(*transfer);  // also after a failure: received bytes are right, only unrecorded
  long status = 0;
  curl_easy_getinfo(transfer->easy, CURLINFO_RESPONSE_CODE, &status);
  const size_t index = transfer->chunk;
  const uint64_t begin = chunk_begin(index);
  ChunkState& chunk = chunks_[index];
  chunk.active = false;
  bool complete = result == CURLE_OK && transfer->failure.empty() && transfer->next_offset == transfer->end &&
                  (status == 206 || status == 200);
  std::string problem = transfer->failure;
  if (problem.empty() && result != CURLE_OK)
    problem = transfer->error_buffer[0] ? transfer->error_buffer : curl_easy_strerror(result);
  if (problem.empty() && !complete)
    problem = "HTTP " + std::to_string(status) + ", " + std::to_string(transfer->next_offset - begin) + " of " +
              std::to_string(transfer->end - begin) + " bytes";
  const int write_errno = transfer->write_errno;
  bool permanent = transfer->permanent || result == CURLE_PEER_FAILED_VERIFICATION ||
                   result == CURLE_SSL_CACERT_BADFILE || result == CURLE_COULDNT_RESOLVE_HOST;
  std::string retry_after = transfer->retry_after;
  bool ignored_range = transfer->failure == "the server ignored the Range header";
  auto found = std::find_if(active_.begin(), active_.end(), [&](auto& t) { return t.get() == transfer; });
  curl_multi_remove_handle(multi_, transfer->easy);
  curl_easy_cleanup(transfer->easy);
  curl_slist_free_all(transfer->headers);
  active_.erase(found);

  if (complete && write_errno == 0) {
    // Start writing this chunk back now, so the final fsync has little left to do.
    ::sync_file_range(fd_, static_cast<off_t>(begin), static_cast<off_t>(chunk_end(index) - begin), SYNC_FILE_RANGE_WRITE);
    chunk.done = true;
    ++done_count_;
    record_chunk_done(index);
    catch_up_hash();
    return;
  }
  if (write_errno)
    fail(ErrorCategory::io, incomplete_.string() + ": write failed: " + std::strerror(write_errno) +
                                "; free disk space (mhub cache prune) and pull again to resume");
  if (ignored_range) {
    whole_file_fallback_ = true;
    return;
  }
  if (permanent)
    fail(ErrorCategory::network, "GET " + request_.url + ": " + problem +
                                     (result == CURLE_PEER_FAILED_VERIFICATION
                                          ? "; pass the server's CA with --cacert FILE or SSL_CERT_FILE"
                                          : "; check the URL and your access (HF_TOKEN)"));
  ++chunk.failures;
  chunk.last_problem = problem;
  if (chunk.failures >= http_.max_attempts)
    fail(ErrorCategory::network, "GET " + request_.url + " (bytes " + std::to_string(begin) +
                                     "-): " + problem + " (gave up after " + std::to_string(chunk.failures) +
                                     " attempts); pull again to resume from what is on disk");
  double server_wait = parse_retry_after(retry_after);
  double wait = server_wait >= 0 ? std::min(server_wait, http_.retry_after_max_s) : backoff_seconds(http_, chunk.failures);
  chunk.not_before = Clock::now() + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(wait));
  if (server_wait >= 0) server_not_before_ = std::max(server_not_before_, chunk.not_before);
}

void ChunkedDownload::transfer_all() {
  multi_ = curl_multi_init();
  if (!multi_) throw_error(ErrorCategory::internal, __FILE__ ": curl_multi_init returned null");
  int connections = whole_file_fallback_ ? 1 : std::max(1, options_.connections);
  CURLM_CHECK(curl_multi_setopt(multi_, CURLMOPT_MAX_HOST_CONNECTIONS, static_cast<long>(connections)));
  while (done_count_ < chunks_.size()) {
    if (whole_file_fallback_ && chunks_.size() > 1) return;  // replanned by run()
    auto now = Clock::now();
    // Fill free connections with the lowest-offset chunks that may start now (keeps the hashed
    // prefix growing steadily).
    for (size_t chunk = 0; chunk < chunks_.size() && active_.size() < static_cast<size_t>(connections); ++chunk) {
      if (!chunks_[chunk].done && !chunks_[chunk].active && chunks_[chunk].not_before <= now &&
          server_not_before_ <= now)
        start_transfer(chunk);
    }
    int running = 0;
    CURLM_CHECK(curl_multi_perform(multi_, &running));
    int queued = 0;
    bool finished_any = false;
    while (CURLMsg* message = curl_multi_info_read(multi_, &queued)) {
      if (message->msg != CURLMSG_DONE) continue;
      finished_any = true;
      Transfer* transfer = nullptr;
      CURL_CHECK(curl_easy_getinfo(message->easy_handle, CURLINFO_PRIVATE, reinterpret_cast<char**>(&transfer)));
      finish_transfer(transfer, message->data.result);
      if (whole_file_fallback_) {
        abort_all_transfers();
        return;
      }
    }
    if (!lease_.still_owned())
      fail(ErrorCategory::io, incomplete_.string() + ": another process took over this download (this one "
                                                    "was judged stale); pull again");
    // A finished chunk frees a connection: start the next one now instead of waiting in poll.
    if (!finished_any) CURLM_CHECK(curl_multi_poll(multi_, nullptr, 0, 100, nullptr));
  }
}

std::string ChunkedDownload::run(uint64_t& fetched_bytes) {
  if (!is_verifiable_etag(request_.etag))
    throw_error(ErrorCategory::integrity, request_.url + ": etag '" + request_.etag +
                                              "' is neither a sha256 nor a git sha1; mhub cannot verify it");
  for (int round = 0;; ++round) {
    {
      // Before planning chunks: a absurd size must be refused, not allocated for.
      std::error_code error;
      uint64_t on_disk = fs::exists(incomplete_, error) ? fs::file_size(incomplete_, error) : 0;
      fs::create_directories(incomplete_.parent_path());
      check_free_space(request_.size - std::min(on_disk, request_.size));
    }
    open_partial_file();
    hasher_ = std::make_unique<BlobHasher>(request_.etag.size() == 40 ? static_cast<int64_t>(request_.size) : -1);
    hash_cursor_ = 0;
    catch_up_hash();
    if (options_.progress)
      options_.progress->start(options_.label, request_.size, done_count_ * chunk_bytes_ > request_.size
                                                                  ? request_.size
                                                                  : done_count_ * chunk_bytes_);
    transfer_all();
    if (whole_file_fallback_ && chunks_.size() > 1) {
      // Start again with one whole-file request; what is on disk cannot be trusted per chunk.
      ::close(fd_);
      fd_ = -1;
      ::unlink(record_.c_str());
      ::unlink(incomplete_.c_str());
      continue;
    }
    if (multi_) {
      curl_multi_cleanup(multi_);
      multi_ = nullptr;
    }
    catch_up_hash();
    if (options_.progress) options_.progress->finish();
    std::string sha256 = hasher_->sha256_hex();
    std::string actual = request_.etag.size() == 40 ? hasher_->git_sha1_hex() : sha256;
    fetched_bytes = fetched_;
    if (actual == request_.etag && hash_cursor_ == request_.size) {
      if (::fsync(fd_) != 0)
        throw_error(ErrorCategory::io, incomplete_.string() + ": fsync failed: " + std::strerror(errno));
      ::close(fd_);
      fd_ = -1;
      if (::rename(incomplete_.c_str(), blob_.c_str()) != 0)
        throw_error(ErrorCategory::io, blob_.string() + ": cannot install the verified blob: " + std::strerror(errno));
      ::unlink(record_.c_str());
      int folder = ::open(blob_.parent_path().c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
      if (folder >= 0) {
        ::fsync(folder);
        ::close(folder);
      }
      return sha256;
    }
    ::close(fd_);
    fd_ = -1;
    ::unlink(record_.c_str());
    ::unlink(incomplete_.c_str());
    // Bytes reused from an earlier run may be what is wrong: one clean retry before giving up.
    if (reused_chunks_ > 0 && round == 0) continue;
    throw_error(ErrorCategory::integrity,
                mask_secrets(request_.url, http_) + ": downloaded bytes have checksum " + actual + ", expected " +
                    request_.etag + "; nothing was installed. Pull again; if it repeats, the server or a proxy "
                                    "alters the file");
  }
}

}  // namespace

BlobResult ensure_blob(const HttpConfig& http, const HubCache& cache, const BlobRequest& request,
                       const DownloadOptions& options) {
  // The etag names the blob, its lease and Python's lock file: checked before any of them exists.
  if (!is_verifiable_etag(request.etag))
    throw_error(ErrorCategory::integrity, mask_secrets(request.url, http) + ": etag '" + printable(request.etag) +
                                              "' is neither a sha256 nor a git sha1; mhub cannot verify it");
  BlobResult result;
  result.blob = cache.blob_path(request.repo, request.etag);
  auto reuse = [&]() {
    result.reused = true;
    result.sha256 = request.etag.size() == 64 ? request.etag : verify_blob_file(result.blob, request.etag);
    return result;
  };
  std::error_code error;
  if (fs::is_regular_file(result.blob, error)) return reuse();
  if (http.offline)
    throw_error(ErrorCategory::network, "offline mode: blob " + request.etag + " of '" + request.repo +
                                            "' is not in the cache " + cache.root().string() +
                                            "; pull it once online");
  fs::path lease_file = cache.inside(cache.lease_path(request.repo, request.etag));
  cache.inside(cache.incomplete_path(request.repo, request.etag));
  bool told_waiting = false;
  for (;;) {
    std::unique_ptr<Lease> lease = Lease::try_acquire(lease_file, options.lease);
    if (fs::is_regular_file(result.blob, error)) return reuse();  // another process finished it
    if (!lease) {
      if (!told_waiting && options.progress)
        options.progress->start(options.label + " (another process is downloading it)", request.size, 0);
      told_waiting = true;
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
      continue;
    }
    // huggingface_hub downloads under flock(.locks/<repo>/<etag>.lock): while Python holds it,
    // its .incomplete file is being appended to, so wait. (Where flock does nothing, the lease
    // above still keeps mhub processes apart.)
    fs::path python_lock = lease_file.parent_path() / (request.etag + ".lock");
    int lock_fd = ::open(python_lock.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (lock_fd >= 0 && ::flock(lock_fd, LOCK_EX | LOCK_NB) != 0 && errno == EWOULDBLOCK) {
      ::close(lock_fd);
      lease.reset();
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
      continue;
    }
    struct LockCloser {
      int fd;
      ~LockCloser() {
        if (fd >= 0) ::close(fd);  // closing releases the flock
      }
    } closer{lock_fd};
    ChunkedDownload download(http, cache, request, options, *lease);
    result.sha256 = download.run(result.fetched_bytes);
    return result;
  }
}

}  // namespace mhub::hub
