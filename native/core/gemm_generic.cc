// The generic GEMM micro-kernel (gemm_kernels.h): 6 × 8 tile of C in GCC vector-extension
// registers (two 4-wide vectors per row: SSE on x86-64, NEON on arm64), one fused
// multiply-add per k and entry, c = fma(a, b, c) = fl(c + a·b) with one rounding: the same
// chain as the avx2 and avx512 kernels, hence the same bits. One body, three builds:
//   gemm_kernel_generic_fma  x86-64: the compiler's fmaf under target("fma") (which brings
//                            AVX), vectorised into 128-bit vfmadd231ps; cpu.cc picks it for
//                            the generic path when the CPU has fma, avx and the OS saves YMM
//                            state, unless NREM_FMA=software.
//   gemm_kernel_generic      x86-64 baseline (SSE2, no FMA instruction): the fma emulated
//                            exactly, 4 lanes at a time in float64 (fma_soft.h), about
//                            100× slower than the hardware FMA.
//                            Elsewhere (arm64: fmadd/fmla): the compiler's fmaf.
#include <cstring>

#include "cpu_target.h"
#include "fma_soft.h"
#include "gemm_kernels.h"
#include "gemm_pack.h"

namespace nrem {
namespace {

constexpr int MR = 6, NR = 8;
typedef float v4 __attribute__((vector_size(16)));

inline __attribute__((always_inline)) v4 ld(const float* p) {
  v4 v;
  std::memcpy(&v, p, sizeof v);
  return v;
}
inline __attribute__((always_inline)) void st(float* p, v4 v) { std::memcpy(p, &v, sizeof v); }
// c + a·b per lane with one rounding, by the compiler's fmaf (vectorised where the target
// has a vector FMA)
struct FmaBuiltin {
  static inline __attribute__((always_inline)) v4 fma4(float a, v4 b, v4 c) {
    return v4{__builtin_fmaf(a, b[0], c[0]), __builtin_fmaf(a, b[1], c[1]), __builtin_fmaf(a, b[2], c[2]),
              __builtin_fmaf(a, b[3], c[3])};
  }
};

#if NREM_X86_KERNELS
// The same by the exact emulation (fma_soft.h).
struct FmaSoft {
  static inline __attribute__((always_inline)) v4 fma4(float a, v4 b, v4 c) { return fma_soft4(v4{a, a, a, a}, b, c); }
};
#endif

template <class F>
inline __attribute__((always_inline)) void micro_body(int kc, const float* __restrict Ap, const float* __restrict Bp,
                                                      float* C, size_t ldc, float beta) {
  v4 c0[MR], c1[MR];
#pragma GCC unroll 8
  for (int r = 0; r < MR; ++r) {
    if (beta == 0.0f) {
      c0[r] = v4{0, 0, 0, 0};
      c1[r] = c0[r];
    } else {
      c0[r] = ld(C + r * ldc);
      c1[r] = ld(C + r * ldc + 4);
      if (beta != 1.0f) {
        c0[r] = beta * c0[r];
        c1[r] = beta * c1[r];
      }
    }
  }
  for (int k = 0; k < kc; ++k) {
    const v4 b0 = ld(Bp + k * NR), b1 = ld(Bp + k * NR + 4);
    const float* a = Ap + k * MR;
#pragma GCC unroll 8
    for (int r = 0; r < MR; ++r) {
      c0[r] = F::fma4(a[r], b0, c0[r]);
      c1[r] = F::fma4(a[r], b1, c1[r]);
    }
  }
#pragma GCC unroll 8
  for (int r = 0; r < MR; ++r) {
    st(C + r * ldc, c0[r]);
    st(C + r * ldc + 4, c1[r]);
  }
}

void micro(int kc, const float* __restrict Ap, const float* __restrict Bp, float* C, size_t ldc, float beta) {
#if NREM_X86_KERNELS
  micro_body<FmaSoft>(kc, Ap, Bp, C, ldc, beta);
#else
  micro_body<FmaBuiltin>(kc, Ap, Bp, C, ldc, beta);
#endif
}

}  // namespace

#if NREM_X86_KERNELS
#define NREM_GENERIC_NAME "generic 6x8 (fma, software)"
#else
#define NREM_GENERIC_NAME "generic 6x8 (fma)"
#endif
const GemmKernel gemm_kernel_generic = {NREM_GENERIC_NAME, MR, NR, 256, 96, micro, pack_a_plain<MR>, pack_b_plain<NR>};

}  // namespace nrem

#if NREM_X86_KERNELS
NREM_TARGET_BEGIN_("fma")
namespace nrem {
namespace {
void micro_fma(int kc, const float* __restrict Ap, const float* __restrict Bp, float* C, size_t ldc, float beta) {
  micro_body<FmaBuiltin>(kc, Ap, Bp, C, ldc, beta);
}
}  // namespace

// The packing stays the baseline's (plain copies, no arithmetic but alpha·a, as everywhere).
const GemmKernel gemm_kernel_generic_fma = {"generic 6x8 (fma, hardware)", MR, NR, 256, 96, micro_fma,
                                            pack_a_plain<MR>, pack_b_plain<NR>};
}  // namespace nrem
NREM_TARGET_END
#endif
