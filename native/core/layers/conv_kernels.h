// Direct convolution for stride-1 layers (conv.cc uses it where it pays; im2col + GEMM
// otherwise): the ISA-specific part, one kernel per CPU path (conv_direct_generic.cc,
// conv_direct_avx2.cc, conv_direct_avx512.cc; shared body in conv_direct_body.h), chosen
// at run time through cpu.h.
//
// One image, input zero-padded by the caller into xp (C planes of Hp × Wp, Hp = H + pt + pb,
// Wp >= W + pl + pr and >= 8·⌈Wo/8⌉ + kw − 1, so that no read needs a bounds check):
//   acc[o,y,x] = Σ_{t = 0 .. K-1} W[o,t] · xp[c_t, y + i_t, x + j_t]     t = (c·kh + i)·kw + j
//     the sum a chain in ascending t from 0: avx2 and avx512 one fused multiply-add per
//     term (one rounding), generic a multiply then an add (-ffp-contract=off) — the same
//     roundings as the GEMM's kernels (gemm_kernels.h) on each path
//   z[o,y,x] = acc + b[o]                        (mode Plain; b = 0 without bias)
//            = (acc + b[o] < 0 ? 0 : acc + b[o]) · m   (mode Relu)
// Each output is its own chain, so the result does not depend on the tiling (4 output
// channels × up to 3 row segments of 8 columns in registers) or on the thread count, and the
// avx2 and avx512 kernels (the same 8-wide code) give the same bits.
#pragma once
#include <cstddef>

namespace nrem {

struct ConvDirect {
  const float* xp;   // padded input (see above)
  int C, Hp, Wp;
  int kh, kw;
  int O, Ho, Wo;
  const int* tap;    // K tap offsets in xp, in the order of t: (c·Hp + i)·Wp + j
  const float* wp;   // packed weights: block q of 4 channels at wp + q·K·4, [t][r] = W[4q + r, t] (0 past O)
  const float* bias; // O values, or null
  float* z;          // O × Ho × Wo
  bool relu;         // mode Relu, else Plain
  float m;           // Relu's multiplier
};

struct ConvKernels {
  const char* name;
  void (*direct)(const ConvDirect& a);
};

constexpr int kConvBlock = 4;  // output channels per packed weight block

extern const ConvKernels conv_kernels_generic;
#if defined(__x86_64__) && defined(__GNUC__)
extern const ConvKernels conv_kernels_avx2;
extern const ConvKernels conv_kernels_avx512;
#endif

}  // namespace nrem
