#include "conv.h"

#include <algorithm>
#include <climits>
#include <cstring>
#include <memory>
#include <vector>

#include "../cpu.h"
#include "../gemm.h"
#include "../thread_pool.h"
#include "conv_kernels.h"
#include "epilogue.h"
#include "pool.h"

namespace nrem {

namespace {

struct Geometry {
  int C, H, W, O, Ho, Wo, kh, kw, sh, sw, pt, pl, pb, pr;
  size_t K, P, in_size, out_size;
  explicit Geometry(const Layer& l)
      : C(l.in.c), H(l.in.h), W(l.in.w), O(l.out.c), Ho(l.out.h), Wo(l.out.w), kh(l.win.kh), kw(l.win.kw),
        sh(l.win.sh), sw(l.win.sw), pt(l.win.pt), pl(l.win.pl), pb(l.win.pb), pr(l.win.pr),
        K(static_cast<size_t>(l.in.c) * l.win.kh * l.win.kw), P(static_cast<size_t>(l.out.h) * l.out.w),
        in_size(l.in.size()), out_size(l.out.size()) {}
  // Output columns x whose input column x·sw + j − pl lies in [0, W): [lo, hi).
  void columns(int j, int& lo, int& hi) const {
    const int off = j - pl;  // v = x·sw + off
    lo = off >= 0 ? 0 : (-off + sw - 1) / sw;
    hi = W - 1 - off < 0 ? 0 : (W - 1 - off) / sw + 1;
    lo = std::min(lo, Wo);
    hi = std::min(std::max(hi, lo), Wo);
  }
};

// dst = src + b (plain) or relu(src + b)·m, by-value scalars and restrict pointers so that it vectorises.
void bias_add(const float* __restrict src, float* __restrict dst, size_t n, float b) {
  for (size_t p = 0; p < n; ++p) dst[p] = src[p] + b;
}
void bias_relu(const float* __restrict src, float* __restrict dst, size_t n, float b, float m) {
  for (size_t p = 0; p < n; ++p) dst[p] = std::max(src[p] + b, 0.0f) * m;  // branch-free: vectorises
}

// Grow-only per-thread scratch.
float* scratch(int which, size_t count) {
  thread_local std::unique_ptr<float[]> buf[3];
  thread_local size_t cap[3] = {0, 0, 0};
  if (cap[which] < count) {
    buf[which].reset(new float[count]);
    cap[which] = count;
  }
  return buf[which].get();
}

// col (K × q·P, row stride ld = q·P): columns [t·P, (t+1)·P) from image x_t.
void im2col(const Geometry& g, const float* x, size_t q, float* col) {
  const size_t ld = q * g.P;
  for (int c = 0; c < g.C; ++c)
    for (int i = 0; i < g.kh; ++i)
      for (int j = 0; j < g.kw; ++j) {
        int lo, hi;
        g.columns(j, lo, hi);
        const size_t k = (static_cast<size_t>(c) * g.kh + i) * g.kw + j;
        for (size_t t = 0; t < q; ++t) {
          const float* img = x + t * g.in_size + static_cast<size_t>(c) * g.H * g.W;
          float* dst = col + k * ld + t * g.P;
          for (int y = 0; y < g.Ho; ++y) {
            float* d = dst + static_cast<size_t>(y) * g.Wo;
            const int u = y * g.sh + i - g.pt;
            if (u < 0 || u >= g.H) {
              std::fill(d, d + g.Wo, 0.0f);
              continue;
            }
            const float* row = img + static_cast<size_t>(u) * g.W;
            const int off = j - g.pl;  // input column of output column xo: xo·sw + off
            if (lo > 0) std::fill(d, d + lo, 0.0f);  // (no call where nothing is padded)
            if (g.sw == 1) {
              const float* __restrict from = row + (lo + off);
              float* __restrict to = d + lo;
              for (int k = 0; k < hi - lo; ++k) to[k] = from[k];
            } else {
              for (int xo = lo; xo < hi; ++xo) d[xo] = row[xo * g.sw + off];
            }
            if (hi < g.Wo) std::fill(d + hi, d + g.Wo, 0.0f);
          }
        }
      }
}

// dx_t[c,u,v] += dcol[k, t·P + p] (x_t zeroed by the caller), in the order of im2col.
void col2im(const Geometry& g, const float* dcol, size_t q, float* dx) {
  const size_t ld = q * g.P;
  for (int c = 0; c < g.C; ++c)
    for (int i = 0; i < g.kh; ++i)
      for (int j = 0; j < g.kw; ++j) {
        int lo, hi;
        g.columns(j, lo, hi);
        const size_t k = (static_cast<size_t>(c) * g.kh + i) * g.kw + j;
        for (size_t t = 0; t < q; ++t) {
          float* img = dx + t * g.in_size + static_cast<size_t>(c) * g.H * g.W;
          const float* src = dcol + k * ld + t * g.P;
          for (int y = 0; y < g.Ho; ++y) {
            const int u = y * g.sh + i - g.pt;
            if (u < 0 || u >= g.H) continue;
            float* row = img + static_cast<size_t>(u) * g.W;
            const int off = j - g.pl;
            const float* s = src + static_cast<size_t>(y) * g.Wo;
            if (g.sw == 1) {  // contiguous: the same adds, vectorised
              float* __restrict to = row + off;
              const float* __restrict from = s;
              for (int xo = lo; xo < hi; ++xo) to[xo] += from[xo];
            } else {
              for (int xo = lo; xo < hi; ++xo) row[xo * g.sw + off] += s[xo];
            }
          }
        }
      }
}

// The direct kernel (conv_kernels.h) where its 8-column segments are at least half used:
// stride 1 and at least 4 output columns. A choice by the layer's shape only, so a layer
// always takes the same path whatever the machine or the thread count.
bool direct_conv(const Geometry& g) { return g.sh == 1 && g.sw == 1 && g.Wo >= 4; }

// With a pooling layer pl (fused forward): each image's conv output goes to a per-thread
// buffer and straight into pl's forward, so z holds pl's output.
void conv_forward_direct(const Layer& l, const Geometry& g, const float* x, size_t n, float* z, const Epilogue& e,
                         float m, const Layer* pl = nullptr, const Epilogue* pe = nullptr, float pm = 1.0f) {
  const int K = static_cast<int>(g.K), blocks = (g.O + kConvBlock - 1) / kConvBlock;
  std::vector<float> wp(static_cast<size_t>(blocks) * K * kConvBlock, 0.0f);
  for (int o = 0; o < g.O; ++o)
    for (int t = 0; t < K; ++t)
      wp[(static_cast<size_t>(o / kConvBlock) * K + t) * kConvBlock + o % kConvBlock] = l.W[static_cast<size_t>(o) * K + t];
  const int Hp = g.H + g.pt + g.pb, Wp = std::max(g.W + g.pl + g.pr, 8 * ((g.Wo + 7) / 8) + g.kw - 1);
  std::vector<int> tap(K);
  for (int c = 0, t = 0; c < g.C; ++c)
    for (int i = 0; i < g.kh; ++i)
      for (int j = 0; j < g.kw; ++j) tap[t++] = (c * Hp + i) * Wp + j;
  const bool relu = e.relu && e.pre == 1.0f, plain = e.pre == 1.0f && !e.relu && m == 1.0f;
  const size_t padded = static_cast<size_t>(g.C) * Hp * Wp;
  // Images per kernel call: enough that the row segments fill whole tiles of 3 (8 rows of
  // one segment: 3 images, 24 segments), where the group is not too large.
  const int xv = (g.Wo + 7) / 8, per = g.Ho * xv;
  const int group = per % 3 == 0 || per > 96 || 3 * std::max(padded, g.out_size) > static_cast<size_t>(INT_MAX) ? 1 : 3;
  const ConvKernels& k = kernels().conv;
  // A 2×2 max-pool after the layer in the kernel itself, where the path's kernel can
  // (conv_kernels.h) and nothing comes between: the layer's ReLU (or none) and a pool
  // without an activation of its own over even rows and columns.
  const bool fuse = pl && k.maxpool2x2 && pl->kind == LayerKind::MaxPool && pl->win.kh == 2 && pl->win.kw == 2 &&
                    pl->win.sh == 2 && pl->win.sw == 2 && !pl->win.pt && !pl->win.pl && !pl->win.pb && !pl->win.pr &&
                    g.Ho % 2 == 0 && g.Wo % 2 == 0 && (relu || plain) && epilogue_identity(*pe, pm) &&
                    static_cast<int>(g.K) <= k.maxpool2x2_taps;
  // The segment table, image by image: row by row, or (fused) rows 2Y and 2Y+1 of the same
  // columns side by side.
  std::vector<int> seg_in(static_cast<size_t>(group) * per), seg_out(seg_in.size()), lanes(seg_in.size()),
      seg_pool(fuse ? seg_in.size() : 0);
  const size_t pooled = pl ? pl->out.size() : 0;
  for (int i = 0, s = 0; i < group; ++i)
    for (int y = 0; y < g.Ho; y += fuse ? 2 : 1)
      for (int v = 0; v < xv; ++v)
        for (int dy = 0; dy < (fuse ? 2 : 1); ++dy, ++s) {
          seg_in[s] = static_cast<int>(i * padded) + (y + dy) * Wp + 8 * v;
          seg_out[s] = static_cast<int>(i * g.out_size) + (y + dy) * g.Wo + 8 * v;
          lanes[s] = std::min(8, g.Wo - 8 * v);
          if (fuse) seg_pool[s] = static_cast<int>(i * pooled) + (y / 2) * (g.Wo / 2) + 4 * v;
        }
  const size_t calls = (n + group - 1) / group;
  // Without padding, and rows wide enough for the kernel's 8-column reads, the images are
  // their own padded input (consecutive images: consecutive blocks of C·H·W): no copy.
  const bool in_place = Hp == g.H && Wp == g.W;
  pool().parallel_for(calls, 2, [&](size_t cb, size_t ce) {
    float* xp = in_place ? nullptr : scratch(0, group * padded);
    if (xp) std::fill(xp, xp + group * padded, 0.0f);  // the border stays zero; the interior is overwritten per image
    ConvDirect a{xp, g.C, Hp, Wp, g.kh, g.kw, g.O, g.Ho, g.Wo, tap.data(), wp.data(), l.has_bias() ? l.b.data() : nullptr,
                 nullptr, relu, relu ? m : 1.0f, seg_in.data(), seg_out.data(), lanes.data(), 0,
                 nullptr, fuse ? seg_pool.data() : nullptr};
    for (size_t c = cb; c < ce; ++c) {
      const size_t r0 = c * group, q = std::min<size_t>(group, n - r0);
      if (in_place)
        a.xp = x + r0 * g.in_size;
      else
        for (size_t i = 0; i < q; ++i) {
          const float* img = x + (r0 + i) * g.in_size;
          float* dst = xp + i * padded;
          for (int ch = 0; ch < g.C; ++ch)
            for (int u = 0; u < g.H; ++u)
              std::memcpy(dst + (static_cast<size_t>(ch) * Hp + u + g.pt) * Wp + g.pl,
                          img + (static_cast<size_t>(ch) * g.H + u) * g.W, sizeof(float) * g.W);
        }
      a.segs = static_cast<int>(q) * per;
      if (fuse) {
        a.zp = z + r0 * pooled;
        k.direct(a);
        continue;
      }
      a.z = pl ? scratch(1, group * g.out_size) : z + r0 * g.out_size;
      k.direct(a);
      for (size_t i = 0; i < q; ++i) {
        float* zi = a.z + i * g.out_size;
        if (!relu && !plain) epilogue_block(zi, 1, static_cast<int>(g.out_size), g.out_size, e, m);
        if (pl) pool_forward_row(*pl, zi, z + (r0 + i) * pl->out.size(), nullptr, *pe, pm);
      }
    }
  }, 16);
}

}  // namespace

size_t conv_group(const Layer& l) {
  const Geometry g(l);
  const size_t per = std::max<size_t>(1, g.K * g.P);
  return std::max<size_t>(1, std::min<size_t>(64, (64 * 1024) / per));
}

void conv_forward(const Layer& l, const float* x, size_t n, float* z, const Epilogue& e, float m) {
  if (n == 0) return;
  const Geometry g(l);
  if (direct_conv(g)) return conv_forward_direct(l, g, x, n, z, e, m);
  const size_t G = conv_group(l), groups = (n + G - 1) / G;
  auto run = [&](size_t gb, size_t ge) {
    for (size_t gi = gb; gi < ge; ++gi) {
      const size_t r0 = gi * G, q = std::min(G, n - r0), ld = q * g.P;
      float* col = scratch(0, g.K * ld);
      float* Z = scratch(1, static_cast<size_t>(g.O) * ld);
      im2col(g, x + r0 * g.in_size, q, col);
      sgemm(false, false, g.O, static_cast<int>(ld), static_cast<int>(g.K), 1.0f, l.W.data(), static_cast<int>(g.K), col,
            static_cast<int>(ld), 0.0f, Z, static_cast<int>(ld));
      // out[t][o][p] = m·act(pre·(Z[o][t·P + p] + b[o])) in one pass
      const bool plain = e.pre == 1.0f && !e.relu && m == 1.0f;
      for (size_t t = 0; t < q; ++t) {
        float* out = z + (r0 + t) * g.out_size;
        for (int o = 0; o < g.O; ++o) {
          const float* src = Z + static_cast<size_t>(o) * ld + t * g.P;
          float* dst = out + static_cast<size_t>(o) * g.P;
          const float bo = l.has_bias() ? l.b[o] : 0.0f;
          if (plain) {
            bias_add(src, dst, g.P, bo);
          } else if (e.relu && e.pre == 1.0f) {
            bias_relu(src, dst, g.P, bo, m);
          } else {
            bias_add(src, dst, g.P, bo);
            epilogue_block(dst, 1, static_cast<int>(g.P), g.P, e, m);
          }
        }
      }
    }
  };
  if (groups == 1)
    run(0, 1);  // one group: let the GEMM use the pool itself
  else
    pool().parallel_for(groups, 1, run);
}

bool conv_pool_forward(const Layer& l, const float* x, size_t n, const Epilogue& e, float m, const Layer& pl,
                       const Epilogue& pe, float pm, float* z) {
  const Geometry g(l);
  if (!direct_conv(g)) return false;
  if (n) conv_forward_direct(l, g, x, n, z, e, m, &pl, &pe, pm);
  return true;
}

void conv_backward(const Layer& l, const float* x, const float* gz, size_t n, float* dx, float* dW, float* db) {
  const Geometry g(l);
  const size_t G = conv_group(l), groups = (n + G - 1) / G;
  const size_t wsz = l.weight_count(), bsz = static_cast<size_t>(g.O);
  // Per-group partial weight and bias gradients, summed in group order afterwards.
  std::vector<float> partW(dW ? groups * wsz : 0), partB(db ? groups * bsz : 0);
  auto run = [&](size_t gb, size_t ge) {
    for (size_t gi = gb; gi < ge; ++gi) {
      const size_t r0 = gi * G, q = std::min(G, n - r0), ld = q * g.P;
      float* Gt = scratch(1, static_cast<size_t>(g.O) * ld);
      for (size_t t = 0; t < q; ++t)
        for (int o = 0; o < g.O; ++o)
          std::memcpy(Gt + static_cast<size_t>(o) * ld + t * g.P, gz + (r0 + t) * g.out_size + static_cast<size_t>(o) * g.P,
                      sizeof(float) * g.P);
      if (dW) {
        float* col = scratch(0, g.K * ld);
        im2col(g, x + r0 * g.in_size, q, col);
        sgemm(false, true, g.O, static_cast<int>(g.K), static_cast<int>(ld), 1.0f, Gt, static_cast<int>(ld), col,
              static_cast<int>(ld), 0.0f, partW.data() + gi * wsz, static_cast<int>(g.K));
      }
      if (db) {
        // Each channel's sum in ascending p, 8 channels' chains side by side (the adds of
        // one chain wait on each other; 8 independent ones keep the adder busy).
        float* pb = partB.data() + gi * bsz;
        int o = 0;
        for (; o + 8 <= g.O; o += 8) {
          float s[8] = {0, 0, 0, 0, 0, 0, 0, 0};
          const float* row = Gt + static_cast<size_t>(o) * ld;
          for (size_t p = 0; p < ld; ++p)
            for (int c = 0; c < 8; ++c) s[c] += row[c * ld + p];
          for (int c = 0; c < 8; ++c) pb[o + c] = s[c];
        }
        for (; o < g.O; ++o) {
          const float* row = Gt + static_cast<size_t>(o) * ld;
          float s = 0.0f;
          for (size_t p = 0; p < ld; ++p) s += row[p];
          pb[o] = s;
        }
      }
      if (dx) {
        float* dcol = scratch(2, g.K * ld);
        sgemm(true, false, static_cast<int>(g.K), static_cast<int>(ld), g.O, 1.0f, l.W.data(), static_cast<int>(g.K), Gt,
              static_cast<int>(ld), 0.0f, dcol, static_cast<int>(ld));
        float* d = dx + r0 * g.in_size;
        std::fill(d, d + q * g.in_size, 0.0f);
        col2im(g, dcol, q, d);
      }
    }
  };
  if (groups == 1)
    run(0, 1);
  else
    pool().parallel_for(groups, 1, run);
  if (dW)
    pool().parallel_for(wsz, 1024, [&](size_t b, size_t e) {
      for (size_t i = b; i < e; ++i) {
        float s = 0.0f;
        for (size_t gi = 0; gi < groups; ++gi) s += partW[gi * wsz + i];
        dW[i] = s;
      }
    });
  if (db)
    for (size_t o = 0; o < bsz; ++o) {
      float s = 0.0f;
      for (size_t gi = 0; gi < groups; ++gi) s += partB[gi * bsz + o];
      db[o] = s;
    }
}

}  // namespace nrem
