// The generic 2×2 pooling kernels (pool_kernels.h): the scalar rules (pool_scalar.h),
// compiled for the baseline.
#include "pool_kernels.h"

#include <cstdint>

#include "pool_scalar.h"

namespace nrem {
namespace {

void max2x2(const float* a, const float* b, float* out, int wo) { scalar_max2x2(a, b, out, 0, wo); }
void avg2x2(const float* a, const float* b, float* out, int wo) { scalar_avg2x2(a, b, out, 0, wo); }
void max2x2_arg(const float* a, const float* b, float* out, int32_t* arg, int wo, int32_t at_a, int32_t w) {
  scalar_max2x2_arg(a, b, out, arg, 0, wo, at_a, w);
}

}  // namespace
const PoolKernels pool_kernels_generic = {"generic", max2x2, avg2x2, max2x2_arg};
}  // namespace nrem
