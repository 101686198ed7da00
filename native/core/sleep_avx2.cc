// The AVX2 sleep kernels (sleep_kernels.h): the shared body (sleep_simd.h) in 8-wide
// vectors; fire masks from vcmpps + vmovmskps; the compress of active pixels and of fired
// inputs as a left-pack through a 256-entry table of lane permutations (AVX-512's
// vpcompressd); the input draws eight at a time (two 4 × 64-bit splitmix64 vectors, the
// 64-bit multiplies emulated by the compiler from vpmuludq).
#include <cstdint>
#include <cstring>

#include "cpu_target.h"
#if NREM_X86_KERNELS
#include <immintrin.h>
#endif
#include "sleep_kernels.h"
#include "sleep_rules.h"

#if NREM_X86_KERNELS
namespace nrem {
namespace {
// kLeftPack[m]: the lanes of the set bits of m, in ascending order, packed to the left.
struct LeftPack {
  uint8_t lanes[256][8];
  constexpr LeftPack() : lanes() {
    for (int m = 0; m < 256; ++m) {
      int c = 0;
      for (int b = 0; b < 8; ++b)
        if (m & (1 << b)) lanes[m][c++] = static_cast<uint8_t>(b);
    }
  }
};
constexpr LeftPack kLeftPack;
}  // namespace
}  // namespace nrem

NREM_TARGET_AVX2_BEGIN
#include "sleep_simd.h"
#define NREM_CONV_LANE_MASK(vq, thr) \
  static_cast<unsigned>(_mm256_movemask_ps(_mm256_cmp_ps(_mm256_loadu_ps(vq), _mm256_set1_ps(thr), _CMP_GE_OQ)))
#include "sleep_conv_simd.h"
#undef NREM_CONV_LANE_MASK

namespace nrem {
namespace {

typedef float v8f __attribute__((vector_size(32)));
typedef unsigned long long v4u __attribute__((vector_size(32)));

inline __m256i left_pack_perm(int m) {
  return _mm256_cvtepu8_epi32(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(kLeftPack.lanes[m])));
}

struct FireAvx2 {
  static uint64_t mask(const v8f* v, float thr) {
    const __m256 t = _mm256_set1_ps(thr);
    __m256 f[8], any = _mm256_setzero_ps();
#pragma GCC unroll 8
    for (int q = 0; q < 8; ++q) any = _mm256_or_ps(any, f[q] = _mm256_cmp_ps(static_cast<__m256>(v[q]), t, _CMP_GE_OQ));
    if (!_mm256_movemask_ps(any)) return 0;  // the common case: nobody fires
    uint64_t m = 0;
#pragma GCC unroll 8
    for (int q = 0; q < 8; ++q) m |= static_cast<uint64_t>(_mm256_movemask_ps(f[q])) << (8 * q);
    return m;
  }
};

size_t positive_units(const float* x, int n, int32_t* out, bool& finite) {
  size_t c = 0;
  int j = 0, bad = 0;
  const __m256 zero = _mm256_setzero_ps();
  for (; j + 8 <= n; j += 8) {
    const __m256 v = _mm256_loadu_ps(x + j);
    bad |= _mm256_movemask_ps(_mm256_cmp_ps(_mm256_sub_ps(v, v), zero, _CMP_NEQ_UQ));
    const int m = _mm256_movemask_ps(_mm256_cmp_ps(v, zero, _CMP_GT_OQ));
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(out + c), _mm256_add_epi32(_mm256_set1_epi32(j), left_pack_perm(m)));
    c += static_cast<size_t>(__builtin_popcount(m));
  }
  c = positive_units_tail(x, j, n, out, c, bad);
  finite = !bad;
  return c;
}

// splitmix64(key ^ step·K ^ unit_hash) >> 40 of four units.
inline v4u input_bits(__m256i hash, unsigned long long kt) {
  v4u z = reinterpret_cast<v4u>(hash);
  z = (z ^ kt) + 0x9E3779B97F4A7C15ull;
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  z = z ^ (z >> 31);
  return z >> 40;
}

size_t draw_inputs(const float* x, const int32_t* cand, size_t nc, uint64_t key, uint64_t step,
                   const uint64_t* unit_hash, float rate_factor, int32_t* fired) {
  size_t c = 0, k = 0;
  const unsigned long long kt = key ^ (step * 0x9E3779B97F4A7C15ull);
  const __m256 scale = _mm256_set1_ps(1.0f / 16777216.0f), rf = _mm256_set1_ps(rate_factor);
  const __m256i even = _mm256_setr_epi32(0, 2, 4, 6, 0, 2, 4, 6);
  const long long* uh = reinterpret_cast<const long long*>(unit_hash);
  for (; k + 8 <= nc; k += 8) {
    const __m256i j = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(cand + k));
    const v4u lo = input_bits(_mm256_i32gather_epi64(uh, _mm256_castsi256_si128(j), 8), kt);
    const v4u hi = input_bits(_mm256_i32gather_epi64(uh, _mm256_extracti128_si256(j, 1), 8), kt);
    // the low 32 bits of each 64-bit lane (values < 2^24), eight in a row
    const __m256i l32 = _mm256_permutevar8x32_epi32(reinterpret_cast<__m256i>(lo), even);
    const __m256i h32 = _mm256_permutevar8x32_epi32(reinterpret_cast<__m256i>(hi), even);
    const __m256 u = _mm256_mul_ps(_mm256_cvtepi32_ps(_mm256_permute2x128_si256(l32, h32, 0x20)), scale);  // exact
    const __m256 xv = _mm256_i32gather_ps(x, j, 4);
    const int f = _mm256_movemask_ps(_mm256_cmp_ps(u, _mm256_mul_ps(rf, xv), _CMP_LT_OQ));
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(fired + c), _mm256_permutevar8x32_epi32(j, left_pack_perm(f)));
    c += static_cast<size_t>(__builtin_popcount(f));
  }
  return draw_inputs_tail(x, cand, k, nc, key, step, unit_hash, rate_factor, fired, c);
}

int64_t chunk_steps(SleepChunkSteps& c, int64_t k0, uint64_t* fired) { return chunk_steps_impl<v8f, FireAvx2>(c, k0, fired); }

void accumulate_columns(const float* WT, int ld, const int32_t* cols, size_t count, float* acc) {
  accumulate_columns_impl<v8f>(WT, ld, cols, count, acc);
}

}  // namespace

const SleepKernels sleep_kernels_avx2 = {positive_units, draw_inputs, chunk_steps, accumulate_columns, conv_accumulate, conv_membrane, conv_fire};

}  // namespace nrem
NREM_TARGET_END
#endif
