#include "pgd.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <memory>

#include "forward.h"
#include "gemm.h"
#include "layers/epilogue.h"
#include "thread_pool.h"

namespace nrem {
namespace {

inline float clip01(float v) { return v < 0.0f ? 0.0f : (v > 1.0f ? 1.0f : v); }
inline float sgn(float v) { return v > 0.0f ? 1.0f : (v < 0.0f ? -1.0f : 0.0f); }

bool is_adv(int32_t pred, int32_t y, bool targeted) { return targeted ? pred == y : pred != y; }

// One projected step on rows [0, A) of xa (A × d) around x0.
void pgd_step(const PgdOptions& o, float eps, float alpha, float s, const float* x0, float* xa, const float* g,
              size_t A, int d) {
  pool().parallel_for(A, 8, [&](size_t b, size_t e) {
    for (size_t r = b; r < e; ++r) {
      const float* x = x0 + r * d;
      float* v = xa + r * d;
      const float* gr = g + r * d;
      if (!o.l2) {
        for (int j = 0; j < d; ++j) {
          float t = v[j] + s * alpha * sgn(gr[j]);
          t = std::min(std::max(t, x[j] - eps), x[j] + eps);
          v[j] = clip01(t);
        }
      } else {
        double gn = 0.0;
        for (int j = 0; j < d; ++j) gn += static_cast<double>(gr[j]) * gr[j];
        float inv = gn > 0.0 ? static_cast<float>(1.0 / std::sqrt(gn)) : 0.0f;
        double dn = 0.0;
        for (int j = 0; j < d; ++j) {
          v[j] += s * alpha * gr[j] * inv;
          float dl = v[j] - x[j];
          dn += static_cast<double>(dl) * dl;
        }
        float sc = dn > static_cast<double>(eps) * eps ? static_cast<float>(eps / std::sqrt(dn)) : 1.0f;
        for (int j = 0; j < d; ++j) v[j] = clip01(x[j] + (v[j] - x[j]) * sc);
      }
    }
  });
}

void random_start(const PgdOptions& o, float eps, const float* x0, float* xa, const std::vector<size_t>& rows,
                  size_t r0, uint64_t key_b0, int d) {
  pool().parallel_for(rows.size(), 8, [&](size_t b, size_t e) {
    for (size_t i = b; i < e; ++i) {
      const uint64_t a = o.row0 + r0 + rows[i];
      const float* x = x0 + i * d;
      float* v = xa + i * d;
      if (!o.l2) {
        for (int j = 0; j < d; ++j)
          v[j] = clip01(x[j] + eps * (2.0f * rng_uniform(o.seed, kStreamAttack, a, key_b0 + j) - 1.0f));
      } else {
        double nn = 0.0;
        for (int j = 0; j < d; ++j) {
          v[j] = rng_normal(o.seed, kStreamAttack, a, key_b0 + j);
          nn += static_cast<double>(v[j]) * v[j];
        }
        float u = rng_uniform(o.seed, kStreamAttack, a, key_b0 + d);
        float radius = eps * std::pow(u, 1.0f / d);
        float sc = nn > 0 ? static_cast<float>(radius / std::sqrt(nn)) : 0.0f;
        for (int j = 0; j < d; ++j) v[j] = clip01(x[j] + v[j] * sc);
      }
    }
  });
}

}  // namespace

void pgd_attack(const AttackModel& m, const float* X, const int32_t* y, size_t n, const PgdOptions& o, float* Xadv,
                const Tick& tick) {
  const int d = m.inputs(), K = m.outputs();
  require(o.steps >= 1, "ERR_VALUE", "steps must be >= 1");
  require(o.restarts >= 1, "ERR_VALUE", "restarts must be >= 1");
  for (float e : o.eps) require(std::isfinite(e) && e >= 0, "ERR_VALUE", "epsilons must be finite and >= 0");
  const size_t E = o.eps.size(), B = std::max<size_t>(1, o.batch);
  const double total = static_cast<double>(E) * n * o.restarts * o.steps;
  double done = 0;
  const float s = o.targeted ? -1.0f : 1.0f;
  std::vector<float> g0, z, xa, x0, g;
  std::vector<int32_t> pred, ya;
  for (size_t r0 = 0; r0 < n; r0 += B) {
    const size_t b = std::min(B, n - r0);
    const float* Xb = X + r0 * d;
    // The first gradient does not depend on eps: computed once per batch.
    g0.resize(b * d);
    input_gradient(m, o.loss, Xb, y + r0, b, g0.data(), nullptr, nullptr, b);
    for (size_t ei = 0; ei < E; ++ei) {
      const float eps = o.eps[ei];
      const float alpha = o.step >= 0 ? o.step : o.rel_step * eps;
      float* out = Xadv + (ei * n + r0) * d;
      std::vector<uint8_t> frozen(b, 0);
      for (int rho = 0; rho < o.restarts; ++rho) {
        std::vector<size_t> rows;
        for (size_t r = 0; r < b; ++r)
          if (!frozen[r]) rows.push_back(r);
        if (rows.empty()) break;
        size_t A = rows.size();
        x0.resize(A * d);
        xa.resize(A * d);
        ya.resize(A);
        for (size_t i = 0; i < A; ++i) {
          std::memcpy(&x0[i * d], Xb + rows[i] * d, sizeof(float) * d);
          ya[i] = y[r0 + rows[i]];
        }
        const bool rs = o.random_start;
        if (rs)
          random_start(o, eps, x0.data(), xa.data(), rows, r0, (static_cast<uint64_t>(ei) * o.restarts + rho) * (d + 1), d);
        else
          xa = x0;
        for (int it = 0; it < o.steps; ++it) {
          g.resize(A * d);
          z.resize(A * K);
          if (it == 0 && !rs) {
            for (size_t i = 0; i < A; ++i) std::memcpy(&g[i * d], &g0[rows[i] * d], sizeof(float) * d);
          } else {
            input_gradient(m, o.loss, xa.data(), ya.data(), A, g.data(), nullptr, z.data(), A);
            if (o.early_stop && it > 0) {
              // Freeze rows that are already adversarial; compact the rest.
              pred.resize(A);
              m.predict_from_logits(z.data(), A, pred.data());
              size_t w = 0;
              for (size_t i = 0; i < A; ++i) {
                if (is_adv(pred[i], ya[i], o.targeted)) {
                  std::memcpy(out + rows[i] * d, &xa[i * d], sizeof(float) * d);
                  frozen[rows[i]] = 1;
                  continue;
                }
                if (w != i) {
                  rows[w] = rows[i];
                  ya[w] = ya[i];
                  std::memcpy(&x0[w * d], &x0[i * d], sizeof(float) * d);
                  std::memcpy(&xa[w * d], &xa[i * d], sizeof(float) * d);
                  std::memcpy(&g[w * d], &g[i * d], sizeof(float) * d);
                }
                ++w;
              }
              done += static_cast<double>(A - w) * (o.steps - it);
              A = w;
              rows.resize(A);
              if (A == 0) break;
            }
          }
          pgd_step(o, eps, alpha, s, x0.data(), xa.data(), g.data(), A, d);
          done += static_cast<double>(A);
          tick(done, total);
        }
        // Rows still running: keep the last iterate; mark the adversarial ones.
        if (A > 0) {
          pred.resize(A);
          m.predict(xa.data(), A, pred.data());
          for (size_t i = 0; i < A; ++i) {
            std::memcpy(out + rows[i] * d, &xa[i * d], sizeof(float) * d);
            if (o.early_stop && is_adv(pred[i], ya[i], o.targeted)) frozen[rows[i]] = 1;
          }
        }
        if (!o.early_stop) break;  // restarts need a success criterion to choose between runs
      }
    }
  }
  tick(total, total);
}

namespace {

// The first layer of an FGSM sweep in closed form (CPU). For one row with sign gradient s
// and each pixel j, x'_j(eps) = clip01(x_j + eps·s_j) = x_j + s_j·min(eps, room_j),
// room_j = 1 − x_j (s_j > 0), x_j (s_j < 0), 0 (s_j = 0). So the first layer's
// pre-activation is piecewise linear in eps:
//   z1(eps) = W1·x + b1 + eps·(A − P(eps)) + Q(eps),   A = Σ_{room_j > 0} s_j·W1[:, j],
//   P(eps)  = Σ_{0 < room_j <= eps} s_j·W1[:, j],      Q(eps) = Σ_{0 < room_j <= eps} room_j·s_j·W1[:, j]
// (a pixel that reached its bound stops moving). Two GEMMs per batch (W1·x and W1·(s⊙a))
// and a few column updates per saturating pixel replace one W1 GEMM per eps, i.e. 39 % of
// the sweep's multiply-adds for 784-1200-1200-10; deeper layers are evaluated as usual.
// The result equals the network at x' up to float rounding (≈1e-7 relative in z1);
// test/attacks-core.test.ts checks the verdicts against the direct evaluation.
// Eps must be visited in ascending order (pixels saturate once and for all).
class ClosedFormSweep {
 public:
  // The closed form needs a fully connected first layer reading the input as it is.
  static bool applies(const Model& net) { return net.layers[0].kind == LayerKind::Dense && net.input_ops.empty(); }

  explicit ClosedFormSweep(const Model& net, float emax)
      : net_(net), first_(net.layers[0]), d_(net.inputs()), h_(static_cast<int>(first_.out.size())), emax_(emax),
        W1T_(static_cast<size_t>(d_) * h_) {
    transpose(first_.W.data(), h_, d_, h_, W1T_.data());  // column of pixel j contiguous
  }

  // A batch of b rows X with sign gradients S.
  void prepare(const float* X, const float* S, size_t b) {
    b_ = b;
    sa_.resize(b * d_);
    events_.assign(b, {});
    next_.assign(b, 0);
    pool().parallel_for(b, 16, [&](size_t rb, size_t re) {
      for (size_t r = rb; r < re; ++r) {
        auto& ev = events_[r];
        for (int j = 0; j < d_; ++j) {
          const float x = X[r * d_ + j], s = S[r * d_ + j];
          const float room = s > 0.0f ? 1.0f - x : s < 0.0f ? x : 0.0f;
          sa_[r * d_ + j] = room > 0.0f ? s : 0.0f;
          if (room > 0.0f && room <= emax_) ev.push_back({room, j});
        }
        std::sort(ev.begin(), ev.end(), [](const Event& p, const Event& q) { return p.room < q.room || (p.room == q.room && p.j < q.j); });
      }
    });
    base_.resize(b * h_);
    A_.resize(b * h_);
    const float* W1 = first_.W.data();
    if (first_.has_bias())
      for (size_t r = 0; r < b; ++r) std::copy(first_.b.begin(), first_.b.end(), base_.data() + r * h_);
    sgemm(false, true, static_cast<int>(b), h_, d_, 1.0f, X, d_, W1, d_, first_.has_bias() ? 1.0f : 0.0f, base_.data(), h_);
    sgemm(false, true, static_cast<int>(b), h_, d_, 1.0f, sa_.data(), d_, W1, d_, 0.0f, A_.data(), h_);
    P_.assign(b * h_, 0.0f);
    Q_.assign(b * h_, 0.0f);
    H_.resize(b * h_);
  }

  // Logits Z (b × K) of the batch at eps e (>= every eps before it).
  void logits(float e, float* Z) {
    const bool hidden = net_.layers.size() > 1;  // else the first layer gives the logits
    const float mult = epilogue_mult(first_.act, net_.hidden_scale);
    pool().parallel_for(b_, 8, [&](size_t rb, size_t re) {
      for (size_t r = rb; r < re; ++r) {
        float* __restrict p = P_.data() + r * h_;
        float* __restrict q = Q_.data() + r * h_;
        const auto& ev = events_[r];
        size_t& k = next_[r];
        for (; k < ev.size() && ev[k].room <= e; ++k) {
          const float* __restrict col = W1T_.data() + static_cast<size_t>(ev[k].j) * h_;
          const float s = sa_[r * d_ + ev[k].j], sr = s * ev[k].room;
          for (int i = 0; i < h_; ++i) {
            p[i] += s * col[i];
            q[i] += sr * col[i];
          }
        }
        float* out = H_.data() + r * h_;
        first_layer_row(base_.data() + r * h_, A_.data() + r * h_, p, q, e, out, h_);
        if (!epilogue_identity(first_.act, mult))
          epilogue_block(out, 1, h_, static_cast<size_t>(h_), first_.act, mult);  // hidden: relu, scale; else pre
      }
    });
    if (hidden) {
      ForwardOptions o;
      o.logits = true;
      o.first = 1;
      forward(net_, H_.data(), b_, Z, o);
    } else {
      std::copy(H_.begin(), H_.begin() + b_ * h_, Z);
    }
  }

 private:
  struct Event {
    float room;
    int32_t j;
  };
  // z = base + e·(A − P) + Q (z = base at e = 0). By-value scalars, restrict pointers: vectorised.
  static void first_layer_row(const float* __restrict base, const float* __restrict A, const float* __restrict P,
                              const float* __restrict Q, float e, float* __restrict out, int h) {
    if (e == 0.0f)
      for (int i = 0; i < h; ++i) out[i] = base[i];
    else
      for (int i = 0; i < h; ++i) out[i] = base[i] + e * (A[i] - P[i]) + Q[i];
  }

  const Model& net_;
  const Layer& first_;
  const int d_, h_;
  const float emax_;
  std::vector<float> W1T_;
  size_t b_ = 0;
  std::vector<float> sa_, base_, A_, P_, Q_, H_;  // s⊙a (sign where the pixel can move), per-row vectors
  std::vector<std::vector<Event>> events_;         // per row: saturating pixels by room
  std::vector<size_t> next_;                       // per row: first event not yet applied
};

}  // namespace

void fgsm_sweep(const AttackModel& m, AttackLoss loss, const float* X, const int32_t* y, size_t n,
                const std::vector<float>& eps, uint8_t* correct, const Tick& tick, size_t batch, bool closed_form) {
  const int d = m.inputs(), K = m.outputs();
  const size_t E = eps.size();
  if (E == 0) return;
  bool nonneg = true;
  for (float e : eps) nonneg = nonneg && std::isfinite(e) && e >= 0.0f;
  // Eps in ascending order (what the closed form needs; each eps is independent otherwise).
  std::vector<size_t> order(E);
  for (size_t i = 0; i < E; ++i) order[i] = i;
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return eps[a] < eps[b]; });
  std::unique_ptr<ClosedFormSweep> cf;
  if (closed_form && !m.gpu() && nonneg && ClosedFormSweep::applies(m.net()))
    cf = std::make_unique<ClosedFormSweep>(m.net(), eps[order[E - 1]]);
  batch = std::max<size_t>(1, batch);
  std::vector<float> g, xp, z;
  std::vector<int32_t> pred;
  for (size_t r0 = 0; r0 < n; r0 += batch) {
    const size_t b = std::min(batch, n - r0);
    const float* Xb = X + r0 * d;
    g.resize(b * d);
    input_gradient(m, loss, Xb, y + r0, b, g.data(), nullptr, nullptr, b);
    for (size_t i = 0; i < b * d; ++i) g[i] = sgn(g[i]);
    if (cf) cf->prepare(Xb, g.data(), b);
    z.resize(b * K);
    pred.resize(b);
    for (size_t oi = 0; oi < E; ++oi) {
      const size_t ei = order[oi];
      const float e = eps[ei];
      if (cf) {
        cf->logits(e, z.data());
      } else {
        xp.resize(b * d);
        pool().parallel_for(b * d, 4096, [&](size_t s0, size_t s1) {
          for (size_t i = s0; i < s1; ++i) xp[i] = clip01(Xb[i] + e * g[i]);
        });
        m.logits(xp.data(), b, z.data());
      }
      m.predict_from_logits(z.data(), b, pred.data());
      for (size_t r = 0; r < b; ++r) correct[ei * n + r0 + r] = pred[r] == y[r0 + r] ? 1 : 0;
      tick(static_cast<double>(r0) * E + static_cast<double>(b) * (oi + 1), static_cast<double>(n) * E);
    }
  }
}

}  // namespace nrem
