// The AVX-512 sleep kernels (sleep_kernels.h): the shared body (sleep_simd.h) in 16-wide
// vectors; fire masks from vcmpps into mask registers; the compress of active pixels and
// of fired inputs with vpcompressd (in a register, then a full store: compress-to-memory
// is slow on Intel); the input draws eight at a time with vpmullq and masked gathers.
#include <cstdint>
#include <cstring>

#include "cpu_target.h"
#if NREM_X86_KERNELS
#include <immintrin.h>
#endif
#include "sleep_kernels.h"
#include "sleep_rules.h"

#if NREM_X86_KERNELS
NREM_TARGET_AVX512_BEGIN
#include "sleep_simd.h"
#define NREM_CONV_LANE_MASK(vq, thr) \
  static_cast<unsigned>(_mm256_movemask_ps(_mm256_cmp_ps(_mm256_loadu_ps(vq), _mm256_set1_ps(thr), _CMP_GE_OQ)))
#include "sleep_conv_simd.h"
#undef NREM_CONV_LANE_MASK

namespace nrem {
namespace {

typedef float v16f __attribute__((vector_size(64)));
typedef unsigned long long v8u __attribute__((vector_size(64)));

struct FireAvx512 {
  static uint64_t mask(const v16f* v, float thr) {
    const __m512 t = _mm512_set1_ps(thr);
    uint64_t m = 0;
#pragma GCC unroll 4
    for (int q = 0; q < 4; ++q)
      m |= static_cast<uint64_t>(_mm512_cmp_ps_mask(static_cast<__m512>(v[q]), t, _CMP_GE_OQ)) << (16 * q);
    return m;
  }
};

size_t positive_units(const float* x, int n, int32_t* out, bool& finite) {
  size_t c = 0;
  int j = 0, bad = 0;
  const __m512i step = _mm512_set1_epi32(16);
  __m512i idx = _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
  const __m512 zero = _mm512_setzero_ps();
  for (; j + 16 <= n; j += 16) {
    const __m512 v = _mm512_loadu_ps(x + j);
    bad |= _mm512_cmp_ps_mask(_mm512_sub_ps(v, v), zero, _CMP_NEQ_UQ);
    const __mmask16 m = _mm512_cmp_ps_mask(v, zero, _CMP_GT_OQ);
    _mm512_storeu_si512(out + c, _mm512_maskz_compress_epi32(m, idx));  // out has room for n + 16
    c += static_cast<size_t>(__builtin_popcount(m));
    idx = _mm512_add_epi32(idx, step);
  }
  c = positive_units_tail(x, j, n, out, c, bad);
  finite = !bad;
  return c;
}

size_t draw_inputs(const float* x, const int32_t* cand, size_t nc, uint64_t key, uint64_t step,
                   const uint64_t* unit_hash, float rate_factor, int32_t* fired) {
  size_t c = 0, k = 0;
  const unsigned long long kt = key ^ (step * 0x9E3779B97F4A7C15ull);
  const __m256 scale = _mm256_set1_ps(1.0f / 16777216.0f), rf = _mm256_set1_ps(rate_factor);
  for (; k < nc; k += 8) {
    const __mmask8 live = nc - k >= 8 ? 0xFF : static_cast<__mmask8>((1u << (nc - k)) - 1);
    const __m256i j = _mm256_maskz_loadu_epi32(live, cand + k);
    v8u z = reinterpret_cast<v8u>(_mm512_mask_i32gather_epi64(_mm512_setzero_si512(), live, j, unit_hash, 8));
    z = (z ^ kt) + 0x9E3779B97F4A7C15ull;  // splitmix64(key ^ step·K ^ unit_hash)
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    z = z ^ (z >> 31);
    const __m256 u = _mm256_mul_ps(_mm512_cvtepi64_ps(reinterpret_cast<__m512i>(z >> 40)), scale);  // exact: < 2^24
    const __m256 xv = _mm256_mmask_i32gather_ps(_mm256_setzero_ps(), live, j, x, 4);
    const __mmask8 f = _mm256_mask_cmp_ps_mask(live, u, _mm256_mul_ps(rf, xv), _CMP_LT_OQ);
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(fired + c), _mm256_maskz_compress_epi32(f, j));
    c += static_cast<size_t>(__builtin_popcount(f));
  }
  return c;
}

int64_t chunk_steps(SleepChunkSteps& c, int64_t k0, uint64_t* fired) { return chunk_steps_impl<v16f, FireAvx512>(c, k0, fired); }

void accumulate_columns(const float* WT, int ld, const int32_t* cols, size_t count, float* acc) {
  accumulate_columns_impl<v16f>(WT, ld, cols, count, acc);
}

}  // namespace

const SleepKernels sleep_kernels_avx512 = {positive_units, draw_inputs, chunk_steps, accumulate_columns, conv_accumulate, conv_membrane, conv_fire};

}  // namespace nrem
NREM_TARGET_END
#endif
