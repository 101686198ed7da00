#include "jsma.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <numeric>

#include "jsma_pairs.h"
#include "thread_pool.h"

namespace nrem {

void jsma_attack(const AttackModel& m, const float* X, int32_t* target, size_t n, const JsmaOptions& o, float* Xadv,
                 const Tick& tick) {
  const int d = m.inputs(), K = m.outputs();
  require(o.theta > 0 && std::isfinite(o.theta), "ERR_VALUE", "theta must be > 0");
  require(o.max_changes >= 1 && o.max_iter >= 1, "ERR_VALUE", "maxChanges and maxIterations must be >= 1");
  const size_t B = std::max<size_t>(1, o.batch);
  std::memcpy(Xadv, X, sizeof(float) * n * d);
  {  // default targets: second most likely class
    std::vector<float> z(n * K);
    m.logits(X, n, z.data());
    for (size_t r = 0; r < n; ++r) {
      require(target[r] < K, "ERR_VALUE", "target " + std::to_string(target[r]) + " is outside 0.." + std::to_string(K - 1));
      if (target[r] >= 0) continue;
      const float* zr = z.data() + r * K;
      int a = 0;
      for (int k = 1; k < K; ++k)
        if (zr[k] > zr[a]) a = k;
      int s = a == 0 ? 1 : 0;
      for (int k = 0; k < K; ++k)
        if (k != a && zr[k] > zr[s]) s = k;
      target[r] = s;
    }
  }
  std::vector<float> C1, C2, alpha, beta, z;
  std::vector<int32_t> pred;
  double done = 0;
  for (size_t r0 = 0; r0 < n; r0 += B) {
    const size_t b = std::min(B, n - r0);
    std::vector<size_t> rows(b);
    std::iota(rows.begin(), rows.end(), 0);
    std::vector<uint8_t> changes(b * d, 0);
    for (int it = 0; it <= o.max_iter && !rows.empty(); ++it) {
      const size_t A = rows.size();
      std::vector<float> xa(A * d);
      C1.assign(A * K, 0.0f);
      C2.assign(A * K, 1.0f);
      for (size_t i = 0; i < A; ++i) {
        std::memcpy(&xa[i * d], Xadv + (r0 + rows[i]) * d, sizeof(float) * d);
        const int t = target[r0 + rows[i]];
        C1[i * K + t] = 1.0f;
        C2[i * K + t] = 0.0f;
      }
      alpha.resize(A * d);
      beta.resize(A * d);
      z.resize(A * K);
      m.multi_grad(xa.data(), A, {C1.data(), C2.data()}, {alpha.data(), beta.data()}, z.data());
      pred.resize(A);
      m.predict_from_logits(z.data(), A, pred.data());
      std::vector<uint8_t> keep(A, 0);
      pool().parallel_for(A, 1, [&](size_t s0, size_t s1) {
        std::vector<int> dom;
        std::vector<float> ad, bd;  // α and β over the domain, in its order
        for (size_t i = s0; i < s1; ++i) {
          const size_t r = rows[i];
          if (pred[i] == target[r0 + r] || it == o.max_iter) continue;
          float* x = Xadv + (r0 + r) * d;
          uint8_t* ch = changes.data() + r * d;
          const float* a = alpha.data() + i * d;
          const float* be = beta.data() + i * d;
          dom.clear();
          for (int p = 0; p < d; ++p)
            if (x[p] < 1.0f && ch[p] < o.max_changes) dom.push_back(p);
          int bp = -1, bq = -1;
          float best = 0.0f;
          if (o.pairs) {
            const size_t nd = dom.size();
            ad.resize(nd);
            bd.resize(nd);
            for (size_t u = 0; u < nd; ++u) ad[u] = a[dom[u]], bd[u] = be[dom[u]];
            const JsmaPair pr = jsma_best_pair(ad, bd);
            if (pr.score > 0.0f) best = pr.score, bp = dom[pr.u], bq = dom[pr.v];
          } else {
            for (int p : dom)
              if (a[p] > 0.0f && be[p] < 0.0f && -a[p] * be[p] > best) best = -a[p] * be[p], bp = p;
          }
          if (bp < 0) continue;  // nothing salient left: the row fails
          for (int p : {bp, bq}) {
            if (p < 0) continue;
            x[p] = std::min(1.0f, x[p] + o.theta);
            ch[p] += 1;
          }
          keep[i] = 1;
        }
      });
      size_t w = 0;
      for (size_t i = 0; i < A; ++i)
        if (keep[i]) rows[w++] = rows[i];
      done += static_cast<double>(A - w);
      rows.resize(w);
      tick(done, static_cast<double>(n));
    }
    done = static_cast<double>(r0 + b);
  }
  tick(static_cast<double>(n), static_cast<double>(n));
}

}  // namespace nrem
