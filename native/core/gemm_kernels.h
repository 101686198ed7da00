// The ISA-specific parts of nrem's own GEMM (gemm.cc runs the BLIS loops around them):
// a register-blocked micro-kernel and the packing of operand panels, one set per path
// (gemm_generic.cc, gemm_avx2.cc, gemm_avx512.cc), chosen at run time through cpu.h.
//
// Packed panels (zero padded to whole panels, 64-byte aligned):
//   A panel  Ap[k][r] = alpha·op(A)[i0 + r, k0 + k]   k < kc, r < mr   (r >= h: 0)
//   B panel  Bp[k][c] = op(B)[k0 + k, j0 + c]          k < kc, c < nr   (c >= w: 0)
// Micro-kernel on one mr × nr tile of C (row stride ldc):
//   c ← beta·C[r, c]   (beta = 0: c ← 0 and C is not read; beta = 1: c ← C[r, c])
//   for k = 0 .. kc-1:   c ← fma(Ap[k][r], Bp[k][c], c)   (c + a·b with one rounding)
// on every path: avx2 and avx512 with their vector FMA instructions, generic with the
// compiler's fmaf (gemm_generic.cc: a hardware FMA where there is one, else the C
// library's correctly rounded one). Every entry of C is thus the same chain over k in
// ascending order on every path, whose result does not depend on how K, M or N are blocked
// (a partial sum is stored as the float it is and reloaded), on the tile size or on the
// thread count: the kernels differ in mr, nr, kc, mc only, so every path gives the same
// bits. (The avx512 kernel is equal by construction, the same chain as avx2 in wider
// registers; test/native-kernels/isa.test.ts checks it where the CPU has AVX-512.)
#pragma once
#include <cstddef>

namespace nrem {

struct GemmKernel {
  const char* name;
  int mr, nr;  // micro-tile
  int kc, mc;  // default K block and rows of A per packed block (multiple of mr)
  void (*micro)(int kc, const float* Ap, const float* Bp, float* C, size_t ldc, float beta);
  // One A panel of h <= mr rows; op(A) = A (row i at A + i·lda) or Aᵀ (trans: A is K × M).
  void (*pack_a)(bool trans, const float* A, size_t lda, int i0, int h, int k0, int kc, float alpha, float* dst);
  // ceil(w / nr) consecutive B panels (w columns from j0), panel q at dst + q·kc·nr;
  // op(B) = B (K × N) or Bᵀ (trans: B is N × K).
  void (*pack_b)(bool trans, const float* B, size_t ldb, int j0, int w, int k0, int kc, float* dst);
};

// Largest micro-tile of any kernel (for edge-tile scratch).
constexpr int kGemmMaxTile = 16 * 64;

extern const GemmKernel gemm_kernel_generic;
#if defined(__x86_64__) && defined(__GNUC__)
extern const GemmKernel gemm_kernel_generic_fma;  // the generic kernel built for FMA hardware
extern const GemmKernel gemm_kernel_avx2;
extern const GemmKernel gemm_kernel_avx512;
#endif

}  // namespace nrem
