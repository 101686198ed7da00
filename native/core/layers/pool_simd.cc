// The avx2 and avx512 2×2 pooling kernels (pool_kernels.h): one 8-wide body, compiled under
// each path's target. Per 8 outputs: 16 columns of each row loaded as two registers,
// shufps 0x88 / 0xDD picking the even and odd columns (in the 128-bit lanes' order), maxps
// (or the sums) in the scalar rule's operand order, one vpermpd putting the lanes back in
// column order; then 4 outputs from SSE registers (no lane crossing), then the scalar rule.
#include <cstdint>

#include "../cpu_target.h"
#include "pool_kernels.h"
#include "pool_scalar.h"

#if NREM_X86_KERNELS
#include <immintrin.h>

NREM_TARGET_AVX2_BEGIN
namespace nrem {
namespace avx2 {
#include "pool_simd_body.h"
}  // namespace avx2
const PoolKernels pool_kernels_avx2 = {"avx2", avx2::max2x2, avx2::avg2x2, avx2::max2x2_arg};
}  // namespace nrem
NREM_TARGET_END

NREM_TARGET_AVX512_BEGIN
namespace nrem {
namespace avx512 {
#include "pool_simd_body.h"
}  // namespace avx512
const PoolKernels pool_kernels_avx512 = {"avx512", avx512::max2x2, avx512::avg2x2, avx512::max2x2_arg};
}  // namespace nrem
NREM_TARGET_END
#endif
