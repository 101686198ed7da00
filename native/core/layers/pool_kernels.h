// The 2×2, stride-2 pooling windows of a row pair (pool.cc's common case), one kernel per CPU
// path (pool_kernels.cc: generic; pool_simd.cc: avx2 and avx512, 8 outputs per step from
// de-interleaved even and odd columns), chosen at run time through cpu.h. Rows a and b are
// 2·wo wide; output x takes columns 2x, 2x+1 of both:
//   max   p = a[2x] > a[2x+1] ? a[2x] : a[2x+1],  q = the same on b,  out[x] = q > p ? q : p
//         (maxps computes exactly s1 > s2 ? s1 : s2, so −0, +0 and NaN give the same bits)
//   avg   out[x] = (((a[2x] + a[2x+1]) + b[2x]) + b[2x+1]) / 4
//   max with argmax (training, attacks): out[x] as max, arg[x] the first of the window's cells
//         in row order holding it (a[2x], a[2x+1], b[2x], b[2x+1]; each replaces the best so
//         far only where strictly greater), as the index at_a + 2x (+1) or at_a + w + 2x (+1)
// Every path gives the same bits.
#pragma once
#include <cstdint>

namespace nrem {

struct PoolKernels {
  const char* name;
  void (*max2x2)(const float* a, const float* b, float* out, int wo);
  void (*avg2x2)(const float* a, const float* b, float* out, int wo);
  void (*max2x2_arg)(const float* a, const float* b, float* out, int32_t* arg, int wo, int32_t at_a, int32_t w);
};

extern const PoolKernels pool_kernels_generic;
#if defined(__x86_64__) && defined(__GNUC__)
extern const PoolKernels pool_kernels_avx2;
extern const PoolKernels pool_kernels_avx512;
#endif

}  // namespace nrem
