// The Communicator over MPI (Open MPI on Debian; SLURM's srun reaches it through PMI/PMIx).
//
// Contract: the constructor initialises MPI (thread level FUNNELED: only the thread that made
// the communicator calls it) unless something already did, and the destructor finalises what
// it initialised. Ranks and sizes are MPI's own (MPI_COMM_WORLD). Every MPI call is checked:
// a failure throws mhub::Error (network) with the call, its file:line and MPI's message.
// Collectives are MPI's non-blocking ones, polled until `timeout` (MPI itself has none) minus a
// diagnosis window (a quarter of it, at most 10 s): then rank 0 pings every rank and its error
// names the ranks that did not answer; the others answer and say so (or that rank 0 did not
// ask). No message is added to collectives that complete. After a timeout the communicator is
// broken: MPI is left unfinalised (finalising would wait for the missing rank) and the process
// is expected to exit with the error, which makes mpirun end the remaining ranks. The same
// holds when the communicator is destroyed while an exception unwinds (this rank failed; the
// others may be waiting for it).
#pragma once

#include <mpi.h>

#include <chrono>
#include <cstdint>
#include <deque>
#include <vector>

#include "engine/dist/communicator.h"

namespace mhub::dist {

class MpiCommunicator final : public Communicator {
 public:
  explicit MpiCommunicator(std::chrono::milliseconds timeout);
  ~MpiCommunicator() override;
  MpiCommunicator(const MpiCommunicator&) = delete;
  MpiCommunicator& operator=(const MpiCommunicator&) = delete;

  int rank() const override { return rank_; }
  int size() const override { return size_; }
  int local_rank() const override { return local_rank_; }
  std::string transport() const override { return "mpi"; }
  void all_reduce(float* data, size_t count, Reduce op) override;
  void all_reduce(double* data, size_t count, Reduce op) override;
  void start_all_reduce(float* data, size_t count, Reduce op) override;
  void wait_all_reduces() override;
  void progress() override;  // MPI_Test on each reduction still pending
  void reduce_scatter(const float* send, float* recv, size_t block, Reduce op) override;
  void all_gather(const float* send, float* recv, size_t block) override;
  void broadcast(float* data, size_t count, int root) override;
  void barrier() override;
  // `count` bytes from `root` (for bootstrapping other transports, e.g. NCCL's unique id).
  void broadcast_bytes(void* data, size_t count, int root);

 private:
  // Starts the collective with `start` and polls it to completion or the deadline.
  // `what`: the collective's name for messages.
  template <typename Start>
  void run(const char* what, Start start);
  // Polls `request` (collective number `sequence`) to completion, or to `deadline`: then the
  // communicator is broken and the error says who is missing.
  void complete(const char* what, MPI_Request& request, uint64_t sequence, std::chrono::steady_clock::time_point deadline);
  // The deadline of a collective started now, and the diagnosis window kept after it.
  std::chrono::milliseconds window() const;
  std::chrono::steady_clock::time_point deadline() const;
  // After a timeout: who is missing, in words for the error (see the contract above).
  std::string diagnose(std::chrono::milliseconds window);

  int rank_ = 0, size_ = 1, local_rank_ = 0;
  std::chrono::milliseconds timeout_;
  bool initialised_here_ = false, broken_ = false;
  uint64_t sequence_ = 0;
  // Float all-reduces (started or blocking) cut into pieces, queued or in flight, in start order:
  // at most kMaxPiecesInFlight of them launched and unfinished at once (mpi_communicator.cpp).
  struct Piece {
    MPI_Request request = MPI_REQUEST_NULL;
    float* data = nullptr;   // this piece's values
    int count = 0;
    float* whole = nullptr;  // the reduction it belongs to (divided when its last piece is done)
    size_t whole_count = 0;
    bool average_whole = false;  // the reduction's last piece, of an average
    uint64_t sequence = 0;
    bool launched = false, done = false;
  };
  std::deque<Piece> pieces_;
  // Queues `count` values from `data` as pieces (not started yet).
  void enqueue(float* data, size_t count, Reduce op);
  // Tests the pieces in flight, drops finished ones from the front (averaging a reduction whose
  // last piece left), and starts queued pieces up to the bound.
  void pump();
  // Runs every queued piece to completion, or to `until` (then broken, as complete()).
  void drain(const char* what, std::chrono::steady_clock::time_point until);
  // Ping/pong payloads of diagnose(): members, since requests may still be pending when the
  // error leaves the frame.
  std::vector<int> ping_;
  MPI_Comm world_ = MPI_COMM_NULL;
};

}  // namespace mhub::dist
