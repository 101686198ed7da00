#include "apgd.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <numeric>
#include <string>

#include "thread_pool.h"

namespace nrem {

ApgdLoss parse_apgd_loss(const std::string& name) {
  if (name == "ce") return ApgdLoss::Ce;
  if (name == "dlr") return ApgdLoss::Dlr;
  if (name == "dlr-targeted") return ApgdLoss::DlrTargeted;
  throw Error("ERR_VALUE", "Unknown APGD loss '" + name + "' (expected ce, dlr or dlr-targeted)");
}

ApgdSchedule apgd_schedule(int N) {
  ApgdSchedule s;
  // int(0.22 * N) etc. in double precision, as Python computes them.
  s.h0 = std::max(static_cast<int>(0.22 * N), 1);
  s.h_min = std::max(static_cast<int>(0.06 * N), 1);
  s.h_decr = std::max(static_cast<int>(0.03 * N), 1);
  int h = s.h0, since = 0;
  for (int k = 0; k < N; ++k)
    if (++since == h) {
      s.checkpoints.push_back(k);
      s.lengths.push_back(h);
      h = std::max(h - s.h_decr, s.h_min);
      since = 0;
    }
  return s;
}

bool apgd_should_halve(const float* steps, int N, int k, int h, float rho, bool reduced_last, float best_last,
                       float best) {
  int increases = 0;
  for (int c = 0; c < h; ++c) {
    const int j = k - c, p = j - 1 < 0 ? j - 1 + N : j - 1;  // the original's index −1 is the last slot
    increases += steps[j] > steps[p] ? 1 : 0;
  }
  const bool oscillates = increases <= static_cast<double>(h) * rho;
  const bool stalled = !reduced_last && best_last >= best;
  return oscillates || stalled;
}

void require_labels(const int32_t* y, size_t n, int K) {
  for (size_t r = 0; r < n; ++r)
    require(y[r] >= 0 && y[r] < K, "ERR_VALUE", "label " + std::to_string(y[r]) + " at row " + std::to_string(r) +
                                                    " is outside 0.." + std::to_string(K - 1));
}

std::function<float(size_t)> row_budgets(float eps, const std::vector<float>& row_eps, size_t n) {
  require(row_eps.empty() || row_eps.size() == n, "ERR_SHAPE", "eps must hold one entry per row");
  for (float e : row_eps) require(std::isfinite(e) && e >= 0.0f, "ERR_VALUE", "eps must be finite and >= 0");
  if (row_eps.empty()) require(std::isfinite(eps) && eps >= 0.0f, "ERR_VALUE", "eps must be finite and >= 0");
  const float* p = row_eps.empty() ? nullptr : row_eps.data();
  return [p, eps](size_t r) { return p ? p[r] : eps; };
}

int runs_in_group(int runs, int run0, size_t nr, int d, int runs_per_pass) {
  const size_t cap_values = size_t{1} << 22;
  size_t fit = std::min<size_t>(static_cast<size_t>(runs - run0), cap_values / (nr * static_cast<size_t>(d)));
  if (runs_per_pass > 0) fit = std::min<size_t>(fit, static_cast<size_t>(runs_per_pass));
  return static_cast<int>(std::max<size_t>(1, fit));
}

std::vector<uint8_t> misclassified(const AttackModel& m, const float* X, const int32_t* y, size_t b,
                                   std::vector<float>& Z) {
  Z.resize(b * m.outputs());
  m.logits(X, b, Z.data());
  std::vector<int32_t> pred(b);
  m.predict_from_logits(Z.data(), b, pred.data());
  std::vector<uint8_t> wrong(b);
  for (size_t r = 0; r < b; ++r) wrong[r] = pred[r] != y[r];
  return wrong;
}

int target_class(const float* z, int K, int y, int rank) {
  std::vector<int> idx;
  for (int k = 0; k < K; ++k)
    if (k != y) idx.push_back(k);
  std::stable_sort(idx.begin(), idx.end(), [z](int a, int b) { return z[a] > z[b]; });
  return idx[static_cast<size_t>(rank)];
}

void apgd_loss_grad(ApgdLoss kind, const float* Z, size_t n, int K, const int32_t* y, const int32_t* t, float* loss,
                    float* G) {
  std::vector<int> idx(static_cast<size_t>(K));
  for (size_t r = 0; r < n; ++r) {
    const float* z = Z + r * K;
    float* g = G + r * K;
    const int yr = y[r];
    std::fill(g, g + K, 0.0f);
    if (kind == ApgdLoss::Ce) {
      float mx = z[0];
      for (int k = 1; k < K; ++k) mx = std::max(mx, z[k]);
      double s = 0.0;
      for (int k = 0; k < K; ++k) s += std::exp(static_cast<double>(z[k] - mx));
      for (int k = 0; k < K; ++k) g[k] = static_cast<float>(std::exp(static_cast<double>(z[k] - mx)) / s);
      g[yr] -= 1.0f;
      loss[r] = static_cast<float>(std::log(s) + mx - z[yr]);
      continue;
    }
    std::iota(idx.begin(), idx.end(), 0);
    std::stable_sort(idx.begin(), idx.end(), [z](int a, int b) { return z[a] > z[b]; });
    const int p1 = idx[0], p3 = idx[2];
    // ℓ = −num/den: ∂ℓ/∂z = −∂num/den + num·∂den/den².
    double num, den;
    int other;
    if (kind == ApgdLoss::Dlr) {
      other = p1 == yr ? idx[1] : p1;
      den = static_cast<double>(z[p1]) - z[p3] + 1e-12;
    } else {
      other = t[r];
      den = static_cast<double>(z[p1]) - 0.5 * (static_cast<double>(z[p3]) + z[idx[3]]) + 1e-12;
    }
    num = static_cast<double>(z[yr]) - z[other];
    const double q = num / (den * den);
    g[yr] += static_cast<float>(-1.0 / den);
    g[other] += static_cast<float>(1.0 / den);
    g[p1] += static_cast<float>(q);
    if (kind == ApgdLoss::Dlr) {
      g[p3] -= static_cast<float>(q);
    } else {
      g[p3] -= static_cast<float>(0.5 * q);
      g[idx[3]] -= static_cast<float>(0.5 * q);
    }
    loss[r] = static_cast<float>(-num / den);
  }
}

namespace {

inline float clip01(float v) { return v < 0.0f ? 0.0f : (v > 1.0f ? 1.0f : v); }
inline float sgn(float v) { return v > 0.0f ? 1.0f : (v < 0.0f ? -1.0f : 0.0f); }

double norm2(const float* v, int d) {
  double s = 0.0;
  for (int j = 0; j < d; ++j) s += static_cast<double>(v[j]) * v[j];
  return std::sqrt(s);
}

// v ← clip01(x + (v − x)/(‖v − x‖ + 1e-12)·min(ε, ‖v − x‖)): the original's L2 projection.
void project_l2(const float* x, float* v, int d, float eps) {
  double s = 0.0;
  for (int j = 0; j < d; ++j) s += static_cast<double>(v[j] - x[j]) * (v[j] - x[j]);
  const double nr = std::sqrt(s);
  const float f = static_cast<float>(std::min(static_cast<double>(eps), nr) / (nr + 1e-12));
  for (int j = 0; j < d; ++j) v[j] = clip01(x[j] + (v[j] - x[j]) * f);
}

// The state of one APGD run over the S rows ("slots") of a batch that are still robust.
class Run {
 public:
  Run(const AttackModel& m, const ApgdOptions& o, size_t S)
      : m_(m), o_(o), d_(m.inputs()), K_(m.outputs()), N_(o.iterations), S_(S) {
    const size_t D = S * d_;
    x0.resize(D), xa.resize(D), xold.resize(D), xbest.resize(D), gbest.resize(D), g.resize(D);
    y.resize(S), t.resize(S), loss.resize(S), best.resize(S), best_last.resize(S), step.resize(S), eps.resize(S);
    reduced_last.assign(S, 1);
    steps.assign(S * N_, 0.0f);
  }

  // Gradient, loss and prediction at xa for the listed slots.
  void evaluate(const std::vector<size_t>& live, std::vector<int32_t>& pred) {
    const size_t A = live.size();
    xg_.resize(A * d_), gg_.resize(A * d_), z_.resize(A * K_), yg_.resize(A), tg_.resize(A), lg_.resize(A);
    for (size_t i = 0; i < A; ++i) {
      std::memcpy(&xg_[i * d_], &xa[live[i] * d_], sizeof(float) * d_);
      yg_[i] = y[live[i]];
      tg_[i] = t[live[i]];
    }
    const ApgdLoss kind = o_.loss;
    const int K = K_;
    m_.input_grad(
        xg_.data(), A,
        [&](const float* Z, const float*, size_t rows, float* G) {
          apgd_loss_grad(kind, Z, rows, K, yg_.data(), tg_.data(), lg_.data(), G);
        },
        gg_.data(), z_.data());
    pred.resize(A);
    m_.predict_from_logits(z_.data(), A, pred.data());
    for (size_t i = 0; i < A; ++i) {
      std::memcpy(&g[live[i] * d_], &gg_[i * d_], sizeof(float) * d_);
      loss[live[i]] = lg_[i];
    }
  }

  // x^{k+1} from x^k, x^{k−1} and ∇ℓ(x^k) for the listed slots (a = momentum weight).
  void step_all(const std::vector<size_t>& live, float a) {
    const int d = d_;
    pool().parallel_for(live.size(), 8, [&](size_t b, size_t e) {
      std::vector<float> v1(static_cast<size_t>(d)), gd(static_cast<size_t>(d));
      for (size_t i = b; i < e; ++i) {
        const size_t s = live[i];
        const float eps = this->eps[s];
        const float* x = &x0[s * d];
        float* v = &xa[s * d];
        float* vo = &xold[s * d];
        const float* gr = &g[s * d];
        const float eta = step[s];
        for (int j = 0; j < d; ++j) {
          gd[j] = v[j] - vo[j];
          vo[j] = v[j];
        }
        if (!o_.l2) {
          for (int j = 0; j < d; ++j) {
            float u = v[j] + eta * sgn(gr[j]);
            u = clip01(std::min(std::max(u, x[j] - eps), x[j] + eps));
            float w = v[j] + (u - v[j]) * a + gd[j] * (1.0f - a);
            v[j] = clip01(std::min(std::max(w, x[j] - eps), x[j] + eps));
          }
        } else {
          const float inv = static_cast<float>(1.0 / (norm2(gr, d) + 1e-12));
          for (int j = 0; j < d; ++j) v1[j] = v[j] + eta * gr[j] * inv;
          project_l2(x, v1.data(), d, eps);
          for (int j = 0; j < d; ++j) v[j] = v[j] + (v1[j] - v[j]) * a + gd[j] * (1.0f - a);
          project_l2(x, v, d, eps);
        }
      }
    });
  }

  std::vector<float> x0, xa, xold, xbest, gbest, g, loss, best, best_last, step, steps, eps;
  std::vector<int32_t> y, t;
  std::vector<uint8_t> reduced_last;

 private:
  const AttackModel& m_;
  const ApgdOptions& o_;
  const int d_, K_, N_;
  const size_t S_;
  std::vector<float> xg_, gg_, z_, lg_;
  std::vector<int32_t> yg_, tg_;
};

}  // namespace

void apgd_attack(const AttackModel& m, const float* X, const int32_t* y, size_t n, const ApgdOptions& o, float* Xadv,
                 uint8_t* fooled, uint8_t* zero, ApgdStats* stats, const Tick& tick) {
  const int d = m.inputs(), K = m.outputs(), N = o.iterations;
  const auto eps_of = row_budgets(o.eps, o.row_eps, n);
  require(N >= 1, "ERR_VALUE", "iterations must be >= 1");
  require(o.restarts >= 1, "ERR_VALUE", "restarts must be >= 1");
  require(o.runs_per_pass >= 0, "ERR_VALUE", "runsPerPass must be >= 0");
  require(o.rho > 0.0f && o.rho <= 1.0f, "ERR_VALUE", "rho must be in (0, 1]");
  require(o.keys.empty() || o.keys.size() == n, "ERR_SHAPE", "keys must hold one entry per row");
  if (o.loss == ApgdLoss::Dlr) require(K >= 3, "ERR_VALUE", "the DLR loss needs at least 3 classes");
  const bool targeted = o.loss == ApgdLoss::DlrTargeted;
  if (targeted) {
    require(K >= 4, "ERR_VALUE", "the targeted DLR loss needs at least 4 classes");
    require(o.target_classes >= 1 && o.target_classes <= K - 1, "ERR_VALUE",
            "targetClasses must be in 1.." + std::to_string(K - 1));
  }
  require_labels(y, n, K);
  const int runs = (targeted ? o.target_classes : 1) * o.restarts;
  const ApgdSchedule sched = apgd_schedule(N);
  std::vector<uint8_t> is_checkpoint(static_cast<size_t>(N), 0);
  for (int k : sched.checkpoints) is_checkpoint[k] = 1;
  const double total = static_cast<double>(n) * runs * N;
  double done = 0;
  ApgdStats st;
  std::memcpy(Xadv, X, sizeof(float) * n * d);
  if (zero) std::fill(zero, zero + n, 0);
  const size_t B = std::max<size_t>(1, o.batch);
  std::vector<float> zc;
  for (size_t r0 = 0; r0 < n; r0 += B) {
    const size_t b = std::min(B, n - r0);
    const float* Xb = X + r0 * d;
    std::vector<uint8_t> done_row = misclassified(m, Xb, y + r0, b, zc);  // those count as adversarial
    for (size_t r = 0; r < b; ++r) {
      if (done_row[r]) done += static_cast<double>(runs) * N;
      else ++st.rows;
    }
    // The runs in groups, each group's runs side by side in one set of slots (slot = run × rows
    // + row), so that the passes are batched across runs. A row's result is that of the first
    // run that fools it, as when the runs go one after another on the rows still robust: every
    // slot evolves on its own (its start point keyed by row and run), a slot's record is kept
    // only while no earlier run has fooled its row, and the slots of later runs stop as soon as
    // an earlier one fools the row (they could not count). Halvings count only the slots that
    // the one-after-another order runs.
    for (int run0 = 0; run0 < runs;) {
      std::vector<size_t> rows;  // batch rows still robust
      for (size_t r = 0; r < b; ++r)
        if (!done_row[r]) rows.push_back(r);
      if (rows.empty()) break;
      const size_t nr = rows.size();
      const int group = runs_in_group(runs, run0, nr, d, o.runs_per_pass);  // six arrays of slots × d
      const size_t S = nr * static_cast<size_t>(group);
      Run R(m, o, S);
      auto run_of = [&](size_t s) { return run0 + static_cast<int>(s / nr); };
      auto row_of = [&](size_t s) { return rows[s % nr]; };
      for (size_t s = 0; s < S; ++s) {
        const size_t r = row_of(s);
        std::memcpy(&R.x0[s * d], Xb + r * d, sizeof(float) * d);
        R.y[s] = y[r0 + r];
        R.eps[s] = eps_of(r0 + r);
        R.t[s] = targeted ? target_class(&zc[r * K], K, y[r0 + r], run_of(s) / o.restarts) : 0;
      }
      // Start point x⁰ = clip01(x + ε·t/‖t‖).
      pool().parallel_for(S, 8, [&](size_t sb, size_t se) {
        for (size_t s = sb; s < se; ++s) {
          const size_t r = row_of(s);
          const uint64_t a = o.keys.empty() ? o.row0 + r0 + r : o.keys[r0 + r];
          const uint64_t b0 = (static_cast<uint64_t>(o.loss) << 32) + static_cast<uint64_t>(run_of(s)) * (d + 1);
          float* v = &R.xa[s * d];
          const float* x = &R.x0[s * d];
          double nrm = 0.0;
          for (int j = 0; j < d; ++j) {
            v[j] = o.l2 ? rng_normal(o.seed, kStreamApgd, a, b0 + j)
                        : 2.0f * rng_uniform(o.seed, kStreamApgd, a, b0 + j) - 1.0f;
            nrm = o.l2 ? nrm + static_cast<double>(v[j]) * v[j] : std::max(nrm, static_cast<double>(std::fabs(v[j])));
          }
          if (o.l2) nrm = std::sqrt(nrm);
          const float f = static_cast<float>(R.eps[s] / (nrm + 1e-12));
          for (int j = 0; j < d; ++j) v[j] = clip01(x[j] + v[j] * f);
        }
      });
      std::vector<size_t> live(S);
      std::iota(live.begin(), live.end(), 0);
      std::vector<int32_t> p;
      // first[i]: the first run of this group that fooled row rows[i] (group: none yet).
      std::vector<int> first(nr, group);
      std::vector<size_t> halvings(S, 0);
      std::vector<uint8_t> stopped(S, 0);
      auto settle = [&](int it) {  // record misclassified iterates; drop the slots that cannot count
        for (size_t i = 0; i < live.size(); ++i) {
          const size_t s = live[i], ri = s % nr;
          const int gi = static_cast<int>(s / nr);
          if (p[i] == R.y[s] || gi > first[ri]) continue;
          std::memcpy(Xadv + (r0 + rows[ri]) * d, &R.xa[s * d], sizeof(float) * d);
          first[ri] = gi;
          if (o.early_stop) stopped[s] = 1;
        }
        size_t w = 0;
        for (size_t i = 0; i < live.size(); ++i) {
          const size_t s = live[i];
          const int gi = static_cast<int>(s / nr);
          if (stopped[s] || gi > first[s % nr]) {
            done += N - it;  // the rest of this slot's iterations
            continue;
          }
          live[w++] = s;
        }
        live.resize(w);
      };
      R.evaluate(live, p);
      if (run0 == 0)
        for (size_t s = 0; s < nr; ++s) {
          bool flat = true;
          for (int j = 0; j < d && flat; ++j) flat = R.g[s * d + j] == 0.0f;
          st.zero_gradient += flat ? 1 : 0;
          if (zero) zero[r0 + rows[s]] = flat ? 1 : 0;
        }
      for (size_t s = 0; s < S; ++s) {
        R.best[s] = R.best_last[s] = R.loss[s];
        R.step[s] = 2.0f * R.eps[s];
      }
      R.xbest = R.xa;
      R.gbest = R.g;
      R.xold = R.xa;
      settle(0);
      int h_index = 0;
      for (int k = 0; k < N && !live.empty(); ++k) {
        R.step_all(live, k > 0 ? 0.75f : 1.0f);
        R.evaluate(live, p);
        for (size_t i = 0; i < live.size(); ++i) {
          const size_t s = live[i];
          R.steps[s * N + k] = R.loss[s];
          if (R.loss[s] > R.best[s]) {
            std::memcpy(&R.xbest[s * d], &R.xa[s * d], sizeof(float) * d);
            std::memcpy(&R.gbest[s * d], &R.g[s * d], sizeof(float) * d);
            R.best[s] = R.loss[s];
          }
        }
        if (is_checkpoint[k]) {
          const int h = sched.lengths[h_index++];
          for (size_t s : live) {
            const bool halve = apgd_should_halve(&R.steps[s * N], N, k, h, o.rho, R.reduced_last[s] != 0,
                                                 R.best_last[s], R.best[s]);
            R.reduced_last[s] = halve ? 1 : 0;
            R.best_last[s] = R.best[s];
            if (halve) {
              R.step[s] /= 2.0f;
              std::memcpy(&R.xa[s * d], &R.xbest[s * d], sizeof(float) * d);
              std::memcpy(&R.g[s * d], &R.gbest[s * d], sizeof(float) * d);
              ++halvings[s];
            }
          }
        }
        settle(k);
        done += static_cast<double>(live.size());
        tick(std::min(done, total), total);
      }
      for (size_t s = 0; s < S; ++s)
        if (static_cast<int>(s / nr) <= first[s % nr]) st.halvings += halvings[s];
      for (size_t ri = 0; ri < nr; ++ri)
        if (first[ri] < group) {
          done_row[rows[ri]] = 1;
          done += static_cast<double>(runs - run0 - group) * N;  // the later groups' runs
        }
      run0 += group;
    }
    for (size_t r = 0; r < b; ++r)
      if (fooled) fooled[r0 + r] = done_row[r];
  }
  if (stats) *stats = st;
  tick(total, total);
}

}  // namespace nrem
