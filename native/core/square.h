// Square attack, L∞, score-based (Andriushchenko et al. 2020): forward passes only, so
// gradient masking cannot pass for robustness.
//
// Margin on the logits: m(x) = z_y − max_{j≠y} z_j (lower is better for the attacker).
// Image h × w × c (channels last; a non-image vector is 1 × d × 1).
//   init: x = clip01(x0 + eps·s), s = ±1 per (column, channel) (vertical stripes)
//   query i = 1 … Q−1, on rows not yet adversarial:
//     p = p_init / 2^k (schedule of the paper over i·10000/Q), side = clamp(round(√(p·h·w)), 1, h−1)
//     a random side×side window gets δ = ±eps per channel; x_new = clip01(x0 + δ_new)
//     accept x_new if m(x_new) < m(x)
// Rows adversarial at any point are frozen. Random keys: rng(seed, kStreamAttack,
// a = row0 + row, b = ((eps_index·Q + i)·(c + 2) + slot) + 2^40).
#pragma once
#include <vector>

#include "attack_model.h"

namespace nrem {

struct SquareOptions {
  std::vector<float> eps;
  int max_queries = 1000;
  float p_init = 0.8f;
  int h = 0, w = 0, c = 1;  // h·w·c = d; 0: 1 × d × 1
  uint64_t seed = 0;
  uint64_t row0 = 0;
  size_t batch = 1000;
};

// Xadv: eps.size() × n × d; queries (optional, eps × n): queries used per row.
void square_attack(const AttackModel& m, const float* X, const int32_t* y, size_t n, const SquareOptions& o,
                   float* Xadv, int32_t* queries, const Tick& tick);

}  // namespace nrem
