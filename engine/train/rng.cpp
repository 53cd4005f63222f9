#include "engine/train/rng.h"

#include <cstdio>

#include "common/error.h"

namespace mhub::train {
namespace {

uint64_t splitmix64(uint64_t& x) {
  uint64_t z = (x += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

}  // namespace

Rng::Rng(uint64_t seed) {
  for (auto& word : state_) word = splitmix64(seed);
}

Rng Rng::derived(uint64_t seed, uint64_t a, uint64_t b) {
  uint64_t mix = seed;
  uint64_t s = splitmix64(mix) ^ (a * 0xD1B54A32D192ED03ull);
  s = splitmix64(s) ^ (b * 0x8CB92BA72F3D8DD7ull);
  return Rng(s);
}

uint64_t Rng::next_u64() {
  const uint64_t result = rotl(state_[1] * 5, 7) * 9;
  const uint64_t t = state_[1] << 17;
  state_[2] ^= state_[0];
  state_[3] ^= state_[1];
  state_[1] ^= state_[2];
  state_[0] ^= state_[3];
  state_[2] ^= t;
  state_[3] = rotl(state_[3], 45);
  return result;
}

float Rng::uniform() { return static_cast<float>(next_u64() >> 40) * (1.0f / 16777216.0f); }

uint64_t Rng::below(uint64_t bound) {
  // Rejection keeps the draw unbiased for bounds that do not divide 2^64.
  const uint64_t limit = UINT64_MAX - UINT64_MAX % bound;
  uint64_t x;
  do x = next_u64();
  while (x >= limit);
  return x % bound;
}

std::string Rng::state_text() const {
  char buffer[4 * 17 + 1];
  std::snprintf(buffer, sizeof buffer, "%016llx:%016llx:%016llx:%016llx",
                (unsigned long long)state_[0], (unsigned long long)state_[1],
                (unsigned long long)state_[2], (unsigned long long)state_[3]);
  return buffer;
}

void Rng::set_state_text(const std::string& text) {
  unsigned long long w[4];
  int used = 0;
  if (text.size() != 67 ||
      std::sscanf(text.c_str(), "%16llx:%16llx:%16llx:%16llx%n", &w[0], &w[1], &w[2], &w[3], &used) != 4 ||
      used != 67)
    throw Error(ErrorCategory::format, "rng state: expected four 16-digit hex words joined by ':', got '" + text + "'");
  for (int i = 0; i < 4; ++i) state_[i] = w[i];
}

}  // namespace mhub::train
