// The generic direct convolution (conv_kernels.h): 8-wide GCC vectors (two SSE2 or NEON
// registers), a multiply then an add (-ffp-contract=off), as the generic GEMM kernel.
#include <cstring>

#include "conv_kernels.h"

// The 8-wide vectors never cross a non-inline call: the ABI note does not apply.
#pragma GCC diagnostic ignored "-Wpsabi"

namespace nrem {
#define NREM_CONV_FMA(w, x, acc) ((acc) + (w) * (x))
#include "conv_direct_body.h"
#undef NREM_CONV_FMA
const ConvKernels conv_kernels_generic = {"generic", direct};
}  // namespace nrem
