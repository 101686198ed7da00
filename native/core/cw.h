// Carlini–Wagner L2, untargeted (Carlini & Wagner 2017), in tanh space.
//
//   x(w) = (tanh(w) + 1)/2,  w0 = atanh((2·x0 − 1)·0.999999)   (w starts at w0 each search)
//   minimise  ‖x(w) − x0‖₂² + c·max(z_y − max_{j≠y} z_j, −κ)   over w, with Adam (lr, β1 0.9,
//   β2 0.999, ε 1e-8), max_iter iterations; every iterate that predict() calls adversarial
//   and has the smallest L2 so far is kept.
//   Binary search over c per row, starting at c0: success in a search → hi = min(hi, c),
//   c = (lo + hi)/2; failure → lo = max(lo, c), c = hi < 1e9 ? (lo + hi)/2 : 10·c.
// Rows never made adversarial return x0.
#pragma once
#include "attack_model.h"

namespace nrem {

struct CwOptions {
  int search_steps = 5;
  int max_iter = 1000;
  float lr = 5e-3f;
  float c0 = 0.01f;
  float kappa = 0.0f;
  size_t batch = 256;
};

void cw_attack(const AttackModel& m, const float* X, const int32_t* y, size_t n, const CwOptions& o, float* Xadv,
               const Tick& tick);

}  // namespace nrem
