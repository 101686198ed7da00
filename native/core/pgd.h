// Projected gradient attacks (BIM / PGD, Madry et al. 2018), L∞ and L2, and FGSM as PGD
// with one step, no random start and step = eps (Foolbox's shape: one implementation).
//
// For each eps, each row x0 (label or target y), each restart ρ:
//   x ← x0                                                        (no random start)
//   x ← clip01(x0 + δ0), δ0 ~ U[−eps, eps]^d                      (L∞ random start)
//   x ← clip01(x0 + eps·u^(1/d)·ξ/‖ξ‖), ξ ~ N(0, I), u ~ U(0,1)   (L2 random start)
//   repeat `steps` times:  g = ∇_x ℓ(x, y)   (gradients.h; s = +1 untargeted, −1 targeted)
//     L∞: x ← clip01(clip_[x0−eps, x0+eps](x + s·α·sign(g)))
//     L2: x ← x + s·α·g/‖g‖;  δ = x − x0;  δ ← δ·min(1, eps/‖δ‖);  x ← clip01(x0 + δ)
// α = step (absolute) or rel_step·eps. With early_stop a row is frozen as soon as it is
// adversarial after a step (so one step is always taken: PGD-1 ≡ FGSM for every row);
// restarts are run only on rows not yet adversarial. sign(0) = 0.
// Random keys: rng(seed, kStreamAttack, a = row0 + row, b = (eps_index·R + ρ)·d + pixel).
//
// The whole eps sweep of the paper's FGSM (fgsm_sweep) evaluates x' = clip01(x + eps·sign(g))
// for every eps from ONE gradient per row, and counts correct predictions.
#pragma once
#include <vector>

#include "attack_model.h"
#include "gradients.h"

namespace nrem {

struct PgdOptions {
  bool l2 = false;
  std::vector<float> eps;
  float step = -1.0f;      // absolute step α; < 0: rel_step·eps
  float rel_step = 0.025f;
  int steps = 40;
  bool random_start = true;
  int restarts = 1;
  bool early_stop = true;
  bool targeted = false;
  AttackLoss loss = AttackLoss::Ce;
  uint64_t seed = 0;
  uint64_t row0 = 0;
  size_t batch = 500;
};

// Xadv: eps.size() × n × d.
void pgd_attack(const AttackModel& m, const float* X, const int32_t* y, size_t n, const PgdOptions& o, float* Xadv,
                const Tick& tick);

// correct: eps.size() × n (1 where the prediction at x' equals y). Returns nothing else:
// the caller sums. batch rows share one gradient pass.
// closed_form (CPU, eps >= 0): the first layer's pre-activation at every eps from its
// piecewise-linear form in eps (pgd.cc, fgsm_sweep_cpu): two GEMMs per batch instead of
// one per eps, equal to the network at x' up to float rounding. Otherwise (or on the GPU)
// x' is built and the whole network evaluated at every eps.
void fgsm_sweep(const AttackModel& m, AttackLoss loss, const float* X, const int32_t* y, size_t n,
                const std::vector<float>& eps, uint8_t* correct, const Tick& tick, size_t batch = 1000,
                bool closed_form = true);

}  // namespace nrem
