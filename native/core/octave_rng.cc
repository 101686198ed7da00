#include "octave_rng.h"

#include <cmath>
#include <utility>
#include <vector>

namespace nrem {

OctaveRandom::OctaveRandom(uint64_t seed) {
  // Octave maps a double seed d to uint32 by fmod(d, 2^32 − 1).
  const uint32_t key = static_cast<uint32_t>(seed % 4294967295ull);
  // init_genrand(19650218), then init_by_array with a key of length 1.
  mt_[0] = 19650218u;
  for (int i = 1; i < kN; ++i)
    mt_[i] = 1812433253u * (mt_[i - 1] ^ (mt_[i - 1] >> 30)) + static_cast<uint32_t>(i);
  int i = 1;
  for (int k = kN; k > 0; --k) {
    mt_[i] = (mt_[i] ^ ((mt_[i - 1] ^ (mt_[i - 1] >> 30)) * 1664525u)) + key;  // + key[0] + j, j = 0
    if (++i >= kN) {
      mt_[0] = mt_[kN - 1];
      i = 1;
    }
  }
  for (int k = kN - 1; k > 0; --k) {
    mt_[i] = (mt_[i] ^ ((mt_[i - 1] ^ (mt_[i - 1] >> 30)) * 1566083941u)) - static_cast<uint32_t>(i);
    if (++i >= kN) {
      mt_[0] = mt_[kN - 1];
      i = 1;
    }
  }
  mt_[0] = 0x80000000u;
  index_ = kN;
}

void OctaveRandom::reload() {
  constexpr int kM = 397;
  constexpr uint32_t kUpper = 0x80000000u, kLower = 0x7fffffffu, kMatrix = 0x9908b0dfu;
  int k = 0;
  for (; k < kN - kM; ++k) {
    const uint32_t y = (mt_[k] & kUpper) | (mt_[k + 1] & kLower);
    mt_[k] = mt_[k + kM] ^ (y >> 1) ^ ((y & 1u) ? kMatrix : 0u);
  }
  for (; k < kN - 1; ++k) {
    const uint32_t y = (mt_[k] & kUpper) | (mt_[k + 1] & kLower);
    mt_[k] = mt_[k + (kM - kN)] ^ (y >> 1) ^ ((y & 1u) ? kMatrix : 0u);
  }
  const uint32_t y = (mt_[kN - 1] & kUpper) | (mt_[0] & kLower);
  mt_[kN - 1] = mt_[kM - 1] ^ (y >> 1) ^ ((y & 1u) ? kMatrix : 0u);
  index_ = 0;
}

uint32_t OctaveRandom::next_u32() {
  if (index_ >= kN) reload();
  uint32_t y = mt_[index_++];
  y ^= y >> 11;
  y ^= (y << 7) & 0x9d2c5680u;
  y ^= (y << 15) & 0xefc60000u;
  y ^= y >> 18;
  return y;
}

double OctaveRandom::uniform() {
  uint32_t a, b;
  do {
    a = next_u32() >> 5;
    b = next_u32() >> 6;
  } while (a == 0 && b == 0);
  return (a * 67108864.0 + b) / 9007199254740992.0;
}

void OctaveRandom::skip_uniform(size_t count) {
  for (size_t i = 0; i < count; ++i) (void)uniform();
}

void OctaveRandom::randperm(uint32_t* perm, size_t n) {
  std::vector<double> u(n);
  for (size_t i = 0; i < n; ++i) u[i] = uniform();
  for (size_t i = 0; i < n; ++i) perm[i] = static_cast<uint32_t>(i);
  for (size_t i = 0; i < n; ++i) {
    const size_t k = i + static_cast<size_t>(std::floor(u[i] * static_cast<double>(n - i)));
    std::swap(perm[i], perm[k < n ? k : n - 1]);
  }
}

}  // namespace nrem
