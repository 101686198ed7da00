// Counter-based random numbers: a value is a pure function of (seed, stream, a, b), so
// draws do not depend on the thread count or the order of evaluation, and CUDA kernels
// (which include this header) draw the very same numbers.
//
//   u = splitmix64(splitmix64(seed ^ stream·K1) ^ a·K2 ^ b·K3)
//   uniform(...) = (u >> 40) * 2^-24           in [0, 1), exactly representable in float32
#pragma once
#include "common.h"

namespace nrem {

NREM_HD inline uint64_t splitmix64(uint64_t x) {
  x += 0x9E3779B97F4A7C15ull;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
  return x ^ (x >> 31);
}

// Streams keep independent uses of one seed apart.
enum RngStream : uint64_t {
  kStreamInit = 1,      // weight initialisation
  kStreamDropout = 2,   // dropout masks
  kStreamShuffle = 3,   // mini-batch order
  kStreamSleepInput = 4,  // Poisson input spikes of the sleep
  kStreamSleepWindow = 5, // masked-mean windows
  kStreamAttack = 6,    // random starts, Square attack
  kStreamDistort = 7,   // noise
  kStreamData = 8,      // data subsets, generated data
  kStreamApgd = 9,      // APGD start points
  kStreamFab = 10,      // FAB random restarts
};

NREM_HD inline uint64_t rng_bits(uint64_t seed, uint64_t stream, uint64_t a, uint64_t b) {
  uint64_t k = splitmix64(seed ^ (stream * 0xD1B54A32D192ED03ull));
  return splitmix64(k ^ (a * 0x9E3779B97F4A7C15ull) ^ splitmix64(b + 0x632BE59BD9B4E019ull));
}

// Uniform in [0, 1) with 24 random bits.
NREM_HD inline float rng_uniform(uint64_t seed, uint64_t stream, uint64_t a, uint64_t b) {
  return static_cast<float>(rng_bits(seed, stream, a, b) >> 40) * (1.0f / 16777216.0f);
}

}  // namespace nrem
