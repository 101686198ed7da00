#include "pool.h"

#include <algorithm>

#include "../thread_pool.h"
#include "epilogue.h"

namespace nrem {

namespace {
// Window (y, x) of a layer clipped to the input: rows [u0, u1), columns [v0, v1).
struct Cells {
  int u0, u1, v0, v1;
};
inline Cells cells(const Layer& l, int y, int x) {
  const Window& w = l.win;
  const int u = y * w.sh - w.pt, v = x * w.sw - w.pl;
  return {std::max(u, 0), std::min(u + w.kh, l.in.h), std::max(v, 0), std::min(v + w.kw, l.in.w)};
}
}  // namespace

void pool_forward(const Layer& l, const float* x, size_t n, float* z, int32_t* arg, const Epilogue& e, float m) {
  const size_t in = l.in.size(), out = l.out.size();
  const int C = l.in.c, H = l.in.h, W = l.in.w, Ho = l.out.h, Wo = l.out.w;
  const bool mx = l.kind == LayerKind::MaxPool;
  const float full = static_cast<float>(l.win.kh * l.win.kw);
  pool().parallel_for(n, 4, [&](size_t rb, size_t re) {
    for (size_t r = rb; r < re; ++r) {
      const float* xr = x + r * in;
      float* zr = z + r * out;
      int32_t* ar = arg ? arg + r * out : nullptr;
      for (int c = 0; c < C; ++c) {
        const float* plane = xr + static_cast<size_t>(c) * H * W;
        for (int y = 0; y < Ho; ++y)
          for (int xo = 0; xo < Wo; ++xo) {
            const Cells s = cells(l, y, xo);
            const size_t o = (static_cast<size_t>(c) * Ho + y) * Wo + xo;
            if (mx) {
              int best = s.u0 * W + s.v0;
              float bv = plane[best];
              for (int u = s.u0; u < s.u1; ++u)
                for (int v = s.v0; v < s.v1; ++v)
                  if (plane[u * W + v] > bv) bv = plane[best = u * W + v];
              zr[o] = bv;
              if (ar) ar[o] = c * H * W + best;
            } else {
              float sum = 0.0f;
              for (int u = s.u0; u < s.u1; ++u)
                for (int v = s.v0; v < s.v1; ++v) sum += plane[u * W + v];
              const float cnt = l.count_include_pad ? full : static_cast<float>((s.u1 - s.u0) * (s.v1 - s.v0));
              zr[o] = sum / cnt;
            }
          }
      }
      if (!epilogue_identity(e, m)) epilogue_block(zr, 1, static_cast<int>(out), out, e, m);
    }
  });
}

void pool_backward(const Layer& l, const float* g, const int32_t* arg, size_t n, float* dx) {
  const size_t in = l.in.size(), out = l.out.size();
  const int C = l.in.c, H = l.in.h, W = l.in.w, Ho = l.out.h, Wo = l.out.w;
  const bool mx = l.kind == LayerKind::MaxPool;
  require(!mx || arg, "ERR_ARGUMENT", "max-pool backward needs the forward pass's argmax");
  const float full = static_cast<float>(l.win.kh * l.win.kw);
  pool().parallel_for(n, 4, [&](size_t rb, size_t re) {
    for (size_t r = rb; r < re; ++r) {
      float* dr = dx + r * in;
      const float* gr = g + r * out;
      std::fill(dr, dr + in, 0.0f);
      if (mx) {
        const int32_t* ar = arg + r * out;
        for (size_t o = 0; o < out; ++o) dr[ar[o]] += gr[o];
        continue;
      }
      for (int c = 0; c < C; ++c) {
        float* plane = dr + static_cast<size_t>(c) * H * W;
        for (int y = 0; y < Ho; ++y)
          for (int xo = 0; xo < Wo; ++xo) {
            const Cells s = cells(l, y, xo);
            const float cnt = l.count_include_pad ? full : static_cast<float>((s.u1 - s.u0) * (s.v1 - s.v0));
            const float d = gr[(static_cast<size_t>(c) * Ho + y) * Wo + xo] / cnt;
            for (int u = s.u0; u < s.u1; ++u)
              for (int v = s.v0; v < s.v1; ++v) plane[u * W + v] += d;
          }
      }
    }
  });
}

}  // namespace nrem
