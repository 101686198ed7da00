// The generic sleep kernels (sleep_kernels.h): the shared body in 4-wide GCC vectors
// (SSE2 on x86-64, NEON on arm64), scalar compress and input draws.
#include <cstdint>
#include <cstring>

#include "sleep_kernels.h"
#include "sleep_rules.h"
#include "sleep_simd.h"
#include "sleep_conv_simd.h"

namespace nrem {
namespace {

typedef float v4f __attribute__((vector_size(16)));

struct FireScalar {
  static uint64_t mask(const v4f* v, float thr) {
    alignas(64) float f[kSleepSlice];
    std::memcpy(f, v, sizeof f);
    uint64_t m = 0;
    for (int r = 0; r < kSleepSlice; ++r) m |= static_cast<uint64_t>(sleep_fires(f[r], thr)) << r;
    return m;
  }
};

size_t positive_units(const float* x, int n, int32_t* out, bool& finite) {
  int bad = 0;
  const size_t c = positive_units_tail(x, 0, n, out, 0, bad);
  finite = !bad;
  return c;
}

size_t draw_inputs(const float* x, const int32_t* cand, size_t nc, uint64_t key, uint64_t step,
                   const uint64_t* unit_hash, float rate_factor, int32_t* fired) {
  return draw_inputs_tail(x, cand, 0, nc, key, step, unit_hash, rate_factor, fired, 0);
}

int64_t chunk_steps(SleepChunkSteps& c, int64_t k0, uint64_t* fired) { return chunk_steps_impl<v4f, FireScalar>(c, k0, fired); }

void accumulate_columns(const float* WT, int ld, const int32_t* cols, size_t count, float* acc) {
  accumulate_columns_impl<v4f>(WT, ld, cols, count, acc);
}

}  // namespace

const SleepKernels sleep_kernels_generic = {positive_units, draw_inputs, chunk_steps, accumulate_columns, conv_accumulate, conv_membrane, conv_fire};

}  // namespace nrem
