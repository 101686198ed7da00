// Direct convolution for stride-1 layers (conv.cc uses it where it pays; im2col + GEMM
// otherwise): the ISA-specific part, one kernel per CPU path (conv_direct_generic.cc,
// conv_direct_avx2.cc, conv_direct_avx512.cc; shared body in conv_direct_body.h), chosen
// at run time through cpu.h.
//
// A few images at once (so that the segments fill whole tiles: 3 images of a layer with 8 row
// segments), each zero-padded by the caller into xp (C planes of Hp × Wp, Hp = H + pt + pb,
// Wp >= W + pl + pr and >= 8·⌈Wo/8⌉ + kw − 1, so that no read needs a bounds check; image i
// at xp + i·C·Hp·Wp, its output at z + i·O·Ho·Wo):
//   acc[o,y,x] = Σ_{t = 0 .. K-1} W[o,t] · xp[c_t, y + i_t, x + j_t]     t = (c·kh + i)·kw + j
//     the sum a chain in ascending t from 0, one fused multiply-add per term (one rounding)
//     on every path (generic: conv_direct_generic.cc) — the same roundings as the GEMM's
//     kernels (gemm_kernels.h)
//   z[o,y,x] = acc + b[o]                        (mode Plain; b = 0 without bias)
//            = (acc + b[o] < 0 ? 0 : acc + b[o]) · m   (mode Relu)
// Each output is its own chain, so the result does not depend on the tiling (generic and
// avx2: 4 output channels × up to 3 row segments of 8 columns in registers; avx512: 8
// channels × 3 zmm of two segments each; images grouped) or on the thread count, and the
// kernels of every path (the same FMAs in the same order) give the same bits.
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
  float* z;          // O × Ho × Wo per image
  bool relu;         // mode Relu, else Plain
  float m;           // Relu's multiplier
  // The segments of 8 output columns, image by image, row by row (the caller's tables):
  // input offset in xp (i·C·Hp·Wp + y·Wp + 8v), output offset in z's channel-0 plane
  // (i·O·Ho·Wo + y·Wo + 8v), valid columns (8, or fewer at a row's end).
  const int* seg_in;
  const int* seg_out;
  const int* seg_lanes;
  int segs;
  // A 2×2, stride-2 max-pool after the layer, in the kernel (only where the path's
  // ConvKernels::maxpool2x2 is true; Ho and Wo even): when zp is set, segments 2p and 2p+1
  // of the table are rows 2Y and 2Y+1 of the same columns, and the kernel writes
  //   zp[o,Y,X] = q > p ? q : p,  p = z[o,2Y,2X] > z[o,2Y,2X+1] ? z[o,2Y,2X] : z[o,2Y,2X+1],
  //   q the same on row 2Y+1 (the pooling kernels' rule, pool_kernels.h)
  // (O × Ho/2 × Wo/2 per image) instead of z; seg_pool[2p]: pair p's first output in zp's
  // channel-0 plane (i·O·Ho·Wo/4 + Y·Wo/2 + 4v).
  float* zp;
  const int* seg_pool;
};

struct ConvKernels {
  const char* name;
  void (*direct)(const ConvDirect& a);
  bool maxpool2x2;  // direct() can apply the max-pool above (zp)
  // ... and does so for layers of at most this many taps (C·kh·kw): the 8-wide kernels pool
  // in tiles of one row pair (8 accumulators instead of 12), which pays only where the taps
  // are few and the tile's end (stores, then a pooling pass) is a large part of its work.
  int maxpool2x2_taps;
};

constexpr int kConvBlock = 4;  // output channels per packed weight block

extern const ConvKernels conv_kernels_generic;
#if defined(__x86_64__) && defined(__GNUC__)
extern const ConvKernels conv_kernels_generic_fma;  // the generic kernel built for FMA hardware
extern const ConvKernels conv_kernels_avx2;
extern const ConvKernels conv_kernels_avx512;
#endif

}  // namespace nrem
