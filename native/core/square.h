// Square attack, score-based (Andriushchenko et al. 2020), L∞ and L2, as fra31/auto-attack's
// square.py computes it: forward passes only, so gradient masking cannot pass for robustness.
//
// Margin on the logits: m(x) = z_y − max_{j≠y} z_j (lower is better for the attacker).
// Image c × h × w (channel planes, as the model's C×H×W input and the original's NCHW; a
// non-image vector is 1 × 1 × d). Windows are h × w squares at the same place in every channel.
//   L∞ start (query 1): x = clip01(x0 + eps·s), s = ±1 per (column, channel) (vertical stripes)
//   L2 start: δ = Σ over a grid of h/5-sized blocks (from ((h − 5⌊h/5⌋)/2)) of ±eta per channel,
//     x = clip01(x0 + eps·δ/‖δ‖₂); eta(s) = the original's two opposite stacks of concentric
//     rectangles (weights 1/(k+1)², normalised), transposed on a coin
//   iteration i = 0 … Q−1 (queries 2 … Q+1), on rows not yet adversarial:
//     p = p_init / 2^k, k = #{b ∈ 10, 50, 200, 500, 1000, 2000, 4000, 6000, 8000 : it > b},
//       it = i (rescale_schedule false: AutoAttack's setting) or ⌊i·10000/Q⌋ (true: the
//       schedule adapted to Q, the class default)
//     side = min(max(round(√(p·h·w)), 1), min(h, w))  (round half to even, as Python; L2: at
//       least 3 and odd)
//     windows at (⌊u·(h − side)⌋, ⌊u'·(w − side)⌋) (the original's randint, whose last
//       position is never drawn)
//     L∞: the window gets δ = ±eps per channel; x_new = clip01(x0 + δ_new)
//     L2: per channel, window 1 gets ±eta + its old δ/‖old δ‖, rescaled to
//       √(max(eps² − ‖δ‖², 0)/c + ‖δ on windows 1 ∪ 2‖²); window 2 is cleared first;
//       x_new = clip01(x0 + eps·δ/‖δ‖₂)
//     accept x_new if m(x_new) < m(x) or x_new is adversarial; an x_new equal to x bit for bit
//       (a window already holding the drawn values, common late in L∞) is rejected without a
//       forward pass: m(x_new) = m(x) and x is not adversarial
// Rows adversarial at any point are frozen. L∞, dense first layer (`incremental`): a proposal's
// first-layer pre-activation is x_best's plus the window's columns times their change (rounded
// otherwise than the whole pass's sum); a proposal that looks adversarial is judged by the whole
// pass, and x_best's pre-activation is recomputed whole every 100 iterations. The original draws one window per iteration
// for the whole batch; here each row draws its own (the same distribution per row, and a
// row's result does not depend on which rows share its batch). Random keys: rng(seed,
// kStreamAttack, a = key of the row, b): start 2^40 + 2^39 + slot; iteration i at eps index e:
// 2^40 + (e·Q + i)·(c + 2) + slot (L∞), ·(c + 5) (L2); key = keys[r] when given, else row0 + r.
#pragma once
#include <vector>

#include "attack_model.h"

namespace nrem {

struct SquareOptions {
  bool l2 = false;
  std::vector<float> eps;
  int max_queries = 1000;  // Q: iterations after the initial query (Q + 1 queries at most)
  float p_init = 0.8f;
  bool rescale_schedule = true;
  int h = 0, w = 0, c = 1;  // c·h·w = d (layout c × h × w); 0: 1 × 1 × d
  uint64_t seed = 0;
  uint64_t row0 = 0;
  std::vector<uint64_t> keys;  // per row (size n) or empty
  std::vector<float> row_eps;  // per row (size n): replaces the eps list (one output, n × d)
  size_t batch = 1000;
  // L∞ with a dense first layer: a proposal's first-layer pre-activation from x_best's and the
  // window's pixels (square.cc FirstLayer); adversarial verdicts always from the whole pass.
  bool incremental = true;
};

// Side of the square window at iteration i (0-based) of Q, for an h × w image.
int square_side(float p_init, int i, int Q, bool rescale, int h, int w, bool l2 = false);
// The L2 proposal shape eta(s) (s × s, row-major), transposed when flip.
std::vector<float> square_eta(int s, bool flip);

// Xadv: eps.size() × n × d (n × d with row_eps); queries (optional, same layout): queries used per row (1 … Q + 1).
void square_attack(const AttackModel& m, const float* X, const int32_t* y, size_t n, const SquareOptions& o,
                   float* Xadv, int32_t* queries, const Tick& tick);

}  // namespace nrem
