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

// One tile: output channels 4q .. 4q+3 (nc of them real) × S segments of 8 columns.
// seg_in[s]: offset of segment s's first input in a plane (y·Wp + 8·xv);
// seg_out[s], lanes[s]: its first output (y·Wo + 8·xv) and its valid columns.
template <int S>
inline void tile(const ConvDirect& a, const int* tap, int K, const float* w, int o0, int nc, const int* seg_in,
                 const int* seg_out, const int* lanes) {
  v8 acc[kConvBlock][S];
  for (int r = 0; r < kConvBlock; ++r)
    for (int s = 0; s < S; ++s) acc[r][s] = splat(0.0f);
  const float* __restrict x = a.xp;
  for (int t = 0; t < K; ++t) {
    const float* xt = x + tap[t];
    v8 in[S];
    for (int s = 0; s < S; ++s) in[s] = ld8(xt + seg_in[s]);
    const float* wt = w + static_cast<size_t>(t) * kConvBlock;
    for (int r = 0; r < kConvBlock; ++r) {
      const v8 wv = splat(wt[r]);
      for (int s = 0; s < S; ++s) acc[r][s] = NREM_CONV_FMA(wv, in[s], acc[r][s]);
    }
  }
  const size_t plane = static_cast<size_t>(a.Ho) * a.Wo;
  const v8 zero = splat(0.0f), mult = splat(a.m);
  for (int r = 0; r < nc; ++r) {
    const int o = o0 + r;
    const v8 b = splat(a.bias ? a.bias[o] : 0.0f);
    float* zo = a.z + static_cast<size_t>(o) * plane;
    for (int s = 0; s < S; ++s) {
      v8 v = acc[r][s] + b;
      if (a.relu) v = (v < zero ? zero : v) * mult;
      if (lanes[s] == 8)
        std::memcpy(zo + seg_out[s], &v, sizeof v);
      else
        std::memcpy(zo + seg_out[s], &v, sizeof(float) * lanes[s]);
    }
  }
}

void direct(const ConvDirect& a) {
  const int K = a.C * a.kh * a.kw;
  const int* tap = a.tap;
  const int xv = (a.Wo + 7) / 8, segs = a.Ho * xv;
  constexpr int kS = 3;
  for (int o0 = 0; o0 < a.O; o0 += kConvBlock) {
    const int nc = a.O - o0 < kConvBlock ? a.O - o0 : kConvBlock;
    const float* w = a.wp + static_cast<size_t>(o0 / kConvBlock) * K * kConvBlock;
    for (int s0 = 0; s0 < segs; s0 += kS) {
      const int ns = segs - s0 < kS ? segs - s0 : kS;
      int in[kS], out[kS], lanes[kS];
      for (int s = 0; s < ns; ++s) {
        const int y = (s0 + s) / xv, v = (s0 + s) % xv;
        in[s] = y * a.Wp + 8 * v;
        out[s] = y * a.Wo + 8 * v;
        lanes[s] = a.Wo - 8 * v < 8 ? a.Wo - 8 * v : 8;
      }
      if (ns == 3)
        tile<3>(a, tap, K, w, o0, nc, in, out, lanes);
      else if (ns == 2)
        tile<2>(a, tap, K, w, o0, nc, in, out, lanes);
      else
        tile<1>(a, tap, K, w, o0, nc, in, out, lanes);
    }
  }
}

}  // namespace
