// The avx2 direct convolution (conv_kernels.h): the 8-wide body with one fused
// multiply-add per term (vfmadd231ps on ymm registers).
#include <cstring>

#include "../cpu_target.h"
#include "conv_kernels.h"

#if NREM_X86_KERNELS
#include <immintrin.h>

NREM_TARGET_AVX2_BEGIN
namespace nrem {
#define NREM_CONV_FMA(w, x, acc) ((v8)_mm256_fmadd_ps((__m256)(w), (__m256)(x), (__m256)(acc)))
#include "conv_direct_body.h"
#undef NREM_CONV_FMA
const ConvKernels conv_kernels_avx2 = {"avx2", direct, true, 64};
}  // namespace nrem
NREM_TARGET_END
#endif
