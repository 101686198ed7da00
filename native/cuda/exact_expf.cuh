// expf exactly as glibc computes it, and the STDP gate with it (the Arm optimized-routines algorithm of glibc ≥ 2.28,
// sysdeps/ieee754/flt-32/e_expf.c), as __host__ __device__ code, so that the GPU's STDP gate
// rounds like the CPU core's (which calls the host libm's expf). CUDA's own expf is within
// 2 ulp, and (float)exp((double)x) differs from glibc in about 1 of 25,000 inputs; this port
// gave glibc's result bit for bit on 138.5 million inputs (every 31st float bit pattern,
// test/native-core/sleep_net_host_test.cc checks a sweep on every run). The double-precision
// steps are written without FMA (nvcc --fmad=false, g++ -ffp-contract=off); glibc's FMA build
// of the same code gave the same floats on that sweep.
//   x·N/ln2 = k + r, |r| ≤ 1/2 (N = 32), exp(x) = 2^(k/N) · 2^(r/N)
//   2^(r/N) ≈ C0·r³ + C1·r² + C2·r + 1,   2^(k/N) = T[k mod N] with k/N added to its exponent
//   then one rounding to float. |x| ≥ 88, NaN, ±Inf as glibc (without errno).
#pragma once
#include <cstdint>
#include <cstring>

#include "../core/sleep_rules.h"

#define NREM_EXP2F_TABLE                                                                              \
  0x3ff0000000000000ull, 0x3fefd9b0d3158574ull, 0x3fefb5586cf9890full, 0x3fef9301d0125b51ull,         \
      0x3fef72b83c7d517bull, 0x3fef54873168b9aaull, 0x3fef387a6e756238ull, 0x3fef1e9df51fdee1ull,     \
      0x3fef06fe0a31b715ull, 0x3feef1a7373aa9cbull, 0x3feedea64c123422ull, 0x3feece086061892dull,     \
      0x3feebfdad5362a27ull, 0x3feeb42b569d4f82ull, 0x3feeab07dd485429ull, 0x3feea47eb03a5585ull,     \
      0x3feea09e667f3bcdull, 0x3fee9f75e8ec5f74ull, 0x3feea11473eb0187ull, 0x3feea589994cce13ull,     \
      0x3feeace5422aa0dbull, 0x3feeb737b0cdc5e5ull, 0x3feec49182a3f090ull, 0x3feed503b23e255dull,     \
      0x3feee89f995ad3adull, 0x3feeff76f2fb5e47ull, 0x3fef199bdd85529cull, 0x3fef3720dcef9069ull,     \
      0x3fef5818dcfba487ull, 0x3fef7c97337b9b5full, 0x3fefa4afa2a490daull, 0x3fefd0765b6e4540ull

namespace nrem::cuda {

// 2^(i/32) as double bits, minus i << 47 (so that adding k << 47 also sets the exponent).
static const uint64_t kExp2fTableHost[32] = {NREM_EXP2F_TABLE};
#ifdef __CUDACC__
static __device__ const uint64_t kExp2fTableDevice[32] = {NREM_EXP2F_TABLE};
#endif

NREM_HD inline float exact_expf(float x) {
#ifdef __CUDA_ARCH__
  const uint64_t* T = kExp2fTableDevice;
#else
  const uint64_t* T = kExp2fTableHost;
#endif
  const double N = 32.0, InvLn2N = 0x1.71547652b82fep+0 * N, Shift = 0x1.8p+52;
  const double C0 = 0x1.c6af84b912394p-5 / N / N / N, C1 = 0x1.ebfce50fac4f3p-3 / N / N, C2 = 0x1.62e42ff0c52d6p-1 / N;
  uint32_t ux;
  std::memcpy(&ux, &x, 4);
  const uint32_t abstop = (ux >> 20) & 0x7ff;
  if (abstop >= 0x42bu) {              // |x| >= 88 or NaN (top12(88.0f) = 0x42b)
    if (ux == 0xff800000u) return 0.0f;  // -Inf
    if (abstop >= 0x7f8u) return x + x;  // +Inf, NaN
    if (x > 0x1.62e42ep6f) {  // overflow: +Inf
      const uint32_t inf = 0x7f800000u;
      float f;
      std::memcpy(&f, &inf, 4);
      return f;
    }
    if (x < -0x1.9fe368p6f) return 0.0f;  // underflow
  }
  const double xd = static_cast<double>(x);
  const double z = InvLn2N * xd;
  double kd = z + Shift;
  uint64_t ki;
  std::memcpy(&ki, &kd, 8);
  kd -= Shift;
  const double r = z - kd;
  uint64_t t = T[ki % 32];
  t += ki << 47;
  double s;
  std::memcpy(&s, &t, 8);
  const double p = C0 * r + C1, r2 = r * r;
  double y = C2 * r + 1.0;
  y = p * r2 + y;
  y = y * s;
  return static_cast<float>(y);
}

// The STDP gate of sleep_rules.h (sleep_gate), with exact_expf for expf.
NREM_HD inline float sleep_gate_exact(float w, int gate, float width) {
  switch (gate) {
    case static_cast<int>(SleepGate::Release):
      return 2.0f * (1.0f - 1.0f / (1.0f + exact_expf(-(w / width))));
    case static_cast<int>(SleepGate::Sigmoid):
      return 1.0f / (1.0f + exact_expf(-w));
    default:
      return 1.0f;
  }
}

}  // namespace nrem::cuda
