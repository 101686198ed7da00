// Auto-PGD (Croce & Hein, ICML 2020, Algorithm 1), as fra31/auto-attack's autopgd_base.py
// computes it, L∞ and L2, with the cross-entropy, DLR and targeted DLR losses.
//
// Losses on the logits z (one row, label y, π = the indices of z sorted in decreasing order):
//   CE     ℓ = logsumexp(z) − z_y
//   DLR    ℓ = −(z_y − max_{i≠y} z_i) / (z_π1 − z_π3 + 1e-12)
//   DLR-T  ℓ = −(z_y − z_t) / (z_π1 − ½(z_π3 + z_π4) + 1e-12)   (target t; needs K ≥ 4)
//   ∂ℓ/∂z through the sort as autograd does: the sorted entries are the logits at π.
//
// One run on a row x (label y), N iterations, budget ε, P the projection onto
// {‖δ‖ ≤ ε} ∩ [0, 1]^d around x:
//   x⁰ = clip01(x + ε·t/‖t‖)      L∞: t ~ U[−1, 1]^d, ‖·‖ = max;  L2: t ~ N(0, I), ‖·‖₂
//   η = 2ε; x_best = x⁰; ℓ_best = ℓ(x⁰)
//   for k = 0 … N−1  (a = 1 at k = 0, else 0.75 — the momentum):
//     z = P(x^k + η·s(∇ℓ(x^k)))          s = sign (L∞), g/‖g‖₂ (L2)
//     x^{k+1} = P(x^k + a(z − x^k) + (1 − a)(x^k − x^{k−1}))
//     ℓ(x^{k+1}) > ℓ_best: x_best, ∇_best, ℓ_best ← x^{k+1}, ∇ℓ(x^{k+1}), ℓ(x^{k+1})
//     at the checkpoints (apgd_schedule), halve η and restart from x_best, ∇_best when
//       (1) #{j in the last h steps : ℓ(x^{j+1}) > ℓ(x^j)} ≤ ρ·h  (ρ = 0.75), or
//       (2) η was not reduced at the last checkpoint and ℓ_best has not grown since.
//   The row is adversarial when some iterate x^k is misclassified (the last such is returned).
// L2 projection as the original: P(v) = clip01(x + (v−x)/(‖v−x‖+1e-12)·min(ε, ‖v−x‖)).
// Checkpoints: h₀ = max(⌊0.22N⌋, 1) iterations after the start, then h ← max(h − max(⌊0.03N⌋, 1),
// max(⌊0.06N⌋, 1)) — at k = 21, 40, 56, 69, 79, 86, 92, 98 for N = 100 — and the oscillation
// count of the first one compares ℓ(x¹) with the unwritten step slot (0), as the original's
// wrapping index does.
//
// apgd_attack runs `restarts` runs (APGD-CE / APGD-DLR), or for DLR-T one run per target
// t = the 1st … T-th most likely other class at x (target_class; the original's 2nd …
// (T+1)-th largest clean logit) × restarts, each on the rows not yet adversarial — as
// the original, one after another; nrem runs them side by side (runs_per_pass) with the
// same outcome: a row's result is the first fooling run's. Rows the network misclassifies before the attack count as adversarial
// (output x). With early_stop a row stops at its first misclassified iterate: every other
// row evolves exactly as without it, and the set of adversarial rows is the same.
// Success uses the deployed network's class (AttackModel::predict_from_logits).
// Random keys: rng(seed, kStreamApgd, a = key of the row, b = loss·2^32 + run·(d + 1) + pixel),
// run = target_index·restarts + restart, loss = 0 CE, 1 DLR, 2 DLR-T (so the losses start
// apart); key = keys[r] when given, else row0 + r.
#pragma once
#include <vector>

#include "attack_model.h"

namespace nrem {

enum class ApgdLoss { Ce = 0, Dlr = 1, DlrTargeted = 2 };
ApgdLoss parse_apgd_loss(const std::string& name);  // "ce" | "dlr" | "dlr-targeted"

struct ApgdOptions {
  bool l2 = false;
  float eps = 0.0f;
  std::vector<float> row_eps;  // per row (size n): replaces eps, so rows of several budgets share the passes
  int iterations = 100;
  int restarts = 1;
  ApgdLoss loss = ApgdLoss::Ce;
  int target_classes = 9;  // DLR-T only
  float rho = 0.75f;
  bool early_stop = true;
  uint64_t seed = 0;
  uint64_t row0 = 0;
  std::vector<uint64_t> keys;  // per row (size n) or empty
  size_t batch = 1000;
  // Runs (targets × restarts) side by side in one set of slots, their passes batched: 0 = as
  // many as fit in 2^22 slot values (slots × d). The result does not depend on it where the
  // model's passes give each row the same bits whatever the batch (the own GEMM, gemm.h).
  int runs_per_pass = 0;
};

struct ApgdStats {
  size_t rows = 0;           // rows attacked (correctly classified before the attack)
  size_t zero_gradient = 0;  // of those, rows whose gradient at the first start point is exactly 0
  size_t halvings = 0;       // step-size halvings, summed over rows and runs
};

// The checkpoint schedule of N iterations: the iterations k (0-based) after which the
// step-size condition is tested, and h at each.
struct ApgdSchedule {
  int h0, h_min, h_decr;
  std::vector<int> checkpoints, lengths;
};
ApgdSchedule apgd_schedule(int iterations);

// The halving test at a checkpoint after iteration k with period h, on one row:
// steps[j] = ℓ(x^{j+1}) for j = 0 … k (steps has N entries, the unwritten ones 0).
bool apgd_should_halve(const float* steps, int N, int k, int h, float rho, bool reduced_last, float best_last,
                       float best);

// Loss values (n) and ∂ℓ/∂z (n × K) of the APGD losses; t: targets (DLR-T), else unused.
void apgd_loss_grad(ApgdLoss kind, const float* Z, size_t n, int K, const int32_t* y, const int32_t* t, float* loss,
                    float* G);

// Xadv (n × d): the adversarial iterate, or x where none was found; fooled (n, optional):
// 1 where adversarial (including rows misclassified before the attack); zero (n, optional):
// 1 where the row was attacked and its gradient at the first start point is exactly 0.
void apgd_attack(const AttackModel& m, const float* X, const int32_t* y, size_t n, const ApgdOptions& o, float* Xadv,
                 uint8_t* fooled, uint8_t* zero, ApgdStats* stats, const Tick& tick);

// Shared by APGD and FAB. Labels in 0..K−1 (ERR_VALUE naming the row); one budget per row
// (row_eps, size n) or eps for all, each finite and >= 0 — returns the budget of a row.
void require_labels(const int32_t* y, size_t n, int K);
std::function<float(size_t)> row_budgets(float eps, const std::vector<float>& row_eps, size_t n);
// Logits Z (b × K) of a batch, and 1 where the deployed network already misclassifies a row.
std::vector<uint8_t> misclassified(const AttackModel& m, const float* X, const int32_t* y, size_t b,
                                   std::vector<float>& Z);

// The targets of the targeted losses: the (rank+1)-th most likely class other than y by
// the logits z (K entries; ties: lower index first). For a row classified as y this is
// the original's (rank+2)-th largest logit.
int target_class(const float* z, int K, int y, int rank);
// How many of the runs run0 … runs−1 go side by side in one set of slots over nr rows of d
// values (APGD and FAB): as many as keep slots × d within 2^22 values per array, at most
// runs_per_pass (0: no cap), at least 1.
int runs_in_group(int runs, int run0, size_t nr, int d, int runs_per_pass);

}  // namespace nrem
