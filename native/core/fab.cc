#include "fab.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <numeric>
#include <string>

#include "apgd.h"
#include "thread_pool.h"

namespace nrem {

namespace {
inline float clip01(float v) { return v < 0.0f ? 0.0f : (v > 1.0f ? 1.0f : v); }
}  // namespace

namespace {

// Both projections reduce to one problem: pixel j moves by c_j-weighted amounts min(λ, p_j)
// (p_j its room, or the step size at which it reaches the box), and the hyperplane needs
//   g(λ) = Σ_j c_j·min(λ, p_j) = T,   T ≥ 0,
// g increasing and piecewise linear with breakpoints p_j. The original sorts the p_j and
// binary-searches the segment; the same λ is found here by a selection over the breakpoints
// (expected O(d) instead of O(d log d)): a pivot splits the candidates, g(pivot) says on which
// side λ lies, the pixels on the other side are settled (saturated: c·p, or moving: c·λ).
// Returns λ, or +∞ when T ≥ Σ c_j p_j (the hyperplane is out of reach: every pixel moves by
// its whole room, as the original's last case).
struct Breakpoint {
  double p, c;
};
double solve_breakpoints(std::vector<Breakpoint>& bp, size_t n, double T) {
  double total = 0.0;
  for (size_t i = 0; i < n; ++i) total += bp[i].c * bp[i].p;
  if (!(T < total)) return INFINITY;
  double A = 0.0, B = 0.0;  // Σ c·p of pixels known to saturate; Σ c of pixels known to keep moving
  size_t lo = 0, hi = n;
  while (lo < hi) {
    const double pivot = bp[lo + (hi - lo) / 2].p;
    // Three-way partition of [lo, hi): < pivot | == pivot | > pivot.
    size_t lt = lo, i = lo, gt = hi;
    double sl = 0.0, ce = 0.0, cg = 0.0;
    while (i < gt) {
      if (bp[i].p < pivot) {
        sl += bp[i].c * bp[i].p;
        std::swap(bp[lt++], bp[i++]);
      } else if (bp[i].p > pivot) {
        cg += bp[i].c;
        std::swap(bp[i], bp[--gt]);
      } else {
        ce += bp[i].c;
        ++i;
      }
    }
    const double g = A + sl + pivot * (B + ce + cg);
    if (g < T) {  // λ > pivot: the pixels up to the pivot saturate
      A += sl + pivot * ce;
      lo = gt;
    } else {      // λ ≤ pivot: the pixels from the pivot on keep moving
      B += ce + cg;
      hi = lt;
    }
  }
  return B > 0.0 ? std::max((T - A) / B, 0.0) : 0.0;
}

std::vector<Breakpoint>& breakpoints(int d) {
  thread_local std::vector<Breakpoint> bp;
  bp.resize(static_cast<size_t>(d));
  return bp;
}

// The hyperplane w·v = b oriented so that t lies on its upper side: returns sign = ±1 with
// sign·(w·t − b) = T ≥ 0, the decrease of sign·w·v the step must make.
float orient(const float* t, const float* w, float b, int d, double* T) {
  double wt = 0.0;
  for (int j = 0; j < d; ++j) wt += static_cast<double>(w[j]) * t[j];
  const float sign = wt - b >= 0.0 ? 1.0f : -1.0f;
  *T = sign * (wt - b);
  return sign;
}

}  // namespace

// projection_linf of fab_projections.py for one point. With the hyperplane oriented so that
// w·t ≥ b, pixel j moves towards lower w·v (up to 1 where w_j < 0, down to 0 where w_j > 0)
// by min(λ, p_j), p_j its room; a step of L∞ size λ lowers w·v by Σ_j |w_j| min(λ, p_j), and
// λ makes that w·t − b. Out of reach: every pixel moves by its whole room.
void fab_project_linf(const float* t, const float* w, float b, int d, float* delta) {
  double T;
  const float sign = orient(t, w, b, d, &T);
  auto& bp = breakpoints(d);
  size_t m = 0;
  for (int j = 0; j < d; ++j) {
    const float wj = w[j] * sign;
    if (wj != 0.0f) bp[m++] = {wj < 0.0f ? 1.0 - t[j] : static_cast<double>(t[j]), std::fabs(static_cast<double>(wj))};
  }
  const double lambda = solve_breakpoints(bp, m, T);
  for (int j = 0; j < d; ++j) {
    const float wj = w[j] * sign;
    if (wj == 0.0f) {
      delta[j] = 0.0f;
      continue;
    }
    const float room = wj < 0.0f ? 1.0f - t[j] : t[j];
    const float step = std::isinf(lambda) ? room : std::min(static_cast<float>(lambda), room);
    delta[j] = wj < 0.0f ? step : -step;
  }
}

// projection_l2 of fab_projections.py for one point: δ = −λ·w clipped per pixel to the box,
// pixel j saturating at λ = r_j (the step at which it reaches 0 or 1); Σ_j w_j² min(λ, r_j)
// = w·t − b (oriented ≥ 0). Pixels with |w_j| < 1e-8 do not move, as in the original.
void fab_project_l2(const float* t, const float* w, float b, int d, float* delta) {
  double T;
  const float sign = orient(t, w, b, d, &T);
  auto& bp = breakpoints(d);
  auto reach = [&](int j, double wj) { return wj > 0 ? t[j] / wj : (t[j] - 1.0) / wj; };
  size_t m = 0;
  for (int j = 0; j < d; ++j) {
    const double wj = static_cast<double>(w[j]) * sign;
    if (std::fabs(wj) >= 1e-8) bp[m++] = {std::max(reach(j, wj), 0.0), wj * wj};
  }
  const double lambda = solve_breakpoints(bp, m, T);
  for (int j = 0; j < d; ++j) {
    const double wj = static_cast<double>(w[j]) * sign;
    if (std::fabs(wj) < 1e-8) {
      delta[j] = 0.0f;
      continue;
    }
    const double r = std::max(reach(j, wj), 0.0);
    delta[j] = static_cast<float>(-wj * (std::isinf(lambda) ? r : std::min(lambda, r)));
  }
}

namespace {

float norm_of(const float* v, int d, bool l2) {
  double s = 0.0;
  for (int j = 0; j < d; ++j) s = l2 ? s + static_cast<double>(v[j]) * v[j] : std::max(s, static_cast<double>(std::fabs(v[j])));
  return static_cast<float>(l2 ? std::sqrt(s) : s);
}

float dist_of(const float* a, const float* b, int d, bool l2) {
  double s = 0.0;
  for (int j = 0; j < d; ++j) {
    const float v = a[j] - b[j];
    s = l2 ? s + static_cast<double>(v) * v : std::max(s, static_cast<double>(std::fabs(v)));
  }
  return static_cast<float>(l2 ? std::sqrt(s) : s);
}

// The boundary linearised at x for each of A rows (labels y, targets t): the class c it is
// taken against (targeted: t; else the nearest by |f_k| / ‖∇f_k‖_*), f_c(x) = z_c − z_y and
// w = ∇f_c(x). Targeted: one backward pass; untargeted: one per class.
class Linearisation {
 public:
  void run(const AttackModel& m, const FabOptions& o, const float* X, size_t A, const int32_t* y, const int32_t* t,
           float* w, float* fc) {
    const int K = m.outputs(), d = m.inputs();
    z_.resize(A * K);
    if (o.targeted) {
      c_.assign(1, std::vector<float>(A * K, 0.0f));
      for (size_t i = 0; i < A; ++i) {
        c_[0][i * K + t[i]] += 1.0f;
        c_[0][i * K + y[i]] -= 1.0f;
      }
      m.weighted_grad(X, A, c_[0].data(), w, z_.data());
      for (size_t i = 0; i < A; ++i) fc[i] = z_[i * K + t[i]] - z_[i * K + y[i]];
      return;
    }
    c_.assign(K, std::vector<float>(A * K, 0.0f));
    g_.assign(K, std::vector<float>(A * d));
    std::vector<const float*> cp;
    std::vector<float*> gp;
    for (int k = 0; k < K; ++k) {
      for (size_t i = 0; i < A; ++i)
        if (k != y[i]) {
          c_[k][i * K + k] += 1.0f;
          c_[k][i * K + y[i]] -= 1.0f;
        }
      cp.push_back(c_[k].data());
      gp.push_back(g_[k].data());
    }
    m.multi_grad(X, A, cp, gp, z_.data());
    for (size_t i = 0; i < A; ++i) {
      int best = -1;
      double bestd = 0.0;
      for (int k = 0; k < K; ++k) {
        const double f = k == y[i] ? 1e10 : static_cast<double>(z_[i * K + k]) - z_[i * K + y[i]];
        const float* g = &g_[k][i * d];
        double nd = 0.0;
        for (int j = 0; j < d; ++j) nd = o.l2 ? nd + static_cast<double>(g[j]) * g[j] : nd + std::fabs(g[j]);
        if (o.l2) nd = std::sqrt(nd);
        const double dist = std::fabs(f) / (1e-12 + nd);
        if (best < 0 || dist < bestd) best = k, bestd = dist;
      }
      std::memcpy(w + i * d, &g_[best][i * d], sizeof(float) * d);
      fc[i] = best == y[i] ? 1e10f : z_[i * K + best] - z_[i * K + y[i]];
    }
  }

 private:
  std::vector<float> z_;
  std::vector<std::vector<float>> c_, g_;
};

// One FAB step of x (in place, d pixels) towards the projections of x and x₀ onto the
// hyperplane w·v = w·x − f; e1, e2: scratch for the two projections.
void boundary_step(const FabOptions& o, int d, float* x, const float* x0, const float* w, float f, float* e1, float* e2) {
  double wx = 0.0;
  for (int j = 0; j < d; ++j) wx += static_cast<double>(w[j]) * x[j];
  const float b = static_cast<float>(-static_cast<double>(f) + wx);
  if (o.l2) {
    fab_project_l2(x, w, b, d, e1);
    fab_project_l2(x0, w, b, d, e2);
  } else {
    fab_project_linf(x, w, b, d, e1);
    fab_project_linf(x0, w, b, d, e2);
  }
  const float a1 = std::max(norm_of(e1, d, o.l2), 1e-8f), a2 = std::max(norm_of(e2, d, o.l2), 1e-8f);
  const float al = std::min(std::max(a1 / (a1 + a2), 0.0f), o.alpha_max);
  for (int j = 0; j < d; ++j) x[j] = clip01((x[j] + o.eta * e1[j]) * (1.0f - al) + (x0[j] + e2[j] * o.eta) * al);
}

}  // namespace

void fab_attack(const AttackModel& m, const float* X, const int32_t* y, size_t n, const FabOptions& o, float* Xadv,
                uint8_t* fooled, const Tick& tick) {
  const int d = m.inputs(), K = m.outputs(), N = o.iterations;
  const auto eps_of = row_budgets(o.eps, o.row_eps, n);
  require(N >= 1, "ERR_VALUE", "iterations must be >= 1");
  require(o.restarts >= 1, "ERR_VALUE", "restarts must be >= 1");
  require(o.runs_per_pass >= 0, "ERR_VALUE", "runsPerPass must be >= 0");
  require(o.keys.empty() || o.keys.size() == n, "ERR_SHAPE", "keys must hold one entry per row");
  require(K >= 2, "ERR_VALUE", "FAB needs at least 2 classes");
  if (o.targeted)
    require(o.target_classes >= 1 && o.target_classes <= K - 1, "ERR_VALUE",
            "targetClasses must be in 1.." + std::to_string(K - 1));
  require_labels(y, n, K);
  const int runs = (o.targeted ? o.target_classes : 1) * o.restarts;
  const double total = static_cast<double>(n) * runs * N;
  double done = 0;
  std::memcpy(Xadv, X, sizeof(float) * n * d);
  const size_t B = std::max<size_t>(1, o.batch);
  std::vector<float> zc, x0, x1, adv, res, xg, w, fc, d1, d2, z, es;
  std::vector<int32_t> pred, ys, ts, yl, tl;
  Linearisation lin;
  for (size_t r0 = 0; r0 < n; r0 += B) {
    const size_t b = std::min(B, n - r0);
    const float* Xb = X + r0 * d;
    std::vector<uint8_t> done_row = misclassified(m, Xb, y + r0, b, zc);  // those count as adversarial
    for (size_t r = 0; r < b; ++r)
      if (done_row[r]) done += static_cast<double>(runs) * N;
    // The runs in groups, each group's runs side by side in one set of slots (slot = run × rows
    // + row), their passes batched, as APGD's (apgd.cc). A row's result is that of the first run
    // that fools it (its smallest perturbation within ε), as when the runs go one after another
    // on the rows still robust: every slot evolves on its own (start point keyed by row and run),
    // and a slot stops once an earlier run of its row holds a perturbation within ε (its own
    // could not count) or, with stop_at_eps, once it holds one itself.
    for (int run0 = 0; run0 < runs;) {
      std::vector<size_t> rows;
      for (size_t r = 0; r < b; ++r)
        if (!done_row[r]) rows.push_back(r);
      if (rows.empty()) break;
      const size_t nr = rows.size();
      const int group = runs_in_group(runs, run0, nr, d, o.runs_per_pass);  // seven arrays of slots × d
      const size_t S = nr * static_cast<size_t>(group);
      auto run_of = [&](size_t s) { return run0 + static_cast<int>(s / nr); };
      x0.resize(S * d), x1.resize(S * d), adv.resize(S * d), ys.resize(S), ts.resize(S), es.resize(S);
      res.assign(S, 1e10f);
      for (size_t s = 0; s < S; ++s) {
        const size_t r = rows[s % nr];
        std::memcpy(&x0[s * d], Xb + r * d, sizeof(float) * d);
        ys[s] = y[r0 + r];
        es[s] = eps_of(r0 + r);
        ts[s] = o.targeted ? target_class(&zc[r * K], K, y[r0 + r], run_of(s) / o.restarts) : 0;
      }
      x1 = x0;
      pool().parallel_for(S, 8, [&](size_t sb, size_t se) {
        for (size_t s = sb; s < se; ++s) {
          const int run = run_of(s);
          if (run % o.restarts == 0) continue;  // the first run of a target starts at x₀
          const size_t r = rows[s % nr];
          const uint64_t a = o.keys.empty() ? o.row0 + r0 + r : o.keys[r0 + r];
          const uint64_t b0 = static_cast<uint64_t>(run) * (d + 1);
          float* v = &x1[s * d];
          double nrm = 0.0;
          for (int j = 0; j < d; ++j) {
            v[j] = o.l2 ? rng_normal(o.seed, kStreamFab, a, b0 + j) : 2.0f * rng_uniform(o.seed, kStreamFab, a, b0 + j) - 1.0f;
            nrm = o.l2 ? nrm + static_cast<double>(v[j]) * v[j] : std::max(nrm, static_cast<double>(std::fabs(v[j])));
          }
          if (o.l2) nrm = std::sqrt(nrm);
          const float f = nrm > 0.0 ? static_cast<float>(0.5 * es[s] / nrm) : 0.0f;
          for (int j = 0; j < d; ++j) v[j] = clip01(x0[s * d + j] + v[j] * f);
        }
      });
      // first[i]: the first run of this group whose perturbation of row rows[i] is within ε (group: none yet).
      std::vector<int> first(nr, group);
      std::vector<size_t> live(S);
      std::iota(live.begin(), live.end(), 0);
      for (int it = 0; it < N && !live.empty(); ++it) {
        const size_t A = live.size();
        xg.resize(A * d), w.resize(A * d), fc.resize(A), yl.resize(A), tl.resize(A), d1.resize(A * d), d2.resize(A * d);
        for (size_t i = 0; i < A; ++i) {
          std::memcpy(&xg[i * d], &x1[live[i] * d], sizeof(float) * d);
          yl[i] = ys[live[i]];
          tl[i] = ts[live[i]];
        }
        lin.run(m, o, xg.data(), A, yl.data(), tl.data(), w.data(), fc.data());
        pool().parallel_for(A, 4, [&](size_t ib, size_t ie) {
          for (size_t i = ib; i < ie; ++i)
            boundary_step(o, d, &x1[live[i] * d], &x0[live[i] * d], &w[i * d], fc[i], &d1[i * d], &d2[i * d]);
        });
        for (size_t i = 0; i < A; ++i) std::memcpy(&xg[i * d], &x1[live[i] * d], sizeof(float) * d);
        pred.resize(A);
        z.resize(A * K);
        m.logits(xg.data(), A, z.data());
        m.predict_from_logits(z.data(), A, pred.data());
        std::vector<uint8_t> stop(A, 0);
        for (size_t i = 0; i < A; ++i) {
          const size_t s = live[i];
          if (pred[i] == ys[s]) continue;
          const float t = dist_of(&x1[s * d], &x0[s * d], d, o.l2);
          if (t < res[s]) {
            std::memcpy(&adv[s * d], &x1[s * d], sizeof(float) * d);
            res[s] = t;
          }
          for (int j = 0; j < d; ++j) x1[s * d + j] = x0[s * d + j] + (x1[s * d + j] - x0[s * d + j]) * o.beta;
          if (res[s] <= es[s]) {
            first[s % nr] = std::min(first[s % nr], static_cast<int>(s / nr));
            stop[i] = o.stop_at_eps;
          }
        }
        size_t keep = 0;
        for (size_t i = 0; i < A; ++i) {
          const size_t s = live[i];
          if (stop[i] || static_cast<int>(s / nr) > first[s % nr]) done += N - it - 1;
          else live[keep++] = s;
        }
        live.resize(keep);
        done += static_cast<double>(A);
        tick(std::min(done, total), total);
      }
      for (size_t ri = 0; ri < nr; ++ri)
        if (first[ri] < group) {
          const size_t s = static_cast<size_t>(first[ri]) * nr + ri;  // res[s] ≤ ε
          std::memcpy(Xadv + (r0 + rows[ri]) * d, &adv[s * d], sizeof(float) * d);
          done_row[rows[ri]] = 1;
          done += static_cast<double>(runs - run0 - group) * N;  // the later groups' runs
        }
      run0 += group;
    }
    if (fooled)
      for (size_t r = 0; r < b; ++r) fooled[r0 + r] = done_row[r];
  }
  tick(total, total);
}

}  // namespace nrem
