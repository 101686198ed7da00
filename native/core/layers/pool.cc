#include "pool.h"

#include <algorithm>

#include "../cpu.h"
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

void pool_forward_row(const Layer& l, const float* xr, float* zr, int32_t* ar, const Epilogue& e, float m) {
  const size_t out = l.out.size();
  const int C = l.in.c, H = l.in.h, W = l.in.w, Ho = l.out.h, Wo = l.out.w;
  const bool mx = l.kind == LayerKind::MaxPool;
  const float full = static_cast<float>(l.win.kh * l.win.kw);
  const Window& w = l.win;
  // Windows that tile the input without padding (2×2 stride 2, the usual case): no clipping.
  const bool tiled = w.sh == w.kh && w.sw == w.kw && !w.pt && !w.pl && !w.pb && !w.pr;
  if (tiled && w.kh == 2 && w.kw == 2) {
    const PoolKernels& k = kernels().pool;  // the path's 2×2 kernels (pool_kernels.h): the same bits
    for (int c = 0; c < C; ++c) {
      const float* plane = xr + static_cast<size_t>(c) * H * W;
      for (int y = 0; y < Ho; ++y) {
        const float* a = plane + static_cast<size_t>(2 * y) * W;
        float* o = zr + (static_cast<size_t>(c) * Ho + y) * Wo;
        if (mx && ar)
          k.max2x2_arg(a, a + W, o, ar + (static_cast<size_t>(c) * Ho + y) * Wo, Wo, c * H * W + 2 * y * W, W);
        else if (mx)
          k.max2x2(a, a + W, o, Wo);
        else
          k.avg2x2(a, a + W, o, Wo);
      }
    }
  } else if (tiled) {
    const int kh = w.kh, kw = w.kw;
    for (int c = 0; c < C; ++c) {
      const float* plane = xr + static_cast<size_t>(c) * H * W;
      for (int y = 0; y < Ho; ++y)
        for (int xo = 0; xo < Wo; ++xo) {
          const size_t o = (static_cast<size_t>(c) * Ho + y) * Wo + xo;
          const int u0 = y * kh, v0 = xo * kw;
          if (mx) {
            int best = u0 * W + v0;
            float bv = plane[best];
            for (int u = u0; u < u0 + kh; ++u)
              for (int v = v0; v < v0 + kw; ++v)
                if (plane[u * W + v] > bv) bv = plane[best = u * W + v];
            zr[o] = bv;
            if (ar) ar[o] = c * H * W + best;
          } else {
            float sum = 0.0f;
            for (int u = u0; u < u0 + kh; ++u)
              for (int v = v0; v < v0 + kw; ++v) sum += plane[u * W + v];
            zr[o] = sum / full;
          }
        }
    }
  } else {
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
  }
  if (!epilogue_identity(e, m)) epilogue_block(zr, 1, static_cast<int>(out), out, e, m);
}

void pool_forward(const Layer& l, const float* x, size_t n, float* z, int32_t* arg, const Epilogue& e, float m) {
  const size_t in = l.in.size(), out = l.out.size();
  pool().parallel_for(n, 4, [&](size_t rb, size_t re) {
    for (size_t r = rb; r < re; ++r) pool_forward_row(l, x + r * in, z + r * out, arg ? arg + r * out : nullptr, e, m);
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

void pool_backward_act(const Layer& l, const float* g, const int32_t* arg, size_t n, float* dx, const float* a,
                       const Epilogue& e, float m) {
  const Window& w = l.win;
  const bool disjoint = l.kind == LayerKind::MaxPool && w.sh >= w.kh && w.sw >= w.kw;
  if (!disjoint) {
    pool_backward(l, g, arg, n, dx);
    pool().parallel_for(n, 4, [&](size_t rb, size_t re) {
      epilogue_backward(a + rb * l.in.size(), dx + rb * l.in.size(), (re - rb) * l.in.size(), e, m);
    });
    return;
  }
  require(arg, "ERR_ARGUMENT", "max-pool backward needs the forward pass's argmax");
  const size_t in = l.in.size(), out = l.out.size();
  const Epilogue ev = e;  // by value: the stores below cannot alias it
  const float mv = m;
  pool().parallel_for(n, 4, [&](size_t rb, size_t re) {
    for (size_t r = rb; r < re; ++r) {
      float* __restrict dr = dx + r * in;
      const float* __restrict gr = g + r * out;
      const float* __restrict ar = a + r * in;
      const int32_t* __restrict xr = arg + r * out;
      std::fill(dr, dr + in, 0.0f);  // = the activation backward of these zeros (m, pre > 0)
      // each cell in at most one window: its sum is 0 + g (as pool_backward's +=)
      if (ev.relu && ev.pre == 1.0f)
        for (size_t o = 0; o < out; ++o) {
          const int32_t i = xr[o];
          const float v = (0.0f + gr[o]) * mv;
          dr[i] = ar[i] > 0.0f ? v : 0.0f;
        }
      else
        for (size_t o = 0; o < out; ++o) dr[xr[o]] = epilogue_backward_one(ar[xr[o]], 0.0f + gr[o], ev, mv);
    }
  });
}

}  // namespace nrem
