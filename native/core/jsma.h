// Jacobian-based saliency map attack (Papernot et al. 2016), targeted, increasing pixels,
// on the logits z = z_L; as the authors' release: +theta per change, at most
// `max_changes` changes per pixel, `max_iter` iterations.
//
// Each iteration, for a row x with target t (stop once predict(x) = t):
//   α = ∇z_t(x),  β = ∇(Σ_{k≠t} z_k)(x)            (two backward passes, one forward)
//   domain Γ = { p : x_p < 1 and changes_p < max_changes }
//   pairs:  (p, q) = argmax_{p<q ∈ Γ, α_p+α_q > 0, β_p+β_q < 0} (α_p+α_q)·|β_p+β_q|
//   single: p = argmax_{p ∈ Γ, α_p > 0, β_p < 0} α_p·|β_p|          (the release's variant)
//   x_p ← min(1, x_p + theta) for the chosen pixel(s); no candidate: the row fails.
// Hence L0 ≤ min(d, 2·max_iter) (pairs) or min(d, max_iter) (single), and no pixel moves by
// more than max_changes·theta.
#pragma once
#include "attack_model.h"

namespace nrem {

struct JsmaOptions {
  float theta = 0.1f;
  int max_changes = 7;
  int max_iter = 500;
  bool pairs = true;
  size_t batch = 128;
};

// target[r] < 0: the second most likely class at x0 (written back into target).
void jsma_attack(const AttackModel& m, const float* X, int32_t* target, size_t n, const JsmaOptions& o, float* Xadv,
                 const Tick& tick);

}  // namespace nrem
