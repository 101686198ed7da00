// DeepFool, multi-class (Moosavi-Dezfooli et al. 2016), on the logits z = z_L.
//
// For a row x0 with label y (the attack stops as soon as the prediction differs from y):
//   r_tot = 0, x = x0
//   repeat ≤ max_iter times while predict(x) = y:
//     for k ≠ y:  w_k = ∇z_k(x) − ∇z_y(x),  f_k = z_k(x) − z_y(x)
//     l = argmin_k |f_k| / ‖w_k‖₂
//     r = (|f_l| + 1e-4) / ‖w_l‖₂² · w_l;   r_tot ← r_tot + r
//     x = clip01(x0 + (1 + overshoot) · r_tot)
// On a linear classifier with no clipping this reaches the nearest decision boundary in
// one step: ‖r‖ = |f_l|/‖w_l‖ (+1e-4/‖w_l‖), the analytic minimal L2 perturbation.
// `candidates` limits k to the most likely classes at x0 (0 = all), as the original does.
#pragma once
#include "attack_model.h"

namespace nrem {

struct DeepFoolOptions {
  float overshoot = 0.02f;
  int max_iter = 100;
  int candidates = 0;
  size_t batch = 256;
};

// Xadv (n × d); iters (optional, n) iterations used.
void deepfool_attack(const AttackModel& m, const float* X, const int32_t* y, size_t n, const DeepFoolOptions& o,
                     float* Xadv, int32_t* iters, const Tick& tick);

}  // namespace nrem
