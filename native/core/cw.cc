#include "cw.h"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "thread_pool.h"

namespace nrem {

void cw_attack(const AttackModel& m, const float* X, const int32_t* y, size_t n, const CwOptions& o, float* Xadv,
               const Tick& tick) {
  const int d = m.inputs(), K = m.outputs();
  require(o.search_steps >= 1 && o.max_iter >= 1, "ERR_VALUE", "searchSteps and maxIterations must be >= 1");
  require(o.lr > 0 && o.c0 > 0, "ERR_VALUE", "lr and initialConst must be > 0");
  const size_t B = std::max<size_t>(1, o.batch);
  std::memcpy(Xadv, X, sizeof(float) * n * d);
  const double total = static_cast<double>(n) * o.search_steps * o.max_iter;
  std::vector<float> w0, w, mo, ve, x, g, z;
  std::vector<int32_t> pred;
  for (size_t r0 = 0; r0 < n; r0 += B) {
    const size_t b = std::min(B, n - r0);
    const float* X0 = X + r0 * d;
    const int32_t* yb = y + r0;
    w0.resize(b * d);
    for (size_t i = 0; i < b * d; ++i) w0[i] = std::atanh((2.0f * X0[i] - 1.0f) * 0.999999f);
    std::vector<double> c(b, o.c0), lo(b, 0.0), hi(b, 1e10), best(b, INFINITY);
    for (int s = 0; s < o.search_steps; ++s) {
      w = w0;
      mo.assign(b * d, 0.0f);
      ve.assign(b * d, 0.0f);
      std::vector<uint8_t> found(b, 0);
      x.resize(b * d);
      g.resize(b * d);
      z.resize(b * K);
      pred.resize(b);
      double b1t = 1.0, b2t = 1.0, prev = INFINITY;
      std::vector<double> obj(b, 0.0);
      const int check_every = std::max(1, o.max_iter / 10);
      for (int it = 0; it < o.max_iter; ++it) {
        for (size_t i = 0; i < b * d; ++i) x[i] = (std::tanh(w[i]) + 1.0f) * 0.5f;
        // ∂/∂z of c·max(z_y − z_j*, −κ): c·(e_y − e_j*) while the margin is above −κ.
        m.input_grad(
            x.data(), b,
            [&](const float* Z, const float*, size_t rows, float* G) {
              for (size_t r = 0; r < rows; ++r) {
                const float* zr = Z + r * K;
                float* gr = G + r * K;
                const int t = yb[r];
                int j = t == 0 ? 1 : 0;
                for (int k = 0; k < K; ++k)
                  if (k != t && zr[k] > zr[j]) j = k;
                std::fill(gr, gr + K, 0.0f);
                obj[r] = c[r] * std::max(static_cast<double>(zr[t] - zr[j]), static_cast<double>(-o.kappa));
                if (zr[t] - zr[j] > -o.kappa) {
                  gr[t] = static_cast<float>(c[r]);
                  gr[j] = -static_cast<float>(c[r]);
                }
              }
            },
            g.data(), z.data());
        m.predict_from_logits(z.data(), b, pred.data());
        b1t *= 0.9;
        b2t *= 0.999;
        pool().parallel_for(b, 4, [&](size_t s0, size_t s1) {
          for (size_t r = s0; r < s1; ++r) {
            const float* xr = x.data() + r * d;
            const float* x0 = X0 + r * d;
            double l2 = 0;
            for (int j = 0; j < d; ++j) l2 += static_cast<double>(xr[j] - x0[j]) * (xr[j] - x0[j]);
            obj[r] += l2;
            if (pred[r] != yb[r]) {
              found[r] = 1;
              if (l2 < best[r]) {
                best[r] = l2;
                std::memcpy(Xadv + (r0 + r) * d, xr, sizeof(float) * d);
              }
            }
            for (int j = 0; j < d; ++j) {
              const size_t i = r * d + j;
              const float th = 2.0f * xr[j] - 1.0f;  // tanh(w)
              const float gx = 2.0f * (xr[j] - x0[j]) + g[i];
              const float gw = gx * 0.5f * (1.0f - th * th);
              mo[i] = 0.9f * mo[i] + 0.1f * gw;
              ve[i] = 0.999f * ve[i] + 0.001f * gw * gw;
              const float mh = mo[i] / static_cast<float>(1.0 - b1t), vh = ve[i] / static_cast<float>(1.0 - b2t);
              w[i] -= o.lr * mh / (std::sqrt(vh) + 1e-8f);
            }
          }
        });
        tick((static_cast<double>(r0) * o.search_steps + static_cast<double>(b) * s) * o.max_iter +
                 static_cast<double>(b) * (it + 1),
             total);
        // Abort early (as Carlini & Wagner's code): the batch objective stopped improving.
        if ((it + 1) % check_every == 0) {
          double sum = 0;
          for (double v : obj) sum += v;
          if (sum > prev * 0.9999) break;
          prev = sum;
        }
      }
      for (size_t r = 0; r < b; ++r) {
        if (found[r]) {
          hi[r] = std::min(hi[r], c[r]);
          c[r] = (lo[r] + hi[r]) / 2;
        } else {
          lo[r] = std::max(lo[r], c[r]);
          c[r] = hi[r] < 1e9 ? (lo[r] + hi[r]) / 2 : c[r] * 10;
        }
      }
    }
  }
  tick(total, total);
}

}  // namespace nrem
