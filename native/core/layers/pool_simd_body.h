// The body of the 2×2 pooling kernels (pool_kernels.h), included once per CPU path inside
// that path's target region (pool_simd.cc). Everything here has internal linkage.
namespace {

inline __m256 in_order(__m256 v) {
  return _mm256_castpd_ps(_mm256_permute4x64_pd(_mm256_castps_pd(v), 0xD8));
}
void max2x2(const float* __restrict a, const float* __restrict b, float* __restrict out, int wo) {
  int x = 0;
  for (; x + 8 <= wo; x += 8) {
    const __m256 a0 = _mm256_loadu_ps(a + 2 * x), a1 = _mm256_loadu_ps(a + 2 * x + 8);
    const __m256 b0 = _mm256_loadu_ps(b + 2 * x), b1 = _mm256_loadu_ps(b + 2 * x + 8);
    const __m256 p = _mm256_max_ps(_mm256_shuffle_ps(a0, a1, 0x88), _mm256_shuffle_ps(a0, a1, 0xDD));
    const __m256 q = _mm256_max_ps(_mm256_shuffle_ps(b0, b1, 0x88), _mm256_shuffle_ps(b0, b1, 0xDD));
    _mm256_storeu_ps(out + x, in_order(_mm256_max_ps(q, p)));
  }
  for (; x + 4 <= wo; x += 4) {
    const __m128 a0 = _mm_loadu_ps(a + 2 * x), a1 = _mm_loadu_ps(a + 2 * x + 4);
    const __m128 b0 = _mm_loadu_ps(b + 2 * x), b1 = _mm_loadu_ps(b + 2 * x + 4);
    const __m128 p = _mm_max_ps(_mm_shuffle_ps(a0, a1, 0x88), _mm_shuffle_ps(a0, a1, 0xDD));
    const __m128 q = _mm_max_ps(_mm_shuffle_ps(b0, b1, 0x88), _mm_shuffle_ps(b0, b1, 0xDD));
    _mm_storeu_ps(out + x, _mm_max_ps(q, p));
  }
  scalar_max2x2(a, b, out, x, wo);
}
void avg2x2(const float* __restrict a, const float* __restrict b, float* __restrict out, int wo) {
  const __m256 four = _mm256_set1_ps(4.0f);
  int x = 0;
  for (; x + 8 <= wo; x += 8) {
    const __m256 a0 = _mm256_loadu_ps(a + 2 * x), a1 = _mm256_loadu_ps(a + 2 * x + 8);
    const __m256 b0 = _mm256_loadu_ps(b + 2 * x), b1 = _mm256_loadu_ps(b + 2 * x + 8);
    __m256 s = _mm256_add_ps(_mm256_shuffle_ps(a0, a1, 0x88), _mm256_shuffle_ps(a0, a1, 0xDD));
    s = _mm256_add_ps(s, _mm256_shuffle_ps(b0, b1, 0x88));
    s = _mm256_add_ps(s, _mm256_shuffle_ps(b0, b1, 0xDD));
    _mm256_storeu_ps(out + x, in_order(_mm256_div_ps(s, four)));
  }
  scalar_avg2x2(a, b, out, x, wo);
}
void max2x2_arg(const float* __restrict a, const float* __restrict b, float* __restrict out, int32_t* __restrict arg, int wo,
                int32_t at_a, int32_t w) {
  // the windows' first cells, in the lane order of the shuffles: outputs 0,1,4,5 | 2,3,6,7
  const __m256i lane_x = _mm256_setr_epi32(0, 2, 8, 10, 4, 6, 12, 14);
  const __m256i one = _mm256_set1_epi32(1), row = _mm256_set1_epi32(w);
  int x = 0;
  for (; x + 8 <= wo; x += 8) {
    const __m256 a0 = _mm256_loadu_ps(a + 2 * x), a1 = _mm256_loadu_ps(a + 2 * x + 8);
    const __m256 b0 = _mm256_loadu_ps(b + 2 * x), b1 = _mm256_loadu_ps(b + 2 * x + 8);
    const __m256i first = _mm256_add_epi32(_mm256_set1_epi32(at_a + 2 * x), lane_x);
    __m256 bv = _mm256_shuffle_ps(a0, a1, 0x88);
    __m256i best = first;
    const __m256 c1 = _mm256_shuffle_ps(a0, a1, 0xDD), c2 = _mm256_shuffle_ps(b0, b1, 0x88), c3 = _mm256_shuffle_ps(b0, b1, 0xDD);
    __m256 m = _mm256_cmp_ps(c1, bv, _CMP_GT_OQ);  // c > best so far (false for NaN, as the scalar >)
    bv = _mm256_blendv_ps(bv, c1, m);
    best = _mm256_blendv_epi8(best, _mm256_add_epi32(first, one), _mm256_castps_si256(m));
    m = _mm256_cmp_ps(c2, bv, _CMP_GT_OQ);
    bv = _mm256_blendv_ps(bv, c2, m);
    best = _mm256_blendv_epi8(best, _mm256_add_epi32(first, row), _mm256_castps_si256(m));
    m = _mm256_cmp_ps(c3, bv, _CMP_GT_OQ);
    bv = _mm256_blendv_ps(bv, c3, m);
    best = _mm256_blendv_epi8(best, _mm256_add_epi32(_mm256_add_epi32(first, row), one), _mm256_castps_si256(m));
    _mm256_storeu_ps(out + x, in_order(bv));
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(arg + x), _mm256_permute4x64_epi64(best, 0xD8));
  }
  scalar_max2x2_arg(a, b, out, arg, x, wo, at_a, w);
}

}  // namespace
