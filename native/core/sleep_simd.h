// The body of the sleep kernels (sleep_kernels.h) shared by every path, written with GCC
// vector extensions of W floats (V) so that each kernel file compiles it for its own
// instruction set: included inside that file's target region, after its fire-mask and
// compress helpers, with internal linkage (see cpu_target.h). Operations and their order
// are those of sleep_rules.h (no FMA: the build has -ffp-contract=off).
#pragma once

namespace nrem {
namespace {

template <class V>
inline V vload(const float* p) {
  V v;
  std::memcpy(&v, p, sizeof v);
  return v;
}
template <class V>
inline void vstore(float* p, V v) {
  std::memcpy(p, &v, sizeof v);
}

// Fire::mask(const V* v, float thr): bit r set when v_r >= thr, r < 64.
template <class V, class Fire>
int64_t chunk_steps_impl(SleepChunkSteps& c, int64_t k0, uint64_t* fired) {
  constexpr int NV = kSleepSlice * static_cast<int>(sizeof(float)) / static_cast<int>(sizeof(V));
  V v[NV];
  for (int q = 0; q < NV; ++q) v[q] = vload<V>(c.v + q * (kSleepSlice / NV));
  constexpr int W = kSleepSlice / NV;
  const float decay = c.decay, alpha = c.alpha, thr = c.thr, dc = c.dc;
  const int32_t* off = c.off;
  bool v_zero = c.v_zero;
  alignas(64) float acc[kSleepSlice] = {};
  int64_t k = k0;
  for (; k < c.K; ++k) {
    const int32_t* s = c.idx + off[k];
    const size_t cnt = static_cast<size_t>(off[k + 1] - off[k]);
    bool can_fire = false;
    if (cnt > 0) {
      V a[NV];
      if (c.WT) {
        // Σ over the spiking inputs in ascending order (the reference's order).
        const float* r0 = c.WT + static_cast<size_t>(s[0]) * kSleepSlice;
#pragma GCC unroll 16
        for (int q = 0; q < NV; ++q) a[q] = vload<V>(r0 + W * q);
        for (size_t z = 1; z < cnt; ++z) {
          const float* r = c.WT + static_cast<size_t>(s[z]) * kSleepSlice;
#pragma GCC unroll 16
          for (int q = 0; q < NV; ++q) a[q] += vload<V>(r + W * q);
        }
      } else {
        sleep_accumulate_strided(c.W, c.w, c.fan_in, s, cnt, acc);
        for (int q = 0; q < NV; ++q) a[q] = vload<V>(acc + W * q);
      }
#pragma GCC unroll 16
      for (int q = 0; q < NV; ++q) v[q] = decay * v[q] + alpha * a[q];  // sleep_membrane, no FMA
      v_zero = false;
      can_fire = true;
    } else if (!v_zero) {
#pragma GCC unroll 16
      for (int q = 0; q < NV; ++q) v[q] = decay * v[q];
    }
    if (c.dcv) {  // bias currents, one per neuron (sleep.h), before the output drive
#pragma GCC unroll 16
      for (int q = 0; q < NV; ++q) v[q] += vload<V>(c.dcv + W * q);
      v_zero = false;
      can_fire = true;
    }
    if (c.has_dc) {
#pragma GCC unroll 16
      for (int q = 0; q < NV; ++q) v[q] += dc;
      v_zero = false;
      can_fire = true;
    }
    if (!can_fire) continue;
    const uint64_t m = Fire::mask(v, thr) & c.valid;
    if (m) {
      *fired = m;
      break;
    }
  }
  for (int q = 0; q < NV; ++q) vstore<V>(c.v + q * W, v[q]);
  c.v_zero = v_zero;
  return k;
}

// acc[i] = Σ_k WT[cols[k], i] in ascending k, 64 outputs at a time in registers.
template <class V>
void accumulate_columns_impl(const float* WT, int ld, const int32_t* cols, size_t count, float* acc) {
  constexpr int NV = kSleepPad * static_cast<int>(sizeof(float)) / static_cast<int>(sizeof(V));
  constexpr int W = kSleepPad / NV;
  for (int i0 = 0; i0 < ld; i0 += kSleepPad) {
    const float* c0 = WT + static_cast<size_t>(cols[0]) * ld + i0;
    V a[NV];
#pragma GCC unroll 16
    for (int q = 0; q < NV; ++q) a[q] = vload<V>(c0 + W * q);
    for (size_t k = 1; k < count; ++k) {
      const float* ck = WT + static_cast<size_t>(cols[k]) * ld + i0;
#pragma GCC unroll 16
      for (int q = 0; q < NV; ++q) a[q] += vload<V>(ck + W * q);
    }
#pragma GCC unroll 16
    for (int q = 0; q < NV; ++q) vstore<V>(acc + i0 + W * q, a[q]);
  }
}

// Scalar tails of positive_units and draw_inputs (whole vectors are done by the caller).
inline size_t positive_units_tail(const float* x, int j, int n, int32_t* out, size_t c, int& bad) {
  for (; j < n; ++j) {
    out[c] = j;
    c += x[j] > 0.0f;
    bad |= !(x[j] - x[j] == 0.0f);
  }
  return c;
}

inline size_t draw_inputs_tail(const float* x, const int32_t* cand, size_t k, size_t nc, uint64_t key, uint64_t step,
                               const uint64_t* unit_hash, float rate_factor, int32_t* fired, size_t c) {
  for (; k < nc; ++k) {
    fired[c] = cand[k];
    c += sleep_input_fires(sleep_input_uniform(key, step, unit_hash[cand[k]]), rate_factor, x[cand[k]]);
  }
  return c;
}

}  // namespace
}  // namespace nrem
