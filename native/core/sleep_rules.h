// The per-element rules of the sleep phase (sleep-algorithm.md §3), as small inline
// functions shared by the event-driven engine, the dense reference and a future CUDA
// kernel. Everything is float32 and every operation is written out, so that the three
// round the same way (the build uses -ffp-contract=off: no FMA contraction).
//
//   input spike    s0[j] = u < p_j,   u = U[0,1) keyed by (seed, kStreamSleepInput, step, j),
//                                     p_j = 2·dt·max_rate·x_j   (≥ 1 always fires)
//   current        I_i   = alpha_l · Σ_{j: s[j]=1, ascending j} W[i,j]
//   membrane       v_i   = decay·v_i + I_i           (+ DC on the output layer)
//   spike          s_i   = v_i >= threshold·beta_l   (then v_i = 0)
//   STDP, fired i: W[i,j] += inc·f(W[i,j])  if s_prev[j] = 1
//                  W[i,j] -= dec·f(W[i,j])  if s_prev[j] = 0
//   gate f:  release  2·(1 - sigmoid(w / width))   (width 0.001: a steep step at w = 0)
//            sigmoid  sigmoid(w)
//            none     1
#pragma once
#include <cmath>

#include "common.h"
#include "rng.h"

namespace nrem {

enum class SleepGate : int { Release = 0, Sigmoid = 1, None = 2 };

NREM_HD inline float sleep_sigmoid(float x) { return 1.0f / (1.0f + expf(-x)); }

// The STDP weight-dependence factor. The release form is computed literally as
// 2·(1 - sigmoid(w/width)) so that it is exactly 0 for w ≳ 17·width, as in the release.
NREM_HD inline float sleep_gate(float w, SleepGate gate, float width) {
  switch (gate) {
    case SleepGate::Release:
      return 2.0f * (1.0f - sleep_sigmoid(w / width));
    case SleepGate::Sigmoid:
      return sleep_sigmoid(w);
    default:
      return 1.0f;
  }
}

NREM_HD inline float sleep_potentiate(float w, float inc, SleepGate gate, float width) {
  return w + inc * sleep_gate(w, gate, width);
}
NREM_HD inline float sleep_depress(float w, float dec, SleepGate gate, float width) {
  return w - dec * sleep_gate(w, gate, width);
}

NREM_HD inline float sleep_membrane(float v, float decay, float current) { return decay * v + current; }
NREM_HD inline bool sleep_fires(float v, float threshold) { return v >= threshold; }

// Input spike of unit j at one step; rate_factor = 2·dt·max_rate (float32).
NREM_HD inline bool sleep_input_fires(float u, float rate_factor, float x) { return u < rate_factor * x; }

// The input stream's random numbers, split so that a loop over units hoists the
// per-seed and per-unit parts. sleep_input_uniform(sleep_input_key(seed), step,
// sleep_unit_hash(j)) == rng_uniform(seed, kStreamSleepInput, step, j), bit for bit
// (checked at run time by sleep_rng_selfcheck()).
NREM_HD inline uint64_t sleep_input_key(uint64_t seed) {
  return splitmix64(seed ^ (static_cast<uint64_t>(kStreamSleepInput) * 0xD1B54A32D192ED03ull));
}
NREM_HD inline uint64_t sleep_unit_hash(uint64_t unit) { return splitmix64(unit + 0x632BE59BD9B4E019ull); }
NREM_HD inline float sleep_input_uniform(uint64_t key, uint64_t step, uint64_t unit_hash) {
  uint64_t bits = splitmix64(key ^ (step * 0x9E3779B97F4A7C15ull) ^ unit_hash);
  return static_cast<float>(bits >> 40) * (1.0f / 16777216.0f);
}

inline bool sleep_rng_selfcheck() {
  const uint64_t seeds[] = {0, 1, 12345678901ull};
  for (uint64_t s : seeds)
    for (uint64_t t : {0ull, 7ull, 27104ull})
      for (uint64_t j : {0ull, 391ull, 783ull})
        if (sleep_input_uniform(sleep_input_key(s), t, sleep_unit_hash(j)) !=
            rng_uniform(s, kStreamSleepInput, t, j))
          return false;
  return true;
}

}  // namespace nrem
