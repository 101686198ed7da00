#include "square.h"

#include <algorithm>
#include <cmath>
#include <cstring>

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
        size_t F = 0;
        for (size_t k = 0; k < A; ++k) {
          const size_t r = rows[k];
          prop.propose(X0 + r * d, out + r * d, eps_at(r0 + r), key(r0 + r), ei, i, side, &xn[F * d]);
          const bool same = std::memcmp(&xn[F * d], out + r * d, sizeof(float) * d) == 0;
          slot[k] = same ? -1 : static_cast<int64_t>(F);
          if (!same) ya[F++] = y[r0 + r];
        }
        z.resize(F * K);
        mn.resize(F);
        pred.resize(F);
        if (F > 0) {
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
          }
          if (!adv) rows[w++] = r;
        }
        done += static_cast<double>(A - w) * (Q - i) + w;
        rows.resize(w);
        tick(done, total);
      }
    }
  }
  tick(total, total);
}

}  // namespace nrem
