#include "deepfool.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <numeric>

#include "thread_pool.h"

namespace nrem {

void deepfool_attack(const AttackModel& m, const float* X, const int32_t* y, size_t n, const DeepFoolOptions& o,
                     float* Xadv, int32_t* iters, const Tick& tick) {
  const int d = m.inputs(), K = m.outputs();
  require(o.max_iter >= 1, "ERR_VALUE", "maxIterations must be >= 1");
  require(std::isfinite(o.overshoot) && o.overshoot >= 0, "ERR_VALUE", "overshoot must be >= 0");
  const size_t B = std::max<size_t>(1, o.batch);
  std::vector<int> all(K);
  std::iota(all.begin(), all.end(), 0);
  std::vector<float> xa, rtot, J, z;
  std::vector<int32_t> pred;
  std::vector<size_t> rows;
  double done = 0;
  for (size_t r0 = 0; r0 < n; r0 += B) {
    const size_t b = std::min(B, n - r0);
    const float* Xb = X + r0 * d;
    std::memcpy(Xadv + r0 * d, Xb, sizeof(float) * b * d);
    rows.resize(b);
    std::iota(rows.begin(), rows.end(), 0);
    xa.assign(Xb, Xb + b * d);
    rtot.assign(b * d, 0.0f);
    // Candidate classes per row, fixed at x0 (all classes unless o.candidates > 0).
    std::vector<std::vector<int>> cand(b);
    {
      z.resize(b * K);
      m.logits(Xb, b, z.data());
      for (size_t r = 0; r < b; ++r) {
        std::vector<int> idx(all);
        if (o.candidates > 0 && o.candidates < K) {
          std::stable_sort(idx.begin(), idx.end(), [&](int a, int c) { return z[r * K + a] > z[r * K + c]; });
          idx.resize(o.candidates);
          if (std::find(idx.begin(), idx.end(), y[r0 + r]) == idx.end()) idx.push_back(y[r0 + r]);
        }
        cand[r] = idx;
      }
    }
    for (int it = 0; it <= o.max_iter && !rows.empty(); ++it) {
      const size_t A = rows.size();
      J.resize(A * K * static_cast<size_t>(d));
      z.resize(A * K);
      m.class_grads(xa.data(), A, all, J.data(), z.data());
      pred.resize(A);
      m.predict_from_logits(z.data(), A, pred.data());
      std::vector<uint8_t> keep(A, 0);
      for (size_t i = 0; i < A; ++i) {
        const size_t r = rows[i];
        if (iters) iters[r0 + r] = it;
        keep[i] = pred[i] == y[r0 + r] && it < o.max_iter;
      }
      pool().parallel_for(A, 1, [&](size_t s0, size_t s1) {
        for (size_t i = s0; i < s1; ++i) {
          if (!keep[i]) continue;
          const size_t r = rows[i];
          const int t = y[r0 + r];
          const float* Ji = J.data() + i * K * static_cast<size_t>(d);
          const float* gt = Ji + static_cast<size_t>(t) * d;
          const float* zi = z.data() + i * K;
          int best = -1;
          double best_l = INFINITY, best_f = 0, best_w2 = 0;
          for (int k : cand[r]) {
            if (k == t) continue;
            const float* gk = Ji + static_cast<size_t>(k) * d;
            double w2 = 0;
            for (int j = 0; j < d; ++j) {
              double w = static_cast<double>(gk[j]) - gt[j];
              w2 += w * w;
            }
            double f = static_cast<double>(zi[k]) - zi[t];
            if (w2 <= 0) continue;
            double l = std::fabs(f) / std::sqrt(w2);
            if (l < best_l) best_l = l, best = k, best_f = f, best_w2 = w2;
          }
          if (best < 0) { keep[i] = 0; continue; }  // no usable direction: give up on this row
          const float* gk = Ji + static_cast<size_t>(best) * d;
          const double c = (std::fabs(best_f) + 1e-4) / best_w2;
          float* rt = rtot.data() + r * d;
          float* v = xa.data() + i * d;
          const float* x0 = Xb + r * d;
          for (int j = 0; j < d; ++j) {
            rt[j] += static_cast<float>(c * (static_cast<double>(gk[j]) - gt[j]));
            float t2 = x0[j] + (1.0f + o.overshoot) * rt[j];
            v[j] = t2 < 0.0f ? 0.0f : (t2 > 1.0f ? 1.0f : t2);
          }
        }
      });
      // Write back finished rows, compact the rest.
      size_t w = 0;
      for (size_t i = 0; i < A; ++i) {
        std::memcpy(Xadv + (r0 + rows[i]) * d, xa.data() + i * d, sizeof(float) * d);
        if (!keep[i]) continue;
        if (w != i) {
          rows[w] = rows[i];
          std::memmove(xa.data() + w * d, xa.data() + i * d, sizeof(float) * d);
        }
        ++w;
      }
      rows.resize(w);
      xa.resize(w * d);
      done += static_cast<double>(A - w);
      tick(done, static_cast<double>(n));
    }
    done = static_cast<double>(r0 + b);
  }
  tick(static_cast<double>(n), static_cast<double>(n));
}

}  // namespace nrem
