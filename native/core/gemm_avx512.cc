// The AVX-512 GEMM micro-kernel (gemm_kernels.h): a 12 × 32 tile of C in 24 zmm
// registers, one broadcast of A and two loads of B per k, c = fma(a, b, c) in ascending k
// (the same chain per entry as the AVX2 kernel, so the same results bit for bit).
#include <cstddef>
#include <cstring>

#include "cpu_target.h"
#if NREM_X86_KERNELS
#include <immintrin.h>
#endif
#include "gemm_kernels.h"

#if NREM_X86_KERNELS
NREM_TARGET_AVX512_BEGIN
#include "gemm_pack.h"
#include "gemm_trans8.h"

namespace nrem {
namespace {

constexpr int MR = 12, NR = 32;

void micro(int kc, const float* __restrict Ap, const float* __restrict Bp, float* C, size_t ldc, float beta) {
  __m512 c0[MR], c1[MR];
#pragma GCC unroll 16
  for (int r = 0; r < MR; ++r) {
    if (beta == 0.0f) {
      c0[r] = _mm512_setzero_ps();
      c1[r] = _mm512_setzero_ps();
    } else {
      c0[r] = _mm512_loadu_ps(C + r * ldc);
      c1[r] = _mm512_loadu_ps(C + r * ldc + 16);
      if (beta != 1.0f) {
        const __m512 b = _mm512_set1_ps(beta);
        c0[r] = _mm512_mul_ps(b, c0[r]);
        c1[r] = _mm512_mul_ps(b, c1[r]);
      }
    }
  }
  for (int k = 0; k < kc; ++k) {
    const __m512 b0 = _mm512_load_ps(Bp), b1 = _mm512_load_ps(Bp + 16);
#pragma GCC unroll 16
    for (int r = 0; r < MR; ++r) {
      const __m512 a = _mm512_set1_ps(Ap[r]);
      c0[r] = _mm512_fmadd_ps(a, b0, c0[r]);
      c1[r] = _mm512_fmadd_ps(a, b1, c1[r]);
    }
    Ap += MR;
    Bp += NR;
  }
#pragma GCC unroll 16
  for (int r = 0; r < MR; ++r) {
    _mm512_storeu_ps(C + r * ldc, c0[r]);
    _mm512_storeu_ps(C + r * ldc + 16, c1[r]);
  }
}

void pack_b(bool trans, const float* B, size_t ldb, int j0, int w, int k0, int kc, float* dst) {
  if (trans)
    pack_b_trans8<NR>(B, ldb, j0, w, k0, kc, dst);
  else
    pack_b_plain<NR>(false, B, ldb, j0, w, k0, kc, dst);
}

}  // namespace

const GemmKernel gemm_kernel_avx512 = {"avx512 12x32 (fma)", MR, NR, 256, 144, micro, pack_a_plain<MR>, pack_b};

}  // namespace nrem
NREM_TARGET_END
#endif
