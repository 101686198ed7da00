// The generic GEMM micro-kernel (gemm_kernels.h): 6 × 8 tile of C in GCC vector-extension
// registers (two 4-wide vectors per row: SSE2 on x86-64, NEON on arm64), separate mul and
// add (the build has -ffp-contract=off).
#include <cstring>

#include "gemm_kernels.h"
#include "gemm_pack.h"

namespace nrem {
namespace {

constexpr int MR = 6, NR = 8;
typedef float v4 __attribute__((vector_size(16)));

inline v4 ld(const float* p) {
  v4 v;
  std::memcpy(&v, p, sizeof v);
  return v;
}
inline void st(float* p, v4 v) { std::memcpy(p, &v, sizeof v); }

void micro(int kc, const float* __restrict Ap, const float* __restrict Bp, float* C, size_t ldc, float beta) {
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
      c0[r] = c0[r] + a[r] * b0;
      c1[r] = c1[r] + a[r] * b1;
    }
  }
#pragma GCC unroll 8
  for (int r = 0; r < MR; ++r) {
    st(C + r * ldc, c0[r]);
    st(C + r * ldc + 4, c1[r]);
  }
}

}  // namespace

const GemmKernel gemm_kernel_generic = {"generic 6x8 (mul+add)", MR, NR, 256, 96, micro, pack_a_plain<MR>, pack_b_plain<NR>};

}  // namespace nrem
