// FAB, the fast adaptive boundary attack (Croce & Hein, ICML 2020), L∞ and L2, targeted and
// untargeted, as fra31/auto-attack's fab_base.py / fab_projections.py compute it.
//
// One run on a row x₀ (label y), N iterations; x¹ = x₀, or a random start
// clip01(x₀ + ½ε·t/‖t‖) (restarts after the first; t as in apgd.h). At each iterate x:
//   linearise the boundary against the class c (targeted: c = t; untargeted: the class
//   whose linearised boundary is nearest, c = argmin_{k≠y} |f_k| / ‖∇f_k‖_*), where
//   f_k = z_k − z_y, ‖·‖_* the dual norm (L1 for L∞, L2 for L2):
//     w = ∇f_c(x),  b = w·x − f_c(x)     (the hyperplane w·v = b)
//   δ₁ = P(x),  δ₂ = P(x₀): the smallest L∞ / L2 steps from x and from x₀ onto the
//   hyperplane within the box [0, 1]^d (the original's projection_linf / projection_l2;
//   its sort and binary search over the pixels' breakpoints done as a selection, fab.cc)
//   α = min(max(‖δ₁‖ / (‖δ₁‖ + ‖δ₂‖), 0), α_max)   (norms at least 1e-8)
//   x ← clip01((x + η δ₁)(1 − α) + (x₀ + η δ₂) α)       η = 1.05 (overshoot), α_max = 0.1
//   if x is adversarial: keep it when ‖x − x₀‖ is the smallest so far, then
//     x ← x₀ + β (x − x₀)                                β = 0.9 (the backward step)
// A row counts as adversarial when the smallest adversarial perturbation found is at most
// ε (as the original's perturb, which returns x₀ for the others). Targeted: one run per
// target t = the 1st … T-th most likely other class (apgd.h target_class) × restarts, on the rows still robust
// (run side by side, runs_per_pass, with the same results: a row's is its first fooling run's).
// stop_at_eps ends a row's run once it holds a perturbation ≤ ε (its verdict cannot change;
// the returned example is then the first one within ε rather than the smallest).
// Success uses the deployed network's class (AttackModel::predict_from_logits).
// Random keys: rng(seed, kStreamFab, a = key of the row, b = run·(d + 1) + pixel).
#pragma once
#include <vector>

#include "attack_model.h"

namespace nrem {

struct FabOptions {
  bool l2 = false;
  float eps = 0.0f;
  std::vector<float> row_eps;  // per row (size n): replaces eps
  int iterations = 100;
  int restarts = 1;
  bool targeted = true;
  int target_classes = 9;  // targeted only
  float alpha_max = 0.1f, eta = 1.05f, beta = 0.9f;
  bool stop_at_eps = true;
  uint64_t seed = 0;
  uint64_t row0 = 0;
  std::vector<uint64_t> keys;  // per row (size n) or empty
  size_t batch = 1000;
  // Runs (targets × restarts) side by side in one set of slots, their passes batched: 0 = as
  // many as fit, k = at most k. Same results as one after another wherever the model's passes
  // give each row the same bits whatever the batch (the own GEMM, gemm.h).
  int runs_per_pass = 0;
};

// δ (d) with w·(t + δ) = b and t + δ in [0, 1]^d of smallest L∞ (L2) norm, or the
// farthest box corner towards the hyperplane when it cannot be reached. w is not modified.
void fab_project_linf(const float* t, const float* w, float b, int d, float* delta);
void fab_project_l2(const float* t, const float* w, float b, int d, float* delta);

// Xadv (n × d): the adversarial example within ε, or x; fooled (optional, n).
void fab_attack(const AttackModel& m, const float* X, const int32_t* y, size_t n, const FabOptions& o, float* Xadv,
                uint8_t* fooled, const Tick& tick);

}  // namespace nrem
