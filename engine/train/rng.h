// A small seeded random generator whose whole state can be saved in a checkpoint and restored,
// so that `--resume` continues the exact stream (xoshiro256** seeded through splitmix64).
#pragma once

#include <array>
#include <cstdint>
#include <string>

namespace mhub::train {

class Rng {
 public:
  explicit Rng(uint64_t seed = 0);
  // A generator for one purpose derived from a seed and up to two indices (epoch, example):
  // the same triple always gives the same stream, whatever thread asks for it.
  static Rng derived(uint64_t seed, uint64_t a, uint64_t b = 0);

  uint64_t next_u64();
  float uniform();                     // [0, 1), 24 random bits
  uint64_t below(uint64_t bound);      // [0, bound); bound > 0
  bool coin() { return (next_u64() >> 63) != 0; }

  // Hex text of the four state words (what checkpoints store); parse throws mhub::Error (format).
  std::string state_text() const;
  void set_state_text(const std::string& text);

 private:
  std::array<uint64_t, 4> state_{};
};

}  // namespace mhub::train
