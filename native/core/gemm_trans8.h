// Transposed B panels (op(B) = Bᵀ, B stored N × K: the forward pass's weights) for the
// AVX kernels: Bp[k][c] = B[j0 + c, k0 + k], 8 columns × 8 k at a time through an 8 × 8
// register transpose; the rest (k tail, columns c >= w: zeros) by plain loops. Included
// inside a target region (AVX2 or above), internal linkage (see cpu_target.h).
#pragma once

namespace nrem {
namespace {

inline void transpose8x8(__m256 r[8]) {
  const __m256 t0 = _mm256_unpacklo_ps(r[0], r[1]), t1 = _mm256_unpackhi_ps(r[0], r[1]);
  const __m256 t2 = _mm256_unpacklo_ps(r[2], r[3]), t3 = _mm256_unpackhi_ps(r[2], r[3]);
  const __m256 t4 = _mm256_unpacklo_ps(r[4], r[5]), t5 = _mm256_unpackhi_ps(r[4], r[5]);
  const __m256 t6 = _mm256_unpacklo_ps(r[6], r[7]), t7 = _mm256_unpackhi_ps(r[6], r[7]);
  const __m256 u0 = _mm256_shuffle_ps(t0, t2, 0x44), u1 = _mm256_shuffle_ps(t0, t2, 0xEE);
  const __m256 u2 = _mm256_shuffle_ps(t1, t3, 0x44), u3 = _mm256_shuffle_ps(t1, t3, 0xEE);
  const __m256 u4 = _mm256_shuffle_ps(t4, t6, 0x44), u5 = _mm256_shuffle_ps(t4, t6, 0xEE);
  const __m256 u6 = _mm256_shuffle_ps(t5, t7, 0x44), u7 = _mm256_shuffle_ps(t5, t7, 0xEE);
  r[0] = _mm256_permute2f128_ps(u0, u4, 0x20);
  r[1] = _mm256_permute2f128_ps(u1, u5, 0x20);
  r[2] = _mm256_permute2f128_ps(u2, u6, 0x20);
  r[3] = _mm256_permute2f128_ps(u3, u7, 0x20);
  r[4] = _mm256_permute2f128_ps(u0, u4, 0x31);
  r[5] = _mm256_permute2f128_ps(u1, u5, 0x31);
  r[6] = _mm256_permute2f128_ps(u2, u6, 0x31);
  r[7] = _mm256_permute2f128_ps(u3, u7, 0x31);
}

// One panel (w <= NR columns).
template <int NR>
void pack_b_trans8_panel(const float* B, size_t ldb, int j0, int w, int k0, int kc, float* dst) {
  static_assert(NR % 8 == 0, "panels of whole 8-column groups");
  const int k8 = kc / 8 * 8;
  for (int g = 0; g < NR; g += 8) {
    if (g + 8 <= w) {
      const float* src[8];
      for (int c = 0; c < 8; ++c) src[c] = B + static_cast<size_t>(j0 + g + c) * ldb + k0;
      for (int k = 0; k < k8; k += 8) {
        __m256 r[8];
#pragma GCC unroll 8
        for (int c = 0; c < 8; ++c) {
          _mm_prefetch(reinterpret_cast<const char*>(src[c] + k + 64), _MM_HINT_T0);
          r[c] = _mm256_loadu_ps(src[c] + k);
        }
        transpose8x8(r);
#pragma GCC unroll 8
        for (int q = 0; q < 8; ++q) _mm256_storeu_ps(dst + static_cast<size_t>(k + q) * NR + g, r[q]);
      }
      for (int k = k8; k < kc; ++k)
        for (int c = 0; c < 8; ++c) dst[static_cast<size_t>(k) * NR + g + c] = src[c][k];
    } else {
      for (int c = g; c < g + 8; ++c) {
        if (c < w) {
          const float* s = B + static_cast<size_t>(j0 + c) * ldb + k0;
          for (int k = 0; k < kc; ++k) dst[static_cast<size_t>(k) * NR + c] = s[k];
        } else {
          for (int k = 0; k < kc; ++k) dst[static_cast<size_t>(k) * NR + c] = 0.0f;
        }
      }
    }
  }
}

// ceil(w / NR) consecutive panels, panel q at dst + q·kc·NR.
template <int NR>
void pack_b_trans8(const float* B, size_t ldb, int j0, int w, int k0, int kc, float* dst) {
  for (int q = 0; q * NR < w; ++q)
    pack_b_trans8_panel<NR>(B, ldb, j0 + q * NR, w - q * NR < NR ? w - q * NR : NR, k0, kc,
                            dst + static_cast<size_t>(q) * kc * NR);
}

}  // namespace
}  // namespace nrem
