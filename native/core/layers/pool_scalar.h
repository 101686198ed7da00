// The scalar rules of the 2×2 pooling kernels (pool_kernels.h) on outputs [x0, wo): the
// generic kernels (pool_kernels.cc) and the SIMD kernels' tails (pool_simd_body.h). Internal
// linkage (static): each file gets its own copy, so none is shared across CPU paths.
#pragma once
#include <cstdint>

namespace nrem {

static inline void scalar_max2x2(const float* __restrict a, const float* __restrict b, float* __restrict out, int x0, int wo) {
  for (int x = x0; x < wo; ++x) {
    const float p = a[2 * x] > a[2 * x + 1] ? a[2 * x] : a[2 * x + 1];
    const float q = b[2 * x] > b[2 * x + 1] ? b[2 * x] : b[2 * x + 1];
    out[x] = q > p ? q : p;
  }
}

static inline void scalar_avg2x2(const float* __restrict a, const float* __restrict b, float* __restrict out, int x0, int wo) {
  for (int x = x0; x < wo; ++x) out[x] = (((a[2 * x] + a[2 * x + 1]) + b[2 * x]) + b[2 * x + 1]) / 4.0f;
}

static inline void scalar_max2x2_arg(const float* __restrict a, const float* __restrict b, float* __restrict out,
                                     int32_t* __restrict arg, int x0, int wo, int32_t at_a, int32_t w) {
  for (int x = x0; x < wo; ++x) {
    int32_t best = at_a + 2 * x;
    float bv = a[2 * x];
    if (a[2 * x + 1] > bv) bv = a[2 * x + 1], best = at_a + 2 * x + 1;
    if (b[2 * x] > bv) bv = b[2 * x], best = at_a + w + 2 * x;
    if (b[2 * x + 1] > bv) bv = b[2 * x + 1], best = at_a + w + 2 * x + 1;
    out[x] = bv;
    arg[x] = best;
  }
}

}  // namespace nrem
