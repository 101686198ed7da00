// The body of the direct convolution kernel (conv_kernels.h), included once per CPU path
// inside that path's target region. The including file defines
//   NREM_CONV_FMA(w, x, acc)   acc + w·x on 8-wide vectors (fused or not, per path)
// Everything here has internal linkage (cpu_target.h); the includer includes <cstring>.
namespace {

typedef float v8 __attribute__((vector_size(32)));

inline v8 ld8(const float* p) {
  v8 v;
  std::memcpy(&v, p, sizeof v);
  return v;
}
inline v8 splat(float f) { return v8{f, f, f, f, f, f, f, f}; }

// An unaligned 8-float store from a register (no round trip through the stack).
typedef float v8u __attribute__((vector_size(32), aligned(4), __may_alias__));
inline void st8(float* p, v8 v) { *reinterpret_cast<v8u*>(p) = v; }

// Writes R (compile-time: the accumulators stay in registers) output channels o0 .. o0+R-1
// of a tile: z = acc + b (Relu false), or relu(acc + b)·m (Relu true; Mult false where m = 1,
// whose product changes no bit).
template <int S, int R, bool Relu, bool Mult>
inline void finish(const ConvDirect& a, const v8 (&acc)[kConvBlock][S], int o0, const int* seg_out, const int* lanes) {
  const size_t plane = static_cast<size_t>(a.Ho) * a.Wo;
  const v8 zero = splat(0.0f), mult = splat(a.m);
#pragma GCC unroll 4
  for (int r = 0; r < R; ++r) {
    const int o = o0 + r;
    const v8 b = splat(a.bias ? a.bias[o] : 0.0f);
    float* zo = a.z + static_cast<size_t>(o) * plane;
#pragma GCC unroll 4
    for (int s = 0; s < S; ++s) {
      v8 v = acc[r][s] + b;
      if (Relu) v = v < zero ? zero : v;
      if (Mult) v = v * mult;
      if (lanes[s] == 8)
        st8(zo + seg_out[s], v);
      else
        for (int k = 0; k < lanes[s]; ++k) zo[seg_out[s] + k] = v[k];
    }
  }
}

// The same values 2×2 max-pooled (conv_kernels.h, zp): the tile is one pair of segments,
// rows 2Y (s = 0) and 2Y+1 (s = 1) of 8 columns, giving up to 4 outputs per channel.
template <int R, bool Relu, bool Mult>
inline void finish_pool(const ConvDirect& a, const v8 (&acc)[kConvBlock][2], int o0, const int* seg_pool, const int* lanes) {
  const size_t pplane = static_cast<size_t>(a.Ho) * a.Wo / 4;
  const v8 zero = splat(0.0f), mult = splat(a.m);
  typedef int i8 __attribute__((vector_size(32)));
#pragma GCC unroll 4
  for (int r = 0; r < R; ++r) {
    const int o = o0 + r;
    const v8 b = splat(a.bias ? a.bias[o] : 0.0f);
    v8 v[2];
    for (int s = 0; s < 2; ++s) {
      v[s] = acc[r][s] + b;
      if (Relu) v[s] = v[s] < zero ? zero : v[s];
      if (Mult) v[s] = v[s] * mult;
    }
    // even and odd columns of both rows: [a0 a2 b0 b2 | a4 a6 b4 b6], [a1 a3 b1 b3 | a5 a7 b5 b7]
    const v8 e = __builtin_shuffle(v[0], v[1], i8{0, 2, 8, 10, 4, 6, 12, 14});
    const v8 d = __builtin_shuffle(v[0], v[1], i8{1, 3, 9, 11, 5, 7, 13, 15});
    const v8 h = e > d ? e : d;  // p (row 2Y) and q (row 2Y+1) per output: [p0 p1 q0 q1 | p2 p3 q2 q3]
    const v8 hs = __builtin_shuffle(h, i8{2, 3, 0, 1, 6, 7, 4, 5});  // [q0 q1 p0 p1 | q2 q3 p2 p3]
    const v8 m = hs > h ? hs : h;  // q > p ? q : p in lanes 0, 1, 4, 5
    float* zp = a.zp + static_cast<size_t>(o) * pplane + seg_pool[0];
    const float out[4] = {m[0], m[1], m[4], m[5]};
    for (int k = 0; k < lanes[0] / 2; ++k) zp[k] = out[k];
  }
}

template <bool Relu, bool Mult>
inline void finish_pool_nc(const ConvDirect& a, const v8 (&acc)[kConvBlock][2], int o0, int nc, const int* seg_pool, const int* lanes) {
  switch (nc) {
    case 4: return finish_pool<4, Relu, Mult>(a, acc, o0, seg_pool, lanes);
    case 3: return finish_pool<3, Relu, Mult>(a, acc, o0, seg_pool, lanes);
    case 2: return finish_pool<2, Relu, Mult>(a, acc, o0, seg_pool, lanes);
    default: return finish_pool<1, Relu, Mult>(a, acc, o0, seg_pool, lanes);
  }
}

template <int S, bool Relu, bool Mult>
inline void finish_nc(const ConvDirect& a, const v8 (&acc)[kConvBlock][S], int o0, int nc, const int* seg_out, const int* lanes) {
  switch (nc) {
    case 4: return finish<S, 4, Relu, Mult>(a, acc, o0, seg_out, lanes);
    case 3: return finish<S, 3, Relu, Mult>(a, acc, o0, seg_out, lanes);
    case 2: return finish<S, 2, Relu, Mult>(a, acc, o0, seg_out, lanes);
    default: return finish<S, 1, Relu, Mult>(a, acc, o0, seg_out, lanes);
  }
}

// One tile: output channels 4q .. 4q+3 (nc of them real) × S segments of 8 columns.
// seg_in[s]: offset of segment s's first input in a.xp (image·C·Hp·Wp + y·Wp + 8·xv);
// seg_out[s], lanes[s]: its first output in a.z's channel plane (image·O·Ho·Wo + y·Wo + 8·xv)
// and its valid columns.
template <int S>
inline void tile(const ConvDirect& a, const int* tap, int K, const float* w, int o0, int nc, const int* seg_in,
                 const int* seg_out, const int* lanes, const int* seg_pool = nullptr) {
  v8 acc[kConvBlock][S];
#pragma GCC unroll 4
  for (int r = 0; r < kConvBlock; ++r)
#pragma GCC unroll 4
    for (int s = 0; s < S; ++s) acc[r][s] = splat(0.0f);
  const float* __restrict x = a.xp;
  for (int t = 0; t < K; ++t) {
    const float* xt = x + tap[t];
    v8 in[S];
#pragma GCC unroll 4
    for (int s = 0; s < S; ++s) in[s] = ld8(xt + seg_in[s]);
    const float* wt = w + static_cast<size_t>(t) * kConvBlock;
#pragma GCC unroll 4
    for (int r = 0; r < kConvBlock; ++r) {
      const v8 wv = splat(wt[r]);
#pragma GCC unroll 4
      for (int s = 0; s < S; ++s) acc[r][s] = NREM_CONV_FMA(wv, in[s], acc[r][s]);
    }
  }
  if constexpr (S == 2) {
    if (seg_pool) {  // a pair of rows, pooled (zp)
      if (!a.relu)
        finish_pool_nc<false, false>(a, acc, o0, nc, seg_pool, lanes);
      else if (a.m == 1.0f)
        finish_pool_nc<true, false>(a, acc, o0, nc, seg_pool, lanes);
      else
        finish_pool_nc<true, true>(a, acc, o0, nc, seg_pool, lanes);
      return;
    }
  }
  if (!a.relu)
    finish_nc<S, false, false>(a, acc, o0, nc, seg_out, lanes);
  else if (a.m == 1.0f)
    finish_nc<S, true, false>(a, acc, o0, nc, seg_out, lanes);
  else
    finish_nc<S, true, true>(a, acc, o0, nc, seg_out, lanes);
}

void direct(const ConvDirect& a) {
  const int K = a.C * a.kh * a.kw;
  constexpr int kS = 3;
  for (int o0 = 0; o0 < a.O; o0 += kConvBlock) {
    const int nc = a.O - o0 < kConvBlock ? a.O - o0 : kConvBlock;
    const float* w = a.wp + static_cast<size_t>(o0 / kConvBlock) * K * kConvBlock;
    int s0 = 0;
    if (a.zp) {  // pairs of rows (2Y, 2Y+1), pooled in the registers: tiles of one pair
      for (; s0 + 2 <= a.segs; s0 += 2)
        tile<2>(a, a.tap, K, w, o0, nc, a.seg_in + s0, a.seg_out + s0, a.seg_lanes + s0, a.seg_pool + s0);
      continue;
    }
    for (; s0 + kS <= a.segs; s0 += kS)
      tile<kS>(a, a.tap, K, w, o0, nc, a.seg_in + s0, a.seg_out + s0, a.seg_lanes + s0);
    if (a.segs - s0 == 2)
      tile<2>(a, a.tap, K, w, o0, nc, a.seg_in + s0, a.seg_out + s0, a.seg_lanes + s0);
    else if (a.segs - s0 == 1)
      tile<1>(a, a.tap, K, w, o0, nc, a.seg_in + s0, a.seg_out + s0, a.seg_lanes + s0);
  }
}

}  // namespace
