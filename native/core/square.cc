#include "square.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <memory>

#include "forward.h"
#include "layers/dense.h"
#include "layers/epilogue.h"
#include "thread_pool.h"

namespace nrem {
namespace {

float p_schedule(float p_init, int i, int Q, bool rescale) {
  const int it = rescale ? static_cast<int>(static_cast<double>(i) / Q * 10000) : i;
  static const int bounds[] = {10, 50, 200, 500, 1000, 2000, 4000, 6000, 8000};
  float p = p_init;
  for (int b : bounds)
    if (it > b) p /= 2;
  return p;
}

void margins(const AttackModel& m, const float* Z, const int32_t* y, size_t n, float* out) {
  const int K = m.outputs();
  for (size_t r = 0; r < n; ++r) {
    const float* z = Z + r * K;
    const int t = y[r];
    float best = -INFINITY;
    for (int k = 0; k < K; ++k)
      if (k != t) best = std::max(best, z[k]);
    out[r] = z[t] - best;
  }
}

}  // namespace

int square_side(float p_init, int i, int Q, bool rescale, int h, int w, bool l2) {
  const float p = p_schedule(p_init, i, Q, rescale);
  // round(): half to even, as Python's; √ in double as math.sqrt of a Python float.
  int side = static_cast<int>(std::nearbyint(std::sqrt(static_cast<double>(p) * h * w)));
  if (l2) {
    side = std::max(side, 3);
    if (side % 2 == 0) ++side;
  }
  return std::min(std::max(side, 1), std::min(h, w));
}

namespace {

// The L2 proposals of square.py: eta_rectangles(x, y) is x × y of concentric rectangles around
// the centre with weight 1/(k+1)² at ring k, L2-normalised; eta(s) has eta_rectangles(s/2, s)
// on its upper rows and −eta_rectangles(s − s/2, s) below, normalised, transposed on a coin.
std::vector<double> eta_rectangles(int x, int y) {
  std::vector<double> e(static_cast<size_t>(x) * y, 0.0);
  int c0 = x / 2, c1 = y / 2;
  for (int k = 0; k < std::max(x / 2 + 1, y / 2 + 1); ++k, --c0, --c1)
    for (int a = std::max(c0, 0); a < std::min(c0 + 2 * k + 1, x); ++a)
      for (int b = std::max(c1, 0); b < std::min(c1 + 2 * k + 1, y); ++b) e[static_cast<size_t>(a) * y + b] += 1.0 / ((k + 1.0) * (k + 1.0));
  double s = 0.0;
  for (double v : e) s += v * v;
  if (s > 0)
    for (double& v : e) v /= std::sqrt(s);
  return e;
}

class Etas {
 public:
  // eta(s), s × s row-major, transposed when flip.
  const std::vector<float>& get(int s, bool flip) {
    const size_t k = static_cast<size_t>(s) * 2 + (flip ? 1 : 0);
    if (cache_.size() <= k) cache_.resize(k + 1);
    auto& e = cache_[k];
    if (e.empty()) {
      std::vector<double> m(static_cast<size_t>(s) * s, 0.0);
      const auto top = eta_rectangles(s / 2, s), bot = eta_rectangles(s - s / 2, s);
      for (size_t i = 0; i < top.size(); ++i) m[i] = top[i];
      for (size_t i = 0; i < bot.size(); ++i) m[top.size() + i] = -bot[i];
      double n2 = 0.0;
      for (double v : m) n2 += v * v;
      e.resize(m.size());
      for (int a = 0; a < s; ++a)
        for (int b = 0; b < s; ++b) {
          const double v = m[static_cast<size_t>(flip ? b : a) * s + (flip ? a : b)] / std::sqrt(n2);
          e[static_cast<size_t>(a) * s + b] = static_cast<float>(v);
        }
    }
    return e;
  }

 private:
  std::vector<std::vector<float>> cache_;
};

}  // namespace

std::vector<float> square_eta(int s, bool flip) {
  require(s >= 1 && s <= 4096, "ERR_VALUE", "s must be in 1..4096");
  Etas e;
  return e.get(s, flip);
}

namespace {

// v ← clip01(x + δ/(‖δ‖ + 1e-12)·eps): the original's L2 step back onto the sphere.
void l2_apply(const float* x, const float* delta, int d, float eps, float* v) {
  double s = 0.0;
  for (int j = 0; j < d; ++j) s += static_cast<double>(delta[j]) * delta[j];
  const float f = static_cast<float>(eps / (std::sqrt(s) + 1e-12));
  for (int j = 0; j < d; ++j) v[j] = std::min(1.0f, std::max(0.0f, x[j] + delta[j] * f));
}

// One run of Square over the rows of a batch: the start point and each proposal, L∞ or L2;
// acceptance (square_attack) is shared. Random keys as in square.h.
class Proposals {
 public:
  Proposals(const SquareOptions& o, int H, int W, int C, int d) : o_(o), H_(H), W_(W), C_(C), d_(d), delta_(d) {}

  // x_best at the start (query 1).
  void start(const float* x, float eps, uint64_t a, float* v) {
    const uint64_t base = kOff + (1ull << 39);
    if (!o_.l2) {
      for (int col = 0; col < W_; ++col)
        for (int ch = 0; ch < C_; ++ch) {
          const float s = rng_uniform(o_.seed, kStreamAttack, a, base + static_cast<uint64_t>(col) * C_ + ch) < 0.5f ? -eps : eps;
          for (int row = 0; row < H_; ++row) {
            const size_t j = idx(row, col, ch);
            v[j] = std::min(1.0f, std::max(0.0f, x[j] + s));
          }
        }
      return;
    }
    // 5 × 5 blocks of side h/5 from the centre offset, each ±eta per channel.
    std::fill(delta_.begin(), delta_.end(), 0.0f);
    const int s = std::max(H_ / 5, 1), sp = std::max((H_ - s * 5) / 2, 0);
    uint64_t slot = base;
    for (int bi = 0, vh = sp; bi < H_ / s; ++bi, vh += s)
      for (int bj = 0, vw = sp; bj < W_ / s; ++bj, vw += s) {
        const auto& e = etas_.get(s, rng_uniform(o_.seed, kStreamAttack, a, slot++) > 0.5f);
        for (int ch = 0; ch < C_; ++ch) {
          const float sg = rng_uniform(o_.seed, kStreamAttack, a, slot++) < 0.5f ? -1.0f : 1.0f;
          for (int u = 0; u < s && vh + u < H_; ++u)
            for (int w = 0; w < s && vw + w < W_; ++w) delta_[idx(vh + u, vw + w, ch)] += e[static_cast<size_t>(u) * s + w] * sg;
        }
      }
    l2_apply(x, delta_.data(), d_, eps, v);
  }

  // The proposal of iteration i (window side `side`) from x_best into v.
  void propose(const float* x, const float* best, float eps, uint64_t a, uint64_t ei, int i, int side, float* v) {
    const int Q = o_.max_queries;
    if (!o_.l2) {
      const uint64_t base = kOff + (ei * Q + i) * (C_ + 2);
      std::memcpy(v, best, sizeof(float) * d_);
      const int vh = static_cast<int>(rng_uniform(o_.seed, kStreamAttack, a, base) * (H_ - side));
      const int vw = static_cast<int>(rng_uniform(o_.seed, kStreamAttack, a, base + 1) * (W_ - side));
      for (int ch = 0; ch < C_; ++ch) {
        const float s = rng_uniform(o_.seed, kStreamAttack, a, base + 2 + ch) < 0.5f ? -eps : eps;
        for (int u = vh; u < vh + side; ++u)
          for (int w = vw; w < vw + side; ++w) v[idx(u, w, ch)] = std::min(1.0f, std::max(0.0f, x[idx(u, w, ch)] + s));
      }
      return;
    }
    const uint64_t base = kOff + (ei * Q + i) * (C_ + 5);
    auto pos = [&](int k, int len) { return static_cast<int>(rng_uniform(o_.seed, kStreamAttack, a, base + k) * (len - side)); };
    const int vh = pos(0, H_), vw = pos(1, W_), vh2 = pos(2, H_), vw2 = pos(3, W_);
    const auto& e = etas_.get(side, rng_uniform(o_.seed, kStreamAttack, a, base + 4) > 0.5f);
    double img = 0.0;
    for (int j = 0; j < d_; ++j) {
      delta_[j] = best[j] - x[j];
      img += static_cast<double>(delta_[j]) * delta_[j];
    }
    auto in1 = [&](int u, int w) { return u >= vh && u < vh + side && w >= vw && w < vw + side; };
    auto in2 = [&](int u, int w) { return u >= vh2 && u < vh2 + side && w >= vw2 && w < vw2 + side; };
    std::vector<float> fresh(static_cast<size_t>(side) * side);
    for (int ch = 0; ch < C_; ++ch) {
      double w1 = 0.0, both = 0.0;
      for (int u = 0; u < H_; ++u)
        for (int w = 0; w < W_; ++w) {
          const double t = static_cast<double>(delta_[idx(u, w, ch)]) * delta_[idx(u, w, ch)];
          if (in1(u, w)) w1 += t;
          if (in1(u, w) || in2(u, w)) both += t;
        }
      const float sg = rng_uniform(o_.seed, kStreamAttack, a, base + 5 + ch) < 0.5f ? -1.0f : 1.0f;
      const double inv1 = 1.0 / (1e-12 + std::sqrt(w1));
      double nn = 0.0;
      for (int u = 0; u < side; ++u)
        for (int w = 0; w < side; ++w) {
          const size_t k = static_cast<size_t>(u) * side + w;
          fresh[k] = static_cast<float>(e[k] * sg + delta_[idx(vh + u, vw + w, ch)] * inv1);
          nn += static_cast<double>(fresh[k]) * fresh[k];
        }
      const double scale = std::sqrt(std::max(static_cast<double>(eps) * eps - img, 0.0) / C_ + both) / (1e-12 + std::sqrt(nn));
      for (int u = vh2; u < vh2 + side; ++u)
        for (int w = vw2; w < vw2 + side; ++w) delta_[idx(u, w, ch)] = 0.0f;
      for (int u = 0; u < side; ++u)
        for (int w = 0; w < side; ++w) delta_[idx(vh + u, vw + w, ch)] = static_cast<float>(fresh[static_cast<size_t>(u) * side + w] * scale);
    }
    l2_apply(x, delta_.data(), d_, eps, v);
  }

 private:
  static constexpr uint64_t kOff = 1ull << 40;
  // C × H × W, as the model's input (and the original's NCHW tensors): channel planes.
  size_t idx(int u, int w, int ch) const { return (static_cast<size_t>(ch) * H_ + u) * W_ + w; }
  const SquareOptions& o_;
  const int H_, W_, C_, d_;
  std::vector<float> delta_;
  Etas etas_;
};

}  // namespace

namespace {

// L∞ Square changes x_best in one window per query (side² pixels per channel; 1–4 for most
// of a 5,000-query run), so when the first layer is dense its pre-activation at a proposal is
// that at x_best plus the changed pixels' weight columns times their change: side²·width
// multiply-adds instead of d·width (the paper's MLP: ~40 % of a query's work). The remaining
// layers run as in the forward pass (forward.h, from layer 1). Sums in another order round
// differently, so: a proposal that looks adversarial is re-evaluated by the whole forward
// pass and judged by it; x_best's pre-activation is recomputed whole every kRefresh
// iterations (rounding does not pile up); a proposal changing over 1/8 of the pixels is
// computed whole.
class FirstLayer {
 public:
  static constexpr int kRefresh = 100;
  static bool usable(const AttackModel& m, const SquareOptions& o) {
    const Model& net = m.net();
    return o.incremental && !o.l2 && !m.gpu() && net.input_ops.empty() && net.layers.size() >= 2 &&
           net.layers[0].kind == LayerKind::Dense;
  }
  explicit FirstLayer(const AttackModel& m)
      : net_(m.net()), l0_(net_.layers[0]), d_(m.inputs()), H_(l0_.out.size()), WT_(static_cast<size_t>(d_) * H_) {
    for (size_t h = 0; h < H_; ++h)
      for (int j = 0; j < d_; ++j) WT_[static_cast<size_t>(j) * H_ + h] = l0_.W[h * d_ + j];
  }
  size_t width() const { return H_; }
  // Z0 (n × width): the pre-activations of rows X (n × d), computed whole.
  void whole(const float* X, size_t n, float* Z0) const { dense_forward(l0_, X, n, Z0); }
  // z0 (width) of v from that of `best` when few pixels differ; false (z0 untouched) when many do.
  bool update(const float* best, const float* v, const float* z0_best, float* z0) const {
    thread_local std::vector<int> changed_;
    changed_.clear();
    for (int j = 0; j < d_; ++j)
      if (v[j] != best[j]) changed_.push_back(j);
    if (changed_.size() * 8 > static_cast<size_t>(d_)) return false;
    std::memcpy(z0, z0_best, sizeof(float) * H_);
    for (int j : changed_) {
      const float dv = v[j] - best[j];
      const float* __restrict w = &WT_[static_cast<size_t>(j) * H_];
      float* __restrict o = z0;
      for (size_t h = 0; h < H_; ++h) o[h] += w[h] * dv;
    }
    return true;
  }
  // Z (n × K): logits from the first layer's pre-activations Z0 (n × width).
  void logits(const float* Z0, size_t n, float* Z) const {
    a_.assign(Z0, Z0 + n * H_);
    epilogue_block(a_.data(), static_cast<int>(n), static_cast<int>(H_), H_, l0_.act, epilogue_mult(l0_.act, net_.hidden_scale));
    ForwardOptions fo;
    fo.logits = true;
    fo.first = 1;
    forward(net_, a_.data(), n, Z, fo);
  }

 private:
  const Model& net_;
  const Layer& l0_;
  const int d_;
  const size_t H_;
  std::vector<float> WT_;  // d × width: column j of W₀ contiguous
  mutable std::vector<float> a_;
};

}  // namespace

namespace {

// count rows gathered (src(u): d values each) into xs, f(xs, count, zs) run on them, its
// rows (w values each) scattered to dst(u).
template <class Src, class Dst, class F>
void on_rows(size_t count, int d, size_t w, Src src, Dst dst, F f, std::vector<float>& xs, std::vector<float>& zs) {
  if (count == 0) return;
  xs.resize(count * d);
  zs.resize(count * w);
  for (size_t u = 0; u < count; ++u) std::memcpy(&xs[u * d], src(u), sizeof(float) * d);
  f(xs.data(), count, zs.data());
  for (size_t u = 0; u < count; ++u) std::memcpy(dst(u), &zs[u * w], sizeof(float) * w);
}

}  // namespace

void square_attack(const AttackModel& m, const float* X, const int32_t* y, size_t n, const SquareOptions& o,
                   float* Xadv, int32_t* queries, const Tick& tick) {
  const int d = m.inputs(), K = m.outputs();
  int H = o.h, W = o.w, C = o.c;
  if (H <= 0 || W <= 0) H = 1, W = d, C = 1;
  require(static_cast<long>(H) * W * C == d, "ERR_SHAPE", "image shape h·w·c does not match the input size");
  require(o.max_queries >= 1, "ERR_VALUE", "maxQueries must be >= 1");
  require(o.p_init > 0 && o.p_init <= 1, "ERR_VALUE", "pInit must be in (0, 1]");
  require(o.keys.empty() || o.keys.size() == n, "ERR_SHAPE", "keys must hold one entry per row");
  require(o.row_eps.empty() || (o.row_eps.size() == n && o.eps.size() <= 1), "ERR_SHAPE",
          "per-row eps must hold one entry per row (and replace the eps list)");
  for (float e : o.row_eps) require(std::isfinite(e) && e >= 0, "ERR_VALUE", "epsilons must be finite and >= 0");
  for (float e : o.eps) require(std::isfinite(e) && e >= 0, "ERR_VALUE", "epsilons must be finite and >= 0");
  const size_t E = o.row_eps.empty() ? o.eps.size() : 1, B = std::max<size_t>(1, o.batch);
  const int Q = o.max_queries;
  auto key = [&](size_t row) { return o.keys.empty() ? o.row0 + row : o.keys[row]; };
  const double total = static_cast<double>(E) * n * (Q + 1);
  double done = 0;
  std::vector<float> xn, z, mg, mn;
  std::vector<int32_t> pred, ya;
  std::vector<int64_t> slot;  // per live row: its proposal's index among those evaluated, −1 none
  // One proposal generator per thread slot would allow parallel proposals; rows are cheap
  // next to the forward pass, so one serves all.
  Proposals prop(o, H, W, C, d);
  std::vector<size_t> rf;               // per proposal evaluated: its batch row
  std::vector<uint8_t> same, inc;       // per live row: proposal = x_best; per proposal: pre-activation updated
  std::vector<size_t> pick;             // proposals computed whole or judged by the whole pass
  std::vector<float> z0b, z0p, xw, zw;  // first-layer pre-activations: x_best's (per batch row), the proposals'
  std::unique_ptr<FirstLayer> first;
  if (FirstLayer::usable(m, o)) first = std::make_unique<FirstLayer>(m);
  for (size_t ei = 0; ei < E; ++ei) {
    auto eps_at = [&](size_t row) { return o.row_eps.empty() ? o.eps[ei] : o.row_eps[row]; };
    for (size_t r0 = 0; r0 < n; r0 += B) {
      const size_t b = std::min(B, n - r0);
      const float* X0 = X + r0 * d;
      float* out = Xadv + (ei * n + r0) * d;
      for (size_t r = 0; r < b; ++r) prop.start(X0 + r * d, eps_at(r0 + r), key(r0 + r), out + r * d);
      z.resize(b * K);
      mg.resize(b);
      pred.resize(b);
      m.logits(out, b, z.data());
      if (first) {
        z0b.resize(b * first->width());
        first->whole(out, b, z0b.data());
      }
      margins(m, z.data(), y + r0, b, mg.data());
      m.predict_from_logits(z.data(), b, pred.data());
      std::vector<size_t> rows;
      for (size_t r = 0; r < b; ++r) {
        if (queries) queries[ei * n + r0 + r] = 1;
        if (pred[r] == y[r0 + r]) rows.push_back(r);
      }
      done += static_cast<double>(b - rows.size()) * (Q + 1) + rows.size();
      for (int i = 0; i < Q && !rows.empty(); ++i) {
        const size_t A = rows.size();
        const int side = square_side(o.p_init, i, Q, o.rescale_schedule, H, W, o.l2);
        xn.resize(A * d);
        ya.resize(A);
        slot.resize(A);
        // A proposal equal to x_best bit for bit (the window's new values are the ones it
        // has: clipped at 0 or 1, or the sign it already took) has x_best's margin mg and
        // class (not adversarial: the row would have stopped), so it is neither accepted
        // nor a success; it needs no forward pass (a row's logits do not depend on the
        // other rows of the batch). Only the F proposals that differ are evaluated.
        // L∞ proposals share no scratch: the rows' are drawn in parallel (L2's one after another).
        same.resize(A);
        auto draw = [&](size_t kb, size_t ke) {
          for (size_t k = kb; k < ke; ++k) {
            const size_t r = rows[k];
            prop.propose(X0 + r * d, out + r * d, eps_at(r0 + r), key(r0 + r), ei, i, side, &xn[k * d]);
            same[k] = std::memcmp(&xn[k * d], out + r * d, sizeof(float) * d) == 0;
          }
        };
        if (o.l2) draw(0, A);
        else pool().parallel_for(A, 4, draw);
        size_t F = 0;
        rf.resize(A);
        for (size_t k = 0; k < A; ++k) {
          slot[k] = same[k] ? -1 : static_cast<int64_t>(F);
          if (same[k]) continue;
          if (F != k) std::memcpy(&xn[F * d], &xn[k * d], sizeof(float) * d);
          rf[F] = rows[k], ya[F++] = y[r0 + rows[k]];
        }
        z.resize(F * K);
        mn.resize(F);
        pred.resize(F);
        if (F > 0 && first) {
          const size_t Hw = first->width();
          z0p.resize(F * Hw);
          inc.resize(F);
          pool().parallel_for(F, 4, [&](size_t fb, size_t fe) {
            for (size_t f = fb; f < fe; ++f) inc[f] = first->update(out + rf[f] * d, &xn[f * d], &z0b[rf[f] * Hw], &z0p[f * Hw]);
          });
          pick.clear();  // proposals whose pre-activation is computed whole
          for (size_t f = 0; f < F; ++f)
            if (!inc[f]) pick.push_back(f);
          auto proposal = [&](size_t u) { return &xn[pick[u] * d]; };
          on_rows(pick.size(), d, Hw, proposal, [&](size_t u) { return &z0p[pick[u] * Hw]; },
                  [&](const float* X, size_t c, float* Z0) { first->whole(X, c, Z0); }, xw, zw);
          first->logits(z0p.data(), F, z.data());
          m.predict_from_logits(z.data(), F, pred.data());
          pick.clear();  // what looks adversarial is judged by the whole forward pass
          for (size_t f = 0; f < F; ++f)
            if (pred[f] != ya[f]) pick.push_back(f);
          on_rows(pick.size(), d, K, proposal, [&](size_t u) { return &z[pick[u] * K]; },
                  [&](const float* X, size_t c, float* Z) { m.logits(X, c, Z); }, xw, zw);
          margins(m, z.data(), ya.data(), F, mn.data());
          m.predict_from_logits(z.data(), F, pred.data());
        } else if (F > 0) {
          m.logits(xn.data(), F, z.data());
          margins(m, z.data(), ya.data(), F, mn.data());
          m.predict_from_logits(z.data(), F, pred.data());
        }
        size_t w = 0;
        for (size_t k = 0; k < A; ++k) {
          const size_t r = rows[k];
          if (queries) queries[ei * n + r0 + r] = i + 2;
          if (slot[k] < 0) {
            rows[w++] = r;
            continue;
          }
          const size_t f = static_cast<size_t>(slot[k]);
          const bool adv = pred[f] != ya[f];
          if (mn[f] < mg[r] || adv) {
            mg[r] = mn[f];
            std::memcpy(out + r * d, &xn[f * d], sizeof(float) * d);
            if (first) std::memcpy(&z0b[r * first->width()], &z0p[f * first->width()], sizeof(float) * first->width());
          }
          if (!adv) rows[w++] = r;
        }
        done += static_cast<double>(A - w) * (Q - i) + w;
        rows.resize(w);
        if (first && (i + 1) % FirstLayer::kRefresh == 0) {  // x_best's pre-activations whole again
          const size_t Hw = first->width();
          on_rows(w, d, Hw, [&](size_t u) { return out + rows[u] * d; }, [&](size_t u) { return &z0b[rows[u] * Hw]; },
                  [&](const float* X, size_t c, float* Z0) { first->whole(X, c, Z0); }, xw, zw);
        }
        tick(done, total);
      }
    }
  }
  tick(total, total);
}

}  // namespace nrem
