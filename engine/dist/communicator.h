// Collective communication between the processes of one data-parallel run.
//
// Contract: every rank calls the same collectives in the same order with the same sizes (as MPI
// and NCCL require); a call returns when this rank's part is complete. Buffers are host memory.
// Any failure throws mhub::Error naming the call (file:line for library errors); a collective
// that does not complete within the communicator's timeout throws mhub::Error (network) naming
// the collective and, on rank 0, the ranks that no longer answer: never a hang.
// Implementations: SingleProcess (nothing launched us: every collective is the identity), MPI
// (Open MPI; mpi_communicator.h), NCCL (between GPUs; nccl_communicator.h). make_communicator
// picks one and says clearly when the build lacks the one asked for.
#pragma once

#include <chrono>
#include <cstddef>
#include <memory>
#include <string>

namespace mhub::dist {

enum class Reduce { sum, average };

class Communicator {
 public:
  virtual ~Communicator() = default;
  virtual int rank() const = 0;
  virtual int size() const = 0;
  // This process's index among the ranks on its machine (picks the GPU for --device cuda).
  virtual int local_rank() const = 0;
  virtual std::string transport() const = 0;  // "single", "mpi", "nccl"

  // In place over `count` values on every rank.
  virtual void all_reduce(float* data, size_t count, Reduce op) = 0;
  virtual void all_reduce(double* data, size_t count, Reduce op) = 0;
  // Non-blocking all-reduce: starts reducing `count` floats of `data` in place and returns;
  // wait_all_reduces() returns once every reduction started so far is complete. Until then
  // `data` must stay untouched and alive. Started reductions count as collectives in call
  // order (every rank starts the same ones in the same order), also relative to blocking
  // collectives called in between. Failures throw as the blocking collectives do, from either
  // call; the timeout counts from wait_all_reduces(). Default: the blocking all_reduce, now (no overlap).
  virtual void start_all_reduce(float* data, size_t count, Reduce op) { all_reduce(data, count, op); }
  virtual void wait_all_reduces() {}
  // Lets the reductions started so far move on, without waiting for them: Open MPI advances
  // non-blocking collectives only inside MPI calls (no progress thread by default), so a caller
  // with work in between (the gradient buckets, at every gradient backward hands over) calls
  // this often. Never blocks; failures throw. Default: nothing to do.
  virtual void progress() {}
  // `send` holds size() blocks of `block` floats; rank r receives the reduction of block r.
  virtual void reduce_scatter(const float* send, float* recv, size_t block, Reduce op) = 0;
  // Every rank's `block` floats of `send`, in rank order, into `recv` (size() * block floats).
  virtual void all_gather(const float* send, float* recv, size_t block) = 0;
  // `root`'s `count` floats into every rank's `data`.
  virtual void broadcast(float* data, size_t count, int root) = 0;
  virtual void barrier() = 0;
};

// One process, nothing to talk to: all_reduce / broadcast leave the data as it is,
// reduce_scatter and all_gather copy.
class SingleProcess final : public Communicator {
 public:
  int rank() const override { return 0; }
  int size() const override { return 1; }
  int local_rank() const override { return 0; }
  std::string transport() const override { return "single"; }
  void all_reduce(float*, size_t, Reduce) override {}
  void all_reduce(double*, size_t, Reduce) override {}
  void reduce_scatter(const float* send, float* recv, size_t block, Reduce op) override;
  void all_gather(const float* send, float* recv, size_t block) override;
  void broadcast(float*, size_t, int root) override;
  void barrier() override {}
};

struct CommunicatorOptions {
  // "auto": when a launcher started us with more than one rank, NCCL if `gpu` and the build has
  // NCCL, else MPI; otherwise single. "single", "mpi", "nccl" ask for that one.
  std::string transport = "auto";
  std::chrono::milliseconds timeout{300'000};
  bool gpu = false;  // the ranks compute on GPUs (--device cuda)
};

// Throws mhub::Error (usage) for an unknown transport or one asked for (or launched for) that
// this build lacks, naming what to install, or when MPI sees another number of ranks than the
// launcher started (srun without a usable PMI); (network) when MPI/NCCL fail to start.
std::unique_ptr<Communicator> make_communicator(const CommunicatorOptions& options);

// The transports this build has, e.g. "single, mpi".
std::string built_transports();

}  // namespace mhub::dist
