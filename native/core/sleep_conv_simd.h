// The per-step kernels of a conv group of the event-driven sleep (sleep_conv.h: kConvLanes
// channels side by side, a[p][lane], v[p][lane], Wᵀ[w][lane]), shared by every CPU path:
// included inside each sleep kernel file's target region (cpu_target.h), after
// sleep_simd.h, with internal linkage. Raw pointers only: no library code is instantiated
// for the path's instruction set. Float operations and their order are those of
// sleep_rules.h and of the reference engine (no FMA: -ffp-contract=off):
//
//   conv_accumulate  for each input spike j (ascending), for each (q, w) of j's fan-out:
//                    a[q][·] = a[q][·] + Wᵀ[w][·]; q marked in bits / appended to touched
//                    the first time (returns the new touched count)
//   conv_membrane    v[q][·] = decay·v[q][·] for every q; then for q in touched:
//                    v[q][·] = v[q][·] + alpha·a[q][·], a[q][·] = 0; then v += cb (bias
//                    currents, when given) and v += dc (when given)
//   conv_fire        for q ascending over the set bits (cleared) — or every q < P when
//                    bits is null — the lanes with v[q][lane] >= thr as an 8-bit mask; the
//                    positions with a non-zero mask and their masks are written out in
//                    ascending q (returns their count)
#pragma once

// The 32-byte vectors stay inside this file's functions (internal linkage): the ABI note
// GCC gives for them on the baseline path concerns no call across files.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wpsabi"

namespace nrem {
namespace {

typedef float conv_lanes_t __attribute__((vector_size(kConvLanes * sizeof(float))));
typedef int32_t conv_mask_t __attribute__((vector_size(kConvLanes * sizeof(int32_t))));

inline conv_lanes_t conv_load(const float* p) {
  conv_lanes_t v;
  std::memcpy(&v, p, sizeof v);
  return v;
}
inline void conv_store(float* p, conv_lanes_t v) { std::memcpy(p, &v, sizeof v); }

size_t conv_accumulate(const int32_t* spikes, size_t cnt, const int32_t* off, const int32_t* pos, const int32_t* widx,
                       const float* Wt, float* acc, uint64_t* bits, int32_t* touched, size_t nt) {
  for (size_t z = 0; z < cnt; ++z) {
    const int32_t j = spikes[z];
    for (int32_t e = off[j]; e < off[j + 1]; ++e) {
      const int32_t q = pos[e];
      uint64_t& w = bits[static_cast<uint32_t>(q) >> 6];
      const uint64_t b = 1ull << (q & 63);
      if (!(w & b)) {
        w |= b;
        touched[nt++] = q;
      }
      float* a = acc + static_cast<size_t>(q) * kConvLanes;
      conv_store(a, conv_load(a) + conv_load(Wt + static_cast<size_t>(widx[e]) * kConvLanes));
    }
  }
  return nt;
}

void conv_membrane(float* v, float* acc, size_t P, float decay, float alpha, const int32_t* touched, size_t nt,
                   const float* cb, const float* dc) {
  const size_t n = P * kConvLanes;
  for (size_t i = 0; i < n; ++i) v[i] = decay * v[i];
  const conv_lanes_t av = conv_lanes_t{} + alpha;
  for (size_t t = 0; t < nt; ++t) {
    float* vq = v + static_cast<size_t>(touched[t]) * kConvLanes;
    float* aq = acc + static_cast<size_t>(touched[t]) * kConvLanes;
    conv_store(vq, conv_load(vq) + av * conv_load(aq));
    conv_store(aq, conv_lanes_t{});
  }
  if (cb) {
    const conv_lanes_t c = conv_load(cb);
    for (size_t q = 0; q < P; ++q) conv_store(v + q * kConvLanes, conv_load(v + q * kConvLanes) + c);
  }
  if (dc) {
    const float d = *dc;
    for (size_t i = 0; i < n; ++i) v[i] = v[i] + d;
  }
}

// Bit lane set when v[q][lane] >= thr (false for NaN, as sleep_fires). A kernel file may
// define NREM_CONV_LANE_MASK(vq, thr) before including this header (a compare + movemask).
inline unsigned conv_lane_mask(const float* vq, float thr) {
#ifdef NREM_CONV_LANE_MASK
  return NREM_CONV_LANE_MASK(vq, thr);
#else
  const conv_mask_t ge = conv_load(vq) >= (conv_lanes_t{} + thr);
  uint64_t w[kConvLanes / 2];
  std::memcpy(w, &ge, sizeof w);
  uint64_t any = 0;
  for (int i = 0; i < kConvLanes / 2; ++i) any |= w[i];
  if (!any) return 0;  // the common case: no lane fires
  unsigned m = 0;
  for (int lane = 0; lane < kConvLanes; ++lane) m |= (static_cast<unsigned>(ge[lane]) & 1u) << lane;
  return m;
#endif
}

size_t conv_fire(const float* v, uint64_t* bits, int P, float thr, int32_t* fq, uint8_t* fm) {
  size_t c = 0;
  if (!bits) {
    for (int q = 0; q < P; ++q) {
      const unsigned m = conv_lane_mask(v + static_cast<size_t>(q) * kConvLanes, thr);
      fq[c] = q;
      fm[c] = static_cast<uint8_t>(m);
      c += m != 0;
    }
    return c;
  }
  const size_t words = (static_cast<size_t>(P) + 63) / 64;
  for (size_t i = 0; i < words; ++i) {
    for (uint64_t w = bits[i]; w; w &= w - 1) {
      const int32_t q = static_cast<int32_t>(i * 64 + static_cast<size_t>(__builtin_ctzll(w)));
      const unsigned m = conv_lane_mask(v + static_cast<size_t>(q) * kConvLanes, thr);
      fq[c] = q;
      fm[c] = static_cast<uint8_t>(m);
      c += m != 0;
    }
    bits[i] = 0;
  }
  return c;
}

}  // namespace
}  // namespace nrem

#pragma GCC diagnostic pop
