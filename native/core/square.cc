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

int square_side(float p_init, int i, int Q, bool rescale, int h, int w) {
  const float p = p_schedule(p_init, i, Q, rescale);
  // round(): half to even, as Python's; √ in double as math.sqrt of a Python float.
  const int side = static_cast<int>(std::nearbyint(std::sqrt(static_cast<double>(p) * h * w)));
  return std::min(std::max(side, 1), std::min(h, w));
}

void square_attack(const AttackModel& m, const float* X, const int32_t* y, size_t n, const SquareOptions& o,
                   float* Xadv, int32_t* queries, const Tick& tick) {
  const int d = m.inputs(), K = m.outputs();
  int H = o.h, W = o.w, C = o.c;
  if (H <= 0 || W <= 0) H = 1, W = d, C = 1;
  require(static_cast<long>(H) * W * C == d, "ERR_SHAPE", "image shape h·w·c does not match the input size");
  require(o.max_queries >= 1, "ERR_VALUE", "maxQueries must be >= 1");
  require(o.p_init > 0 && o.p_init <= 1, "ERR_VALUE", "pInit must be in (0, 1]");
  require(o.row_eps.empty() || (o.row_eps.size() == n && o.eps.size() <= 1), "ERR_SHAPE",
          "per-row eps must hold one entry per row (and replace the eps list)");
  for (float e : o.row_eps) require(std::isfinite(e) && e >= 0, "ERR_VALUE", "epsilons must be finite and >= 0");
  const size_t E = o.row_eps.empty() ? o.eps.size() : 1, B = std::max<size_t>(1, o.batch);
  const int Q = o.max_queries;
  require(o.keys.empty() || o.keys.size() == n, "ERR_SHAPE", "keys must hold one entry per row");
  const uint64_t off = 1ull << 40;
  auto key = [&](size_t row) { return o.keys.empty() ? o.row0 + row : o.keys[row]; };
  const double total = static_cast<double>(E) * n * (Q + 1);
  double done = 0;
  std::vector<float> xn, z, mg, mn;
  std::vector<int32_t> pred, ya;
  for (size_t ei = 0; ei < E; ++ei) {
    const float eps0 = o.row_eps.empty() ? o.eps[ei] : 0.0f;
    require(std::isfinite(eps0) && eps0 >= 0, "ERR_VALUE", "epsilons must be finite and >= 0");
    auto eps_at = [&](size_t row) { return o.row_eps.empty() ? eps0 : o.row_eps[row]; };
    for (size_t r0 = 0; r0 < n; r0 += B) {
      const size_t b = std::min(B, n - r0);
      const float* X0 = X + r0 * d;
      float* out = Xadv + (ei * n + r0) * d;
      // Stripes init.
      for (size_t r = 0; r < b; ++r)
        for (int col = 0; col < W; ++col)
          for (int ch = 0; ch < C; ++ch) {
            const float eps = eps_at(r0 + r);
            const float s = rng_uniform(o.seed, kStreamAttack, key(r0 + r), off + static_cast<uint64_t>(col) * C + ch) < 0.5f ? -eps : eps;
            for (int row = 0; row < H; ++row) {
              const size_t j = (static_cast<size_t>(row) * W + col) * C + ch;
              out[r * d + j] = std::min(1.0f, std::max(0.0f, X0[r * d + j] + s));
            }
          }
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
        const int side = square_side(o.p_init, i, Q, o.rescale_schedule, H, W);
        xn.resize(A * d);
        ya.resize(A);
        for (size_t k = 0; k < A; ++k) {
          const size_t r = rows[k];
          const uint64_t a = key(r0 + r), base = off + (static_cast<uint64_t>(ei) * Q + i) * (C + 2);
          ya[k] = y[r0 + r];
          std::memcpy(&xn[k * d], out + r * d, sizeof(float) * d);
          const int vh = static_cast<int>(rng_uniform(o.seed, kStreamAttack, a, base) * (H - side));
          const int vw = static_cast<int>(rng_uniform(o.seed, kStreamAttack, a, base + 1) * (W - side));
          const float eps = eps_at(r0 + r);
          for (int ch = 0; ch < C; ++ch) {
            const float s = rng_uniform(o.seed, kStreamAttack, a, base + 2 + ch) < 0.5f ? -eps : eps;
            for (int u = vh; u < vh + side; ++u)
              for (int v = vw; v < vw + side; ++v) {
                const size_t j = (static_cast<size_t>(u) * W + v) * C + ch;
                xn[k * d + j] = std::min(1.0f, std::max(0.0f, X0[r * d + j] + s));
              }
          }
        }
        z.resize(A * K);
        mn.resize(A);
        pred.resize(A);
        m.logits(xn.data(), A, z.data());
        margins(m, z.data(), ya.data(), A, mn.data());
        m.predict_from_logits(z.data(), A, pred.data());
        size_t w = 0;
        for (size_t k = 0; k < A; ++k) {
          const size_t r = rows[k];
          if (queries) queries[ei * n + r0 + r] = i + 2;
          const bool adv = pred[k] != ya[k];
          if (mn[k] < mg[r] || adv) {
            mg[r] = mn[k];
            std::memcpy(out + r * d, &xn[k * d], sizeof(float) * d);
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
