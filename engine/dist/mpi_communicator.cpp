#include "engine/dist/mpi_communicator.h"

#include <algorithm>
#include <climits>
#include <exception>
#include <string>
#include <thread>
#include <vector>

#include "common/error.h"

namespace mhub::dist {
namespace {

[[noreturn]] void throw_mpi_error(const char* call, const char* file, int line, int code) {
  char text[MPI_MAX_ERROR_STRING] = {};
  int length = 0;
  if (MPI_Error_string(code, text, &length) != MPI_SUCCESS) std::snprintf(text, sizeof text, "MPI error %d", code);
  throw Error(ErrorCategory::network, std::string("MPI call ") + call + " failed at " + file + ":" + std::to_string(line) + ": " + text);
}

#define MHUB_MPI_CHECK(call)                                                  \
  do {                                                                        \
    const int mhub_mpi_status_ = (call);                                      \
    if (mhub_mpi_status_ != MPI_SUCCESS) throw_mpi_error(#call, __FILE__, __LINE__, mhub_mpi_status_); \
  } while (0)

// Tags of the diagnosis after a timeout, on the communicator's own copy of MPI_COMM_WORLD.
constexpr int kPingTag = 4711, kPongTag = 4712;
// Float all-reduces go in pieces of at most this many elements (broadcasts too, one piece after
// another: they run once, at the start): MPI counts are ints, and Open MPI's
// shared-memory transport (vader without single-copy) falls off a cliff when large pieces are in
// flight: on this 2-core machine, quiet, 2 ranks, a 16 MiB buffer took 63.7 ms in 8 MiB pieces
// and 57 ms in 4 MiB pieces but 3.4 ms in 1 MiB pieces, 64 MiB 251 ms whole against 14.1 ms in
// 1 MiB pieces (about 4.5 GB/s at every size from 8 to 64 MiB). A gradient bucket (25 MiB by
// default), or one gradient larger than a bucket (an embedding), can be any size.
constexpr size_t kMaxPiece = (size_t{1} << 20) / sizeof(float);
// And at most this many pieces in flight, the next one started as one finishes: the collapse
// comes from the bytes in flight (64 MiB took 236 ms with its 64 pieces started at once, 14.8 ms
// started one after another with progress in between).
constexpr size_t kMaxPiecesInFlight = 4;

int checked_count(size_t count, const char* what) {
  if (count > static_cast<size_t>(INT_MAX))
    throw Error(ErrorCategory::unsupported, std::string(what) + " of " + std::to_string(count) + " values: more than MPI's int count per rank");
  return static_cast<int>(count);
}

void divide(float* data, size_t count, int by) {
  const float inverse = 1.0f / static_cast<float>(by);
  for (size_t i = 0; i < count; ++i) data[i] *= inverse;
}

}  // namespace

MpiCommunicator::MpiCommunicator(std::chrono::milliseconds timeout) : timeout_(timeout) {
  int initialised = 0;
  MHUB_MPI_CHECK(MPI_Initialized(&initialised));
  if (!initialised) {
    int provided = 0;
    MHUB_MPI_CHECK(MPI_Init_thread(nullptr, nullptr, MPI_THREAD_FUNNELED, &provided));
    initialised_here_ = true;
  }
  // Errors come back as codes (checked above) instead of aborting the job from inside MPI.
  MHUB_MPI_CHECK(MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN));
  MHUB_MPI_CHECK(MPI_Comm_dup(MPI_COMM_WORLD, &world_));
  MHUB_MPI_CHECK(MPI_Comm_set_errhandler(world_, MPI_ERRORS_RETURN));
  MHUB_MPI_CHECK(MPI_Comm_rank(world_, &rank_));
  MHUB_MPI_CHECK(MPI_Comm_size(world_, &size_));
  MPI_Comm node = MPI_COMM_NULL;
  MHUB_MPI_CHECK(MPI_Comm_split_type(world_, MPI_COMM_TYPE_SHARED, rank_, MPI_INFO_NULL, &node));
  MHUB_MPI_CHECK(MPI_Comm_rank(node, &local_rank_));
  MHUB_MPI_CHECK(MPI_Comm_free(&node));
}

MpiCommunicator::~MpiCommunicator() {
  // A rank is missing, or this one is leaving with an error while the others may still wait in
  // a collective: finalising would wait for them. Exiting unfinalised makes mpirun end the job.
  if (broken_ || std::uncaught_exceptions() > 0) return;
  if (world_ != MPI_COMM_NULL) MPI_Comm_free(&world_);
  if (initialised_here_) MPI_Finalize();
}

std::chrono::milliseconds MpiCommunicator::window() const {
  // The last part of the timeout is kept for finding out who is missing (diagnose).
  return std::min<std::chrono::milliseconds>(timeout_ / 4, std::chrono::seconds(10));
}

std::chrono::steady_clock::time_point MpiCommunicator::deadline() const {
  return std::chrono::steady_clock::now() + (timeout_ - window());
}

template <typename Start>
void MpiCommunicator::run(const char* what, Start start) {
  if (broken_) throw Error(ErrorCategory::network, std::string(what) + ": an earlier collective failed; the run cannot go on");
  const auto until = deadline();
  // Started reductions still queued go first: every rank must start its collectives in one order.
  drain(what, until);
  const uint64_t sequence = ++sequence_;
  MPI_Request collective = MPI_REQUEST_NULL;
  start(&collective);
  complete(what, collective, sequence, until);
}

void MpiCommunicator::complete(const char* what, MPI_Request& request, uint64_t sequence, std::chrono::steady_clock::time_point until) {
  // Poll to completion; yield between polls so a rank sharing its core with another lets it run.
  for (int polls = 0;; ++polls) {
    int done = 0;
    MHUB_MPI_CHECK(MPI_Test(&request, &done, MPI_STATUS_IGNORE));
    if (done) return;
    if (std::chrono::steady_clock::now() > until) break;
    if (polls > 64) std::this_thread::yield();
  }
  broken_ = true;
  const std::string whom = diagnose(window());
  const std::string seconds = std::to_string(timeout_.count() / 1000.0);
  throw Error(ErrorCategory::network, "rank " + std::to_string(rank_) + " of " + std::to_string(size_) + ": " + what + " (collective #" +
                                          std::to_string(sequence) + ") did not complete within --dist-timeout " +
                                          seconds.substr(0, seconds.find('.') + 2) + " s: " + whom);
}

// Rank 0 pings every other rank; a rank that is alive is polling its own stuck collective (or
// this same diagnosis) and answers. Rank 0 names those that do not answer within `window`; the
// others answer rank 0 and say whether it asked. Ranks time out within moments of each other,
// as they entered the collective within moments of each other; a rank still computing after
// the deadline is not answering either, and is named as such. Failures of these calls are
// ignored: the run is failing already, this only words the error.
std::string MpiCommunicator::diagnose(std::chrono::milliseconds window) {
  const auto end = std::chrono::steady_clock::now() + window;
  ping_.assign(static_cast<size_t>(std::max(size_, 2)), 0);
  if (rank_ == 0) {
    std::vector<MPI_Request> requests(2 * static_cast<size_t>(size_ - 1), MPI_REQUEST_NULL);
    for (int peer = 1; peer < size_; ++peer) {
      const size_t at = 2 * static_cast<size_t>(peer - 1);
      MPI_Isend(&ping_[0], 1, MPI_INT, peer, kPingTag, world_, &requests[at]);
      MPI_Irecv(&ping_[static_cast<size_t>(peer)], 1, MPI_INT, peer, kPongTag, world_, &requests[at + 1]);
    }
    std::vector<bool> answered(static_cast<size_t>(size_), false);
    for (int waiting = size_ - 1; waiting > 0 && std::chrono::steady_clock::now() < end;) {
      for (int peer = 1; peer < size_; ++peer) {
        int done = 0;
        if (answered[static_cast<size_t>(peer)]) continue;
        MPI_Test(&requests[2 * static_cast<size_t>(peer - 1) + 1], &done, MPI_STATUS_IGNORE);
        if (done) answered[static_cast<size_t>(peer)] = true, --waiting;
      }
      std::this_thread::yield();
    }
    std::string silent;
    for (int peer = 1; peer < size_; ++peer)
      if (!answered[static_cast<size_t>(peer)]) silent += (silent.empty() ? "" : ", ") + std::to_string(peer);
    return silent.empty() ? "every rank still answers, yet the collective did not complete"
                          : "rank " + silent + " did not answer (dead, stopped, or stuck outside mhub's collectives)";
  }
  MPI_Request ping = MPI_REQUEST_NULL, pong = MPI_REQUEST_NULL;
  MPI_Irecv(&ping_[0], 1, MPI_INT, 0, kPingTag, world_, &ping);
  while (std::chrono::steady_clock::now() < end) {
    int asked = 0;
    MPI_Test(&ping, &asked, MPI_STATUS_IGNORE);
    if (asked) {
      MPI_Isend(&ping_[1], 1, MPI_INT, 0, kPongTag, world_, &pong);
      for (int sent = 0; !sent && std::chrono::steady_clock::now() < end;) MPI_Test(&pong, &sent, MPI_STATUS_IGNORE);
      return "this rank still answers; rank 0's error names the missing rank";
    }
    std::this_thread::yield();
  }
  return "rank 0 did not answer (dead, stopped, or stuck outside mhub's collectives)";
}

void MpiCommunicator::enqueue(float* data, size_t count, Reduce op) {
  for (size_t at = 0; at < count; at += kMaxPiece) {
    Piece piece;
    piece.data = data + at;
    piece.count = static_cast<int>(std::min(kMaxPiece, count - at));
    piece.whole = data;
    piece.whole_count = count;
    piece.average_whole = op == Reduce::average && at + kMaxPiece >= count;
    piece.sequence = ++sequence_;
    pieces_.push_back(piece);
  }
}

void MpiCommunicator::pump() {
  size_t in_flight = 0;
  for (Piece& piece : pieces_) {
    if (!piece.launched) break;  // launched ones form a prefix: they start in order
    if (piece.done) continue;
    int done = 0;
    MHUB_MPI_CHECK(MPI_Test(&piece.request, &done, MPI_STATUS_IGNORE));
    piece.done = done != 0;
    in_flight += !piece.done;
  }
  // Finished pieces leave from the front only, so a reduction's last piece leaves after all the
  // others of it: then its average is taken.
  while (!pieces_.empty() && pieces_.front().done) {
    if (pieces_.front().average_whole) divide(pieces_.front().whole, pieces_.front().whole_count, size_);
    pieces_.pop_front();
  }
  for (Piece& piece : pieces_) {
    if (in_flight >= kMaxPiecesInFlight) break;
    if (piece.launched) continue;
    MHUB_MPI_CHECK(MPI_Iallreduce(MPI_IN_PLACE, piece.data, piece.count, MPI_FLOAT, MPI_SUM, world_, &piece.request));
    piece.launched = true;
    ++in_flight;
  }
}

void MpiCommunicator::drain(const char* what, std::chrono::steady_clock::time_point until) {
  while (!pieces_.empty()) {
    pump();
    if (pieces_.empty()) break;
    Piece& front = pieces_.front();  // launched by pump(): nothing is in flight before it
    complete(what, front.request, front.sequence, until);
    front.done = true;
  }
}

void MpiCommunicator::all_reduce(float* data, size_t count, Reduce op) {
  if (broken_) throw Error(ErrorCategory::network, "all_reduce: an earlier collective failed; the run cannot go on");
  // The same pieces and bound as started reductions (and after them: collectives must start in
  // the same order on every rank), so both give the same sums.
  enqueue(data, count, op);
  drain("all_reduce", deadline());
}

void MpiCommunicator::start_all_reduce(float* data, size_t count, Reduce op) {
  if (broken_) throw Error(ErrorCategory::network, "all_reduce: an earlier collective failed; the run cannot go on");
  enqueue(data, count, op);
  pump();
}

// Open MPI moves non-blocking collectives on only inside MPI calls: testing the pieces in flight
// lets the earlier buckets travel while backward computes the next, and each finished one lets
// the next queued piece start.
void MpiCommunicator::progress() {
  if (!broken_) pump();
}

void MpiCommunicator::wait_all_reduces() {
  if (broken_) {
    pieces_.clear();  // abandoned with the communicator
    throw Error(ErrorCategory::network, "all_reduce: an earlier collective failed; the run cannot go on");
  }
  // The timeout runs from here, where this rank has nothing left to do but wait for the others
  // (as a blocking collective's does from its call): a slow backward is no missing rank.
  drain("all_reduce", deadline());
}

void MpiCommunicator::all_reduce(double* data, size_t count, Reduce op) {
  const int n = checked_count(count, "all_reduce");
  run("all_reduce", [&](MPI_Request* r) { MHUB_MPI_CHECK(MPI_Iallreduce(MPI_IN_PLACE, data, n, MPI_DOUBLE, MPI_SUM, world_, r)); });
  if (op == Reduce::average)
    for (size_t i = 0; i < count; ++i) data[i] /= size_;
}

void MpiCommunicator::reduce_scatter(const float* send, float* recv, size_t block, Reduce op) {
  const int n = checked_count(block, "reduce_scatter");
  run("reduce_scatter", [&](MPI_Request* r) { MHUB_MPI_CHECK(MPI_Ireduce_scatter_block(send, recv, n, MPI_FLOAT, MPI_SUM, world_, r)); });
  if (op == Reduce::average) divide(recv, block, size_);
}

void MpiCommunicator::all_gather(const float* send, float* recv, size_t block) {
  const int n = checked_count(block, "all_gather");
  run("all_gather", [&](MPI_Request* r) { MHUB_MPI_CHECK(MPI_Iallgather(send, n, MPI_FLOAT, recv, n, MPI_FLOAT, world_, r)); });
}

void MpiCommunicator::broadcast(float* data, size_t count, int root) {
  for (size_t at = 0; at < count; at += kMaxPiece) {
    const int n = static_cast<int>(std::min(kMaxPiece, count - at));
    run("broadcast", [&](MPI_Request* r) { MHUB_MPI_CHECK(MPI_Ibcast(data + at, n, MPI_FLOAT, root, world_, r)); });
  }
}

void MpiCommunicator::broadcast_bytes(void* data, size_t count, int root) {
  const int n = checked_count(count, "broadcast");
  run("broadcast", [&](MPI_Request* r) { MHUB_MPI_CHECK(MPI_Ibcast(data, n, MPI_BYTE, root, world_, r)); });
}

void MpiCommunicator::barrier() {
  run("barrier", [&](MPI_Request* r) { MHUB_MPI_CHECK(MPI_Ibarrier(world_, r)); });
}

}  // namespace mhub::dist
