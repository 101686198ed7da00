// JSMA's pair search (jsma.h): over a domain with saliencies α (ad) and β (bd), the pair
// u < v with α_u+α_v > 0, β_u+β_v < 0 and the largest score (α_u+α_v)·|β_u+β_v|, computed
// as -(α_u+α_v)·(β_u+β_v) in float — the first such pair in (u, v) order on ties, which is
// what a scan over u, then v, ascending that keeps a pair when its score is > the best so
// far (from 0) returns. jsma_best_pair_scalar is that scan; jsma_best_pair gives the same
// pair kLanes partners at a time (test/native-core/jsma_pairs_test.cc checks them against
// each other, ties and NaN included).
#pragma once
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <limits>
#include <vector>

namespace nrem {

struct JsmaPair {
  float score = 0.0f;  // 0: no pair qualifies (u, v meaningless)
  size_t u = 0, v = 0;
};

inline JsmaPair jsma_best_pair_scalar(const float* ad, const float* bd, size_t nd) {
  JsmaPair r;
  for (size_t u = 0; u < nd; ++u)
    for (size_t v = u + 1; v < nd; ++v) {
      const float as = ad[u] + ad[v], bs = bd[u] + bd[v];
      if (as > 0.0f && bs < 0.0f) {
        const float sc = -as * bs;
        if (sc > r.score) r.score = sc, r.u = u, r.v = v;
      }
    }
  return r;
}

// GCC vector extensions: one SSE register on baseline x86-64, NEON on arm64, no ISA-specific
// build needed (8 lanes on SSE made GCC split the comparisons into scalar code).
constexpr size_t kJsmaLanes = 4;
typedef float JsmaVecF __attribute__((vector_size(kJsmaLanes * sizeof(float))));
typedef int32_t JsmaVecI __attribute__((vector_size(kJsmaLanes * sizeof(int32_t))));

// ad, bd: nd values each; padded here with NaN to nd + kJsmaLanes (α_u + NaN > 0 is false,
// so a padded lane never qualifies). The same float operations per pair as the scan; each
// lane keeps its first maximum over v, the lanes are merged by smallest v, and a pixel's
// best partner replaces the best so far only when strictly greater.
inline JsmaPair jsma_best_pair(std::vector<float>& ad, std::vector<float>& bd) {
  const size_t nd = ad.size();
  ad.resize(nd + kJsmaLanes, std::numeric_limits<float>::quiet_NaN());
  bd.resize(nd + kJsmaLanes, std::numeric_limits<float>::quiet_NaN());
  JsmaVecI lane;
  for (size_t k = 0; k < kJsmaLanes; ++k) lane[k] = static_cast<int32_t>(k);
  JsmaPair r;
  for (size_t u = 0; u + 1 < nd; ++u) {
    const JsmaVecF ap = JsmaVecF{} + ad[u], bp = JsmaVecF{} + bd[u];
    JsmaVecF best = JsmaVecF{};
    JsmaVecI at = JsmaVecI{} - 1;
    for (size_t v0 = u + 1; v0 < nd; v0 += kJsmaLanes) {
      JsmaVecF av, bv;  // unaligned loads
      std::memcpy(&av, ad.data() + v0, sizeof av);
      std::memcpy(&bv, bd.data() + v0, sizeof bv);
      const JsmaVecF as = ap + av, bs = bp + bv;
      const JsmaVecI ok = (as > 0.0f) & (bs < 0.0f);
      const JsmaVecF sc = -as * bs;
      const JsmaVecI up = ok & (sc > best);
      best = up ? sc : best;
      at = up ? lane + static_cast<int32_t>(v0) : at;
    }
    float m = 0.0f;
    size_t mv = 0;
    for (size_t k = 0; k < kJsmaLanes; ++k)
      if (at[k] >= 0 && (best[k] > m || (best[k] == m && static_cast<size_t>(at[k]) < mv))) m = best[k], mv = static_cast<size_t>(at[k]);
    if (m > r.score) r.score = m, r.u = u, r.v = mv;
  }
  ad.resize(nd);
  bd.resize(nd);
  return r;
}

}  // namespace nrem
