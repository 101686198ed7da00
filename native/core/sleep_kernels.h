// The ISA-specific inner loops of the event-driven sleep engine (sleep.cc), one set per
// CPU path (sleep_generic.cc, sleep_avx2.cc, sleep_avx512.cc; shared body in
// sleep_simd.h), picked at run time through cpu.h. Every path computes exactly the rules
// of sleep_rules.h with the same float32 operations in the same order, so all give the
// same spikes and weights bit for bit (test/native-kernels/isa.test.ts).
//
//   positive_units   out = { j : x[j] > 0 } ascending (compress of active pixels);
//                    finite = no NaN/±Inf in x
//   draw_inputs      fired = { j in cand : u(key, step, j) < rate_factor·x[j] } ascending,
//                    u = sleep_input_uniform (splitmix64 of key ^ step·K ^ unit_hash[j])
//   chunk_steps      one chunk of kSleepSlice = 64 neurons, steps k = k0, k0+1, ... of a
//                    window, until a neuron fires:
//                      a    = Σ_{j spiking at k, ascending} Wᵀ[j, chunk]   (or the same sums
//                             gathered from the row-major W before Wᵀ exists)
//                      v    = decay·v + alpha·a     if some input spiked
//                           = decay·v               else, unless v is all zero
//                      v   += dcv                   bias currents, when given
//                      v   += dc                    on the output layer
//                      fire = { r : v_r >= thr } (bit r of a 64-bit mask)
//                    returns the first step with fire ≠ 0 (the mask in *fired, v stored
//                    with the fired neurons still at their value) or the window's end
//   accumulate_columns  acc[i] = Σ_k WT[cols[k], i] in ascending k (step-wise engine)
//   conv_accumulate, conv_membrane, conv_fire
//                    one step of a group of kConvLanes conv channels (sleep_conv_simd.h)
#pragma once
#include <cstddef>
#include <cstdint>

namespace nrem {

constexpr int kSleepSlice = 64;  // neurons per chunk of the layer-wise engine (one 64-bit mask)
constexpr int kSleepPad = 64;    // Wᵀ rows of the step-wise engine are padded to this many floats
constexpr int kConvLanes = 8;    // conv channels side by side in a group of the layer-wise engine (sleep_conv.h)

// One chunk's view of a window for chunk_steps.
struct SleepChunkSteps {
  const float* WT = nullptr;  // fan_in × kSleepSlice slice of Wᵀ, or null: gather from W
  const float* W = nullptr;   // the chunk's first row of the row-major W (n × fan_in)
  int fan_in = 0, w = 0;      // neurons in the chunk (<= 64)
  const int32_t* off = nullptr;  // input spikes of step k: idx[off[k] .. off[k+1])
  const int32_t* idx = nullptr;
  int64_t K = 0;              // steps in the window
  float decay = 0, alpha = 0, thr = 0, dc = 0;
  bool has_dc = false;
  const float* dcv = nullptr; // 64 per-neuron constants added after the membrane update (bias currents), or null
  uint64_t valid = 0;         // bits of the chunk's real neurons
  float* v = nullptr;         // 64 membranes, read and written
  bool v_zero = true;         // v is all zero (updated)
};

struct SleepKernels {
  size_t (*positive_units)(const float* x, int n, int32_t* out, bool& finite);  // out: room for n + 16
  size_t (*draw_inputs)(const float* x, const int32_t* cand, size_t nc, uint64_t key, uint64_t step,
                        const uint64_t* unit_hash, float rate_factor, int32_t* fired);  // fired: room for nc + 8
  int64_t (*chunk_steps)(SleepChunkSteps& c, int64_t k0, uint64_t* fired);
  void (*accumulate_columns)(const float* WT, int ld, const int32_t* cols, size_t count, float* acc);  // ld % 64 == 0
  // touched: room for every position; bits: one bit per position
  size_t (*conv_accumulate)(const int32_t* spikes, size_t cnt, const int32_t* off, const int32_t* pos, const int32_t* widx,
                            const float* Wt, float* acc, uint64_t* bits, int32_t* touched, size_t nt);
  void (*conv_membrane)(float* v, float* acc, size_t P, float decay, float alpha, const int32_t* touched, size_t nt,
                        const float* cb, const float* dc);  // cb: kConvLanes bias currents or null; dc: null or the constant
  size_t (*conv_fire)(const float* v, uint64_t* bits, int P, float thr, int32_t* fq, uint8_t* fm);  // fq, fm: room for P
};

// acc[i] = Σ_k W[i, cols[k]] in ascending k, i < n (W: n × fan_in row-major): the same sums
// gathered from W before Wᵀ exists (baseline code, called by every path).
void sleep_accumulate_strided(const float* W, int n, int fan_in, const int32_t* cols, size_t count, float* acc);

extern const SleepKernels sleep_kernels_generic;
#if defined(__x86_64__) && defined(__GNUC__)
extern const SleepKernels sleep_kernels_avx2;
extern const SleepKernels sleep_kernels_avx512;
#endif

}  // namespace nrem
