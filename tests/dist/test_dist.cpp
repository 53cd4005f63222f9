// engine/dist without a launcher: sharding as DistributedSampler does it, gradient bucket plans,
// launcher detection from the environment, the single-process communicator and the errors of
// make_communicator. The multi-process behaviour is tested under mpirun (ddp_equivalence.cpp).
#include <doctest/doctest.h>

#include <algorithm>
#include <map>
#include <numeric>
#include <string>

#include "common/error.h"
#include "engine/dist/buckets.h"
#include "engine/dist/communicator.h"
#include "engine/dist/launch.h"
#include "engine/dist/sampler.h"
#include "engine/dist/zero.h"

using namespace mhub;
using namespace mhub::dist;

namespace {

std::vector<size_t> iota(size_t n) {
  std::vector<size_t> v(n);
  std::iota(v.begin(), v.end(), size_t{0});
  return v;
}

std::function<const char*(const char*)> environment(std::map<std::string, std::string> vars) {
  auto kept = std::make_shared<std::map<std::string, std::string>>(std::move(vars));
  return [kept](const char* name) -> const char* {
    auto it = kept->find(name);
    return it == kept->end() ? nullptr : it->second.c_str();
  };
}

}  // namespace

TEST_SUITE("dist") {

TEST_CASE("shard_order: rank r takes r, r+N, ...; padding wraps to the start as DistributedSampler") {
  const std::vector<size_t> order = {7, 3, 9, 1, 4, 8, 0, 2, 6, 5};  // 10 examples
  CHECK(shard_order(order, 0, 3, true) == std::vector<size_t>{7, 1, 0, 5});
  CHECK(shard_order(order, 1, 3, true) == std::vector<size_t>{3, 4, 2, 7});  // 12 positions: 10, 11 wrap to 7, 3
  CHECK(shard_order(order, 2, 3, true) == std::vector<size_t>{9, 8, 6, 3});
  // Without padding the shards partition the order exactly.
  std::vector<size_t> all;
  for (int r = 0; r < 3; ++r) {
    auto shard = shard_order(order, r, 3, false);
    CHECK(shard.size() == (r == 0 ? 4u : 3u));
    all.insert(all.end(), shard.begin(), shard.end());
  }
  std::sort(all.begin(), all.end());
  CHECK(all == iota(10));
  // More ranks than examples: padding wraps more than once, every rank still gets one.
  CHECK(shard_order({4, 5}, 4, 5, true) == std::vector<size_t>{4});
  CHECK(shard_order({4, 5}, 4, 5, false).empty());
  CHECK(shard_order(order, 0, 1, true) == order);
  CHECK(shard_order({}, 1, 2, true).empty());
  CHECK_THROWS_AS(shard_order(order, 3, 3, true), Error);
  CHECK_THROWS_AS(shard_order(order, -1, 3, true), Error);
  CHECK_THROWS_AS(shard_order(order, 0, 0, true), Error);
}

TEST_CASE("plan_buckets: backward order kept, buckets up to the size, a large gradient alone, none split") {
  // 4-byte floats, buckets of 40 bytes = 10 floats.
  const auto plan = plan_buckets({4, 5, 2, 30, 1, 9, 3}, 40);
  REQUIRE(plan.size() == 5);
  CHECK((plan[0].first == 0 && plan[0].last == 2 && plan[0].floats == 9));
  CHECK((plan[1].first == 2 && plan[1].last == 3 && plan[1].floats == 2));
  CHECK((plan[2].first == 3 && plan[2].last == 4 && plan[2].floats == 30));  // larger than a bucket: its own
  CHECK((plan[3].first == 4 && plan[3].last == 6 && plan[3].floats == 10));  // exactly full
  CHECK((plan[4].first == 6 && plan[4].last == 7 && plan[4].floats == 3));
  CHECK(plan_buckets({}, 40).empty());
  CHECK(plan_buckets({1, 1, 1}, size_t{25} << 20).size() == 1);
  CHECK_THROWS_AS(plan_buckets({1}, 3), Error);
}

// Two ranks as seen from rank 0, whose peer's gradients are all 1: each all-reduce averages
// with 1 and is recorded ("start N" for start_all_reduce of N floats, "wait" for
// wait_all_reduces), so a test sees how and when the buckets travelled.
class RecordingPeer final : public Communicator {
 public:
  std::vector<std::string> calls;
  int rank() const override { return 0; }
  int size() const override { return 2; }
  int local_rank() const override { return 0; }
  std::string transport() const override { return "test"; }
  void all_reduce(float* data, size_t count, Reduce op) override {
    for (size_t i = 0; i < count; ++i) data[i] = op == Reduce::average ? (data[i] + 1) / 2 : data[i] + 1;
  }
  void start_all_reduce(float* data, size_t count, Reduce op) override {
    calls.push_back("start " + std::to_string(count));
    all_reduce(data, count, op);
  }
  void wait_all_reduces() override { calls.push_back("wait"); }
  void progress() override { ++progress_calls; }
  int progress_calls = 0;
  void all_reduce(double*, size_t, Reduce) override {}
  void reduce_scatter(const float*, float*, size_t, Reduce) override {}
  void all_gather(const float*, float*, size_t) override {}
  void broadcast(float*, size_t, int) override {}
  void barrier() override {}
};

struct Gradients {
  std::vector<std::vector<float>> values = {{3, 5}, {7}, {9, 11, 13, 15, 17}, {19}};
  std::vector<float*> pointers;
  std::vector<size_t> counts;
  Gradients() {
    for (auto& g : values) {
      pointers.push_back(g.data());
      counts.push_back(g.size());
    }
  }
};

// Every gradient averaged with the peer's ones and back in place.
void check_averaged_with_ones(const Gradients& g) {
  CHECK(g.values[0] == std::vector<float>{2, 3});
  CHECK(g.values[1] == std::vector<float>{4});
  CHECK(g.values[2] == std::vector<float>{5, 6, 7, 8, 9});
  CHECK(g.values[3] == std::vector<float>{10});
}

TEST_CASE("BucketedAverage after backward: one all-reduce per bucket, every gradient averaged and put back in place") {
  RecordingPeer peer;
  Gradients g;
  BucketedAverage average(g.counts, 4 * sizeof(float));  // {0,1}: 3 floats, {2}: 5, {3}: 1
  REQUIRE(average.plan().size() == 3);
  average.begin(peer);
  average.finish(g.pointers);
  CHECK(peer.calls == std::vector<std::string>{"start 3", "start 5", "start 1", "wait"});
  CHECK(average.started_early() == 0);
  check_averaged_with_ones(g);
}

TEST_CASE("BucketedAverage during backward: a bucket starts once its gradients are in and every earlier bucket started") {
  RecordingPeer peer;
  Gradients g;
  BucketedAverage average(g.counts, 4 * sizeof(float));
  average.begin(peer);
  average.ready(2, g.pointers[2]);  // bucket 1 complete, but bucket 0 has not started: it waits
  CHECK(peer.calls.empty());
  average.ready(0, g.pointers[0]);
  CHECK(peer.calls.empty());
  CHECK(peer.progress_calls == 2);  // nothing started: the pending reductions were polled instead
  average.ready(1, g.pointers[1]);  // bucket 0 complete: it starts, then bucket 1
  CHECK(peer.calls == std::vector<std::string>{"start 3", "start 5"});
  CHECK(peer.progress_calls == 2);
  CHECK_THROWS_AS(average.ready(1, g.pointers[1]), Error);
  average.finish(g.pointers);  // gradient 3 was never handed over: its bucket starts now
  CHECK(peer.calls == std::vector<std::string>{"start 3", "start 5", "start 1", "wait"});
  CHECK(average.started_early() == 2);
  check_averaged_with_ones(g);
  // The next step starts afresh.
  average.begin(peer);
  average.ready(0, g.pointers[0]);
  CHECK(peer.calls.size() == 4);
  average.finish(g.pointers);
  CHECK(peer.calls.size() == 8);
}

TEST_CASE("SingleProcess start_all_reduce leaves the data as it is") {
  SingleProcess single;
  std::vector<float> a = {1, 2, 3};
  single.start_all_reduce(a.data(), a.size(), Reduce::average);
  single.wait_all_reduces();
  CHECK(a == std::vector<float>{1, 2, 3});
}

TEST_CASE("FlatLayout: equal shards over the parameters laid end to end, split parameters, padding at the end") {
  const FlatLayout layout({5, 2, 4}, 3);  // 11 floats -> shards of 4, padded to 12
  CHECK(layout.shard() == 4);
  CHECK(layout.padded() == 12);
  CHECK((layout.offset(0) == 0 && layout.offset(1) == 5 && layout.offset(2) == 7));
  auto same = [](const ShardPiece& p, size_t param, size_t begin, size_t count, size_t at) {
    return p.param == param && p.begin == begin && p.count == count && p.shard_at == at;
  };
  const auto r0 = layout.pieces(0), r1 = layout.pieces(1), r2 = layout.pieces(2);
  REQUIRE(r0.size() == 1);
  CHECK(same(r0[0], 0, 0, 4, 0));
  REQUIRE(r1.size() == 3);  // the last float of param 0, all of param 1, the first of param 2
  CHECK(same(r1[0], 0, 4, 1, 0));
  CHECK(same(r1[1], 1, 0, 2, 1));
  CHECK(same(r1[2], 2, 0, 1, 3));
  REQUIRE(r2.size() == 1);  // three floats and one float of padding
  CHECK(same(r2[0], 2, 1, 3, 0));
  CHECK(FlatLayout({3}, 4).pieces(3).empty());  // a rank that holds only padding
  CHECK_THROWS_AS(layout.pieces(3), Error);
  CHECK_THROWS_AS(FlatLayout({1}, 0), Error);
}

TEST_CASE("detect_launch reads Open MPI, SLURM and PMI variables and rejects malformed ones") {
  CHECK_FALSE(detect_launch(environment({})).distributed());
  CHECK(detect_launch(environment({})).launcher.empty());
  auto ompi = detect_launch(environment({{"OMPI_COMM_WORLD_RANK", "3"}, {"OMPI_COMM_WORLD_SIZE", "4"}, {"OMPI_COMM_WORLD_LOCAL_RANK", "1"},
                                         {"SLURM_PROCID", "0"}, {"SLURM_NTASKS", "1"}}));
  CHECK(ompi.launcher == "openmpi");
  CHECK((ompi.rank == 3 && ompi.size == 4 && ompi.local_rank == 1 && ompi.distributed()));
  auto slurm = detect_launch(environment({{"SLURM_PROCID", "5"}, {"SLURM_NTASKS", "8"}, {"SLURM_LOCALID", "1"}}));
  CHECK(slurm.launcher == "slurm");
  CHECK((slurm.rank == 5 && slurm.size == 8 && slurm.local_rank == 1));
  auto pmi = detect_launch(environment({{"PMI_RANK", "0"}, {"PMI_SIZE", "2"}}));
  CHECK((pmi.launcher == "pmi" && pmi.size == 2 && pmi.local_rank == 0));
  // Only a rank and no size: not a launch we understand; treated as a single process.
  CHECK_FALSE(detect_launch(environment({{"SLURM_PROCID", "1"}})).distributed());
  for (const auto& bad : {std::pair{"4", "4"}, std::pair{"-1", "4"}, std::pair{"1", "0"}, std::pair{"x", "2"},
                          std::pair{"1 ", "2"}, std::pair{"1", "99999999999999999999"}, std::pair{"0", "2000000"}}) {
    const char* rank = bad.first;  // plain locals: clang 14 (the sanitizer build) cannot capture a binding
    const char* size = bad.second;
    CAPTURE(rank);
    CAPTURE(size);
    CHECK_THROWS_WITH_AS(detect_launch(environment({{"OMPI_COMM_WORLD_RANK", rank}, {"OMPI_COMM_WORLD_SIZE", size}})),
                         doctest::Contains("OMPI_COMM_WORLD_"), Error);
  }
}

TEST_CASE("SingleProcess collectives are the identity; make_communicator explains what a build lacks") {
  SingleProcess single;
  std::vector<float> send = {1, 2}, recv(2);
  single.reduce_scatter(send.data(), recv.data(), 2, Reduce::average);
  CHECK(recv == send);
  recv.assign(2, 0);
  single.all_gather(send.data(), recv.data(), 2);
  CHECK(recv == send);
  CHECK_THROWS_AS(single.broadcast(send.data(), 2, 1), Error);
  // Under ctest nothing launched us: auto and single give one process.
  if (!std::getenv("OMPI_COMM_WORLD_SIZE") && !std::getenv("SLURM_NTASKS") && !std::getenv("PMI_SIZE")) {
    CHECK(make_communicator({"auto", std::chrono::seconds(1)})->transport() == "single");
    CHECK(make_communicator({"single", std::chrono::seconds(1)})->size() == 1);
  }
  CHECK_THROWS_WITH_AS(make_communicator({"gloo", std::chrono::seconds(1)}), doctest::Contains("auto, single, mpi or nccl"), Error);
  CHECK_THROWS_AS(make_communicator({"auto", std::chrono::seconds(0)}), Error);
  if (built_transports().find("nccl") == std::string::npos)
    CHECK_THROWS_WITH_AS(make_communicator({"nccl", std::chrono::seconds(1)}), doctest::Contains("this build has no NCCL"), Error);
}

}  // TEST_SUITE
