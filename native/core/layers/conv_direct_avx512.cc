// The avx512 direct convolution (conv_kernels.h) on 16-wide registers: each zmm holds two of
// the caller's 8-column segments (lanes 0–7 the first, 8–15 the second: one 8-float load and
// one vinsertf32x8 from memory per tap), so that every lane is used whatever the layer's
// width (a layer 8 columns wide — LeNet's conv2 — pairs two rows). A tile is 8 output
// channels (two packed weight blocks) × 3 zmm (6 segments): 24 accumulators, 3 inputs and
// a broadcast weight in the 32 registers. Each output is still its own chain (ascending t,
// one vfmadd231ps per term): the bits of the avx2 and generic paths. Where the caller pairs
// rows 2Y and 2Y+1 (conv_kernels.h, zp), a 2×2 max-pool after the layer is done in the
// registers, and the layer's own output never goes to memory.
#include <cstring>

#include "../cpu_target.h"
#include "conv_kernels.h"

#if NREM_X86_KERNELS
#include <immintrin.h>

// GCC 12's intrinsics seed their unused lanes with self-initialised "undefined" values
// (_mm512_undefined_ps in _mm512_max_ps, _mm256_undefined_ps in the extract), which
// -Wmaybe-uninitialized reports once per inlined use.
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"

NREM_TARGET_AVX512_BEGIN
namespace nrem {
namespace {

// Segments 2p and 2p+1 of a tile in one register; a tile's odd last segment reads its own
// place twice (the upper half is then never stored).
inline __m512 ld2(const float* x, int a, int b) {
  return _mm512_insertf32x8(_mm512_castps256_ps512(_mm256_loadu_ps(x + a)), _mm256_loadu_ps(x + b), 1);
}

inline void store_seg(float* z, __m256 v, int lanes) {
  if (lanes == 8) {
    _mm256_storeu_ps(z, v);
  } else {
    alignas(32) float tmp[8];
    _mm256_store_ps(tmp, v);
    for (int k = 0; k < lanes; ++k) z[k] = tmp[k];
  }
}

inline void store_pooled(float* z, __m512 v, int lanes) {
  const __m128 r = _mm512_castps512_ps128(v);
  if (lanes == 4) {
    _mm_storeu_ps(z, r);
  } else {
    alignas(16) float tmp[4];
    _mm_store_ps(tmp, r);
    for (int k = 0; k < lanes; ++k) z[k] = tmp[k];
  }
}

// Writes channels o0 .. o0+R-1 (R compile-time) of a tile of P registers holding segs
// segments: z = acc + b, or relu(acc + b)·m (Mult false where m = 1: x·1 changes no bit);
// with Pool, those values 2×2 max-pooled into zp (conv_kernels.h): register p holds rows
// 2Y (lanes 0–7) and 2Y+1 (8–15) of 8 columns.
template <int P, int R, bool Relu, bool Mult, bool Pool>
inline void finish(const ConvDirect& a, const __m512 (&acc)[8][P], int o0, const int* seg_out, const int* lanes, int segs,
                   const int* seg_pool) {
  const size_t plane = static_cast<size_t>(a.Ho) * a.Wo, pplane = plane / 4;
  const __m512 zero = _mm512_setzero_ps(), mult = _mm512_set1_ps(a.m);
  // the pooled outputs (lanes 0, 1 and 4, 5 after the pair maxima) to lanes 0–3
  const __m512i pick = _mm512_set_epi32(15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 3, 2, 5, 4, 1, 0);
#pragma GCC unroll 8
  for (int r = 0; r < R; ++r) {
    const int o = o0 + r;
    const __m512 b = _mm512_set1_ps(a.bias ? a.bias[o] : 0.0f);
    float* zo = Pool ? nullptr : a.z + static_cast<size_t>(o) * plane;
#pragma GCC unroll 3
    for (int p = 0; p < P; ++p) {
      __m512 v = _mm512_add_ps(acc[r][p], b);
      if (Relu) v = _mm512_max_ps(zero, v);  // 0 > v ? 0 : v: the body's select (−0 and NaN kept)
      if (Mult) v = _mm512_mul_ps(v, mult);
      if (Pool) {
        // per 128-bit block: [c0 > c1 ? c0 : c1, c2 > c3 ? c2 : c3, ..]; blocks 0–1 row 2Y, 2–3 row 2Y+1
        const __m512 h = _mm512_max_ps(_mm512_shuffle_ps(v, v, 0x88), _mm512_shuffle_ps(v, v, 0xDD));
        const __m512 q = _mm512_max_ps(_mm512_shuffle_f32x4(h, h, 0xEE), h);  // q > p ? q : p, q of row 2Y+1
        store_pooled(a.zp + static_cast<size_t>(o) * pplane + seg_pool[2 * p], _mm512_permutexvar_ps(pick, q),
                     lanes[2 * p] / 2);
        continue;
      }
      store_seg(zo + seg_out[2 * p], _mm512_castps512_ps256(v), lanes[2 * p]);
      if (2 * p + 1 < segs) store_seg(zo + seg_out[2 * p + 1], _mm512_extractf32x8_ps(v, 1), lanes[2 * p + 1]);
    }
  }
}

template <int P, bool Relu, bool Mult, bool Pool>
inline void finish_nc(const ConvDirect& a, const __m512 (&acc)[8][P], int o0, int nc, const int* seg_out, const int* lanes,
                      int segs, const int* seg_pool) {
  switch (nc) {
    case 8: return finish<P, 8, Relu, Mult, Pool>(a, acc, o0, seg_out, lanes, segs, seg_pool);
    case 7: return finish<P, 7, Relu, Mult, Pool>(a, acc, o0, seg_out, lanes, segs, seg_pool);
    case 6: return finish<P, 6, Relu, Mult, Pool>(a, acc, o0, seg_out, lanes, segs, seg_pool);
    case 5: return finish<P, 5, Relu, Mult, Pool>(a, acc, o0, seg_out, lanes, segs, seg_pool);
    case 4: return finish<P, 4, Relu, Mult, Pool>(a, acc, o0, seg_out, lanes, segs, seg_pool);
    case 3: return finish<P, 3, Relu, Mult, Pool>(a, acc, o0, seg_out, lanes, segs, seg_pool);
    case 2: return finish<P, 2, Relu, Mult, Pool>(a, acc, o0, seg_out, lanes, segs, seg_pool);
    default: return finish<P, 1, Relu, Mult, Pool>(a, acc, o0, seg_out, lanes, segs, seg_pool);
  }
}

template <int P, bool Pool>
inline void finish_mode(const ConvDirect& a, const __m512 (&acc)[8][P], int o0, int nc, const int* seg_out, const int* lanes,
                        int segs, const int* seg_pool) {
  if (!a.relu)
    finish_nc<P, false, false, Pool>(a, acc, o0, nc, seg_out, lanes, segs, seg_pool);
  else if (a.m == 1.0f)
    finish_nc<P, true, false, Pool>(a, acc, o0, nc, seg_out, lanes, segs, seg_pool);
  else
    finish_nc<P, true, true, Pool>(a, acc, o0, nc, seg_out, lanes, segs, seg_pool);
}

// One tile: B packed weight blocks (4·B channels from o0, nc of them real) × P registers
// (segs = 2P or 2P − 1 segments).
template <int P, int B>
inline void tile(const ConvDirect& a, int K, const float* w, int o0, int nc, const int* seg_in, const int* seg_out,
                 const int* lanes, int segs, const int* seg_pool) {
  constexpr int R = 4 * B;
  __m512 acc[8][P];
#pragma GCC unroll 8
  for (int r = 0; r < R; ++r)
#pragma GCC unroll 3
    for (int p = 0; p < P; ++p) acc[r][p] = _mm512_setzero_ps();
  int lo[P], hi[P];
  for (int p = 0; p < P; ++p) {
    lo[p] = seg_in[2 * p];
    hi[p] = 2 * p + 1 < segs ? seg_in[2 * p + 1] : seg_in[2 * p];
  }
  const float* __restrict x = a.xp;
  const int* tap = a.tap;
  const float* w1 = w + static_cast<size_t>(K) * kConvBlock;  // the second block (B = 2)
  for (int t = 0; t < K; ++t) {
    const float* xt = x + tap[t];
    __m512 in[P];
#pragma GCC unroll 3
    for (int p = 0; p < P; ++p) in[p] = ld2(xt, lo[p], hi[p]);
    const float* wt = w + static_cast<size_t>(t) * kConvBlock;
#pragma GCC unroll 4
    for (int r = 0; r < 4; ++r) {
      const __m512 wv = _mm512_set1_ps(wt[r]);
#pragma GCC unroll 3
      for (int p = 0; p < P; ++p) acc[r][p] = _mm512_fmadd_ps(wv, in[p], acc[r][p]);
    }
    if (B == 2) {
      const float* wt1 = w1 + static_cast<size_t>(t) * kConvBlock;
#pragma GCC unroll 4
      for (int r = 0; r < 4; ++r) {
        const __m512 wv = _mm512_set1_ps(wt1[r]);
#pragma GCC unroll 3
        for (int p = 0; p < P; ++p) acc[4 + r][p] = _mm512_fmadd_ps(wv, in[p], acc[4 + r][p]);
      }
    }
  }
  if (a.zp)
    finish_mode<P, true>(a, acc, o0, nc, seg_out, lanes, segs, seg_pool);
  else
    finish_mode<P, false>(a, acc, o0, nc, seg_out, lanes, segs, seg_pool);
}

template <int B>
void channels(const ConvDirect& a, int K, const float* w, int o0, int nc) {
  constexpr int kP = 3;  // registers per tile: 6 segments
  const int* pool = a.seg_pool;
  int s0 = 0;
  for (; s0 + 2 * kP <= a.segs; s0 += 2 * kP)
    tile<kP, B>(a, K, w, o0, nc, a.seg_in + s0, a.seg_out + s0, a.seg_lanes + s0, 2 * kP, pool ? pool + s0 : nullptr);
  const int rest = a.segs - s0;
  const int* pr = pool ? pool + s0 : nullptr;
  if (rest > 4)
    tile<3, B>(a, K, w, o0, nc, a.seg_in + s0, a.seg_out + s0, a.seg_lanes + s0, rest, pr);
  else if (rest > 2)
    tile<2, B>(a, K, w, o0, nc, a.seg_in + s0, a.seg_out + s0, a.seg_lanes + s0, rest, pr);
  else if (rest > 0)
    tile<1, B>(a, K, w, o0, nc, a.seg_in + s0, a.seg_out + s0, a.seg_lanes + s0, rest, pr);
}

void direct(const ConvDirect& a) {
  const int K = a.C * a.kh * a.kw;
  for (int o0 = 0; o0 < a.O; o0 += 2 * kConvBlock) {
    const int nc = a.O - o0 < 2 * kConvBlock ? a.O - o0 : 2 * kConvBlock;
    const float* w = a.wp + static_cast<size_t>(o0 / kConvBlock) * K * kConvBlock;
    if (nc > kConvBlock)
      channels<2>(a, K, w, o0, nc);
    else
      channels<1>(a, K, w, o0, nc);
  }
}

}  // namespace
const ConvKernels conv_kernels_avx512 = {"avx512", direct, true, 1 << 30};
}  // namespace nrem
NREM_TARGET_END
#endif
