// Exact fused multiply-add for x86-64 CPUs without an FMA instruction (the generic GEMM and
// direct-conv kernels, gemm_generic.cc and layers/conv_direct_generic.cc, at the build's
// baseline: SSE2): fl32(c + a·b) with one rounding, lane by lane, in float64 vectors.
//   p = a·b            exact in float64 (24 + 24 <= 53 bits)
//   s = fl64(p + c), e = (p + c) − s exactly (TwoSum: bb = s − p, e = (p − (s − bb)) + (c − bb))
//   t = s, or s's neighbour towards zero when e ≠ 0 points from s towards zero:
//       the sum truncated to 53 bits; o = t with its last bit set when e ≠ 0 (round to odd)
//   fma = fl32(o)      correct: rounding to odd at 53 >= 24 + 2 bits, then to nearest,
//                      rounds once (Boldo & Melquiond 2008); exact sums (e = 0, including
//                      signed zeros) are s itself; a non-finite s has e = NaN and is left as s.
// Checked against the hardware FMA on 8·10⁷ random and tie-prone triples (every exponent
// range, cancellations, signed zeros, infinities, subnormals): no difference. About 20
// instructions per lane, against a quarter of one for a 4-wide FMA: ~100× slower.
// Internal linkage, included before any target region (cpu_target.h).
#pragma once
#include <cstring>

namespace nrem {
namespace {

typedef float fma_v4 __attribute__((vector_size(16)));
typedef float fma_v8 __attribute__((vector_size(32)));

inline __attribute__((always_inline)) fma_v4 fma_soft4(fma_v4 a, fma_v4 b, fma_v4 c) {
  typedef double v4d __attribute__((vector_size(32)));
  typedef long long v4l __attribute__((vector_size(32)));
  typedef unsigned long long v4u __attribute__((vector_size(32)));
  const v4d p = __builtin_convertvector(a, v4d) * __builtin_convertvector(b, v4d);
  const v4d cd = __builtin_convertvector(c, v4d);
  const v4d s = p + cd;
  const v4d bb = s - p;
  const v4d e = (p - (s - bb)) + (cd - bb);
  const v4l inexact = ((e < 0.0) | (e > 0.0)) & 1;  // 0 or 1; 0 for e = NaN
  v4l bits, ebits;
  std::memcpy(&bits, &s, sizeof bits);
  std::memcpy(&ebits, &e, sizeof ebits);
  const v4l towards_zero = reinterpret_cast<v4l>(reinterpret_cast<v4u>(bits ^ ebits) >> 63);  // e, s of opposite sign
  const v4l odd = (bits - (towards_zero & inexact)) | inexact;
  v4d o;
  std::memcpy(&o, &odd, sizeof o);
  return __builtin_convertvector(o, fma_v4);
}

inline __attribute__((always_inline)) void fma_soft8(const fma_v8& a, const fma_v8& b, const fma_v8& c, fma_v8* out) {
  fma_v4 h[3][2];
  std::memcpy(h[0], &a, sizeof a);
  std::memcpy(h[1], &b, sizeof b);
  std::memcpy(h[2], &c, sizeof c);
  const fma_v4 lo = fma_soft4(h[0][0], h[1][0], h[2][0]), hi = fma_soft4(h[0][1], h[1][1], h[2][1]);
  std::memcpy(out, &lo, sizeof lo);
  std::memcpy(reinterpret_cast<char*>(out) + sizeof lo, &hi, sizeof hi);
}

}  // namespace
}  // namespace nrem
