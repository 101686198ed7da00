// The generic direct convolution (conv_kernels.h): 8-wide GCC vectors (two SSE2 or NEON
// registers), one fused multiply-add per term as the avx2 and avx512 kernels (the same
// bits), built like the generic GEMM kernel (gemm_generic.cc):
//   conv_kernels_generic_fma  x86-64: the compiler's fmaf under target("fma"), vectorised
//                             into vfmadd231ps; cpu.cc picks it where the CPU has FMA
//   conv_kernels_generic      x86-64 baseline: the exact software fma (../fma_soft.h);
//                             elsewhere (arm64) the compiler's fmaf (fmla)
#include <cstring>

// The 8-wide vectors never cross a non-inline call: the ABI note does not apply.
#pragma GCC diagnostic ignored "-Wpsabi"

#include "../cpu_target.h"
#include "../fma_soft.h"
#include "conv_kernels.h"

namespace nrem {
namespace {
#if NREM_X86_KERNELS
// acc + w·x per lane with one rounding, by the exact emulation
inline __attribute__((always_inline)) fma_v8 fma8_soft(const fma_v8& w, const fma_v8& x, const fma_v8& acc) {
  fma_v8 r;
  fma_soft8(w, x, acc, &r);
  return r;
}
#endif
// acc + w·x per lane with one rounding, by the compiler's fmaf
inline __attribute__((always_inline)) fma_v8 fma8_builtin(const fma_v8& w, const fma_v8& x, const fma_v8& acc) {
  fma_v8 r;
  for (int l = 0; l < 8; ++l) r[l] = __builtin_fmaf(w[l], x[l], acc[l]);
  return r;
}
}  // namespace

namespace soft {
#if NREM_X86_KERNELS
#define NREM_CONV_FMA(w, x, acc) fma8_soft(w, x, acc)
#else
#define NREM_CONV_FMA(w, x, acc) fma8_builtin(w, x, acc)
#endif
#include "conv_direct_body.h"
#undef NREM_CONV_FMA
}  // namespace soft
#if NREM_X86_KERNELS
const ConvKernels conv_kernels_generic = {"generic (fma, software)", soft::direct, true, 64};
#else
const ConvKernels conv_kernels_generic = {"generic (fma)", soft::direct, true, 64};
#endif
}  // namespace nrem

#if NREM_X86_KERNELS
NREM_TARGET_BEGIN_("fma")
namespace nrem {
namespace hw {
#define NREM_CONV_FMA(w, x, acc) fma8_builtin(w, x, acc)
#include "conv_direct_body.h"
#undef NREM_CONV_FMA
}  // namespace hw
const ConvKernels conv_kernels_generic_fma = {"generic (fma, hardware)", hw::direct, true, 64};
}  // namespace nrem
NREM_TARGET_END
#endif
