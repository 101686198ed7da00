// Forward pass with cache and backward pass: see backprop.h for the maths.
#include "backprop.h"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "forward.h"
#include "gemm.h"
#include "layers/conv.h"
#include "layers/dense.h"
#include "layers/epilogue.h"
#include "layers/pool.h"
#include "rng.h"
#include "thread_pool.h"

namespace nrem {

namespace {
template <class T>
T* sized(std::vector<T>& v, size_t count) {
  if (v.size() < count) v.resize(count);
  return v.data();
}

// The dropout layer's mask and activation on z (n × m) in place:
//   a = keep ? m·act(pre·z) : 0, keep drawn from the key of backprop.h (or given).
void dropout_epilogue(const Layer& ly, int l1, const DropoutSpec& dropout, float mult, float* z, uint8_t* mk, size_t n) {
  const int m = static_cast<int>(ly.out.size());
  const float p = dropout.p, pre = ly.act.pre;
  const uint64_t key_a = dropout.step * 256 + static_cast<uint64_t>(l1);
  const uint64_t seed = dropout.seed, row0 = dropout.row0;  // locals: the uint8 stores may alias
  const uint8_t* given = dropout.keep ? dropout.keep[l1] : nullptr;
  const uint64_t thr = static_cast<uint64_t>(std::ceil(static_cast<double>(p) * 16777216.0));
  pool().parallel_for(n, 8, [&](size_t rb, size_t re) {
    for (size_t r = rb; r < re; ++r) {
      float* ar = z + r * m;
      uint8_t* mr = mk + r * m;
      const uint64_t base = (row0 + r) * static_cast<uint64_t>(m);
      // two simple loops so that the compiler vectorises the 64-bit hashing
      // u >= p  ⟺  (bits >> 40) >= ceil(p·2^24), u = (bits >> 40)·2^-24 (rng.h)
      const uint64_t width = static_cast<uint64_t>(m), sd = seed, ka = key_a, th = thr;
      if (given)
        std::copy(given + r * m, given + (r + 1) * m, mr);
      else
        for (uint64_t j = 0; j < width; ++j)
          mr[j] = static_cast<uint8_t>((rng_bits(sd, kStreamDropout, ka, base + j) >> 40) >= th);
      if (pre != 1.0f)
        for (int j = 0; j < m; ++j) ar[j] = pre * ar[j];
      for (int j = 0; j < m; ++j) {
        const float x = ar[j];
        ar[j] = keep_if((mr[j] != 0) & (x > 0.0f), x * mult);
      }
    }
  });
}
// epilogue_backward on n rows of `width`, the rows shared out to the pool (element-wise:
// the same values whatever the split).
void epilogue_backward_rows(const float* a, float* g, size_t n, size_t width, const Epilogue& e, float m) {
  pool().parallel_for(n, std::max<size_t>(1, 16384 / std::max<size_t>(1, width)), [&](size_t rb, size_t re) {
    epilogue_backward(a + rb * width, g + rb * width, (re - rb) * width, e, m);
  });
}
}  // namespace

void forward_cached(const Model& net, const float* X, size_t n, bool train, const DropoutSpec& dropout,
                    ForwardCache& c) {
  const int L = static_cast<int>(net.layers.size());
  require(dropout.p >= 0.0f && dropout.p < 1.0f, "ERR_VALUE", "dropout must be in [0, 1)");
  c.n = n;
  c.x = X;
  c.train = train;
  c.dropout = dropout;
  const bool drop = train && dropout.p > 0.0f;
  c.drop_mult = train ? (drop && dropout.inverted ? 1.0f / (1.0f - dropout.p) : 1.0f) : net.hidden_scale;
  c.a.resize(L);
  c.arg.resize(L);
  c.mask.resize(L);
  if (!net.input_ops.empty()) {
    const size_t d = net.input.size();
    sized(c.x0, n * d);
    c.x0.resize(n * d);
    std::memcpy(c.x0.data(), X, sizeof(float) * n * d);
    apply_input_ops(net, c.x0.data(), n);
  } else {
    c.x0.clear();
  }
  for (int l = 0; l < L; ++l) {
    const Layer& ly = net.layers[l];
    const bool last = l == L - 1;
    const int m = static_cast<int>(ly.out.size());
    const size_t sz = n * static_cast<size_t>(m);
    const float* in = c.input(l);
    float* a = sized(c.a[l], sz);
    float* z = last ? sized(c.z, sz) : a;
    const float mult = epilogue_mult(ly.act, c.drop_mult);
    const bool masked = drop && ly.act.dropout;
    const Epilogue e = ly.act;
    switch (ly.kind) {
      case LayerKind::Dense: {
        // Without a mask: m·act(pre·z) on each GEMM tile while it is in cache.
        const GemmEpilogue act = [z, m, e, mult](int i0, int bm, int j0, int bn) {
          epilogue_block(z + static_cast<size_t>(i0) * m + j0, bm, bn, static_cast<size_t>(m), e, mult);
        };
        dense_forward(ly, in, n, z, masked || epilogue_identity(e, mult) ? nullptr : &act);
        break;
      }
      case LayerKind::Conv: conv_forward(ly, in, n, z, e, mult); break;
      default: {
        int32_t* arg = ly.kind == LayerKind::MaxPool ? sized(c.arg[l], sz) : nullptr;
        pool_forward(ly, in, n, z, arg, e, mult);
        break;
      }
    }
    if (masked) dropout_epilogue(ly, l + 1, dropout, mult, z, sized(c.mask[l], sz), n);
    if (last) {
      std::copy(z, z + sz, a);
      output_rows(a, n, m, net.out, net.temperature);
    }
  }
}

void backward(const Model& net, ForwardCache& c, float* g, float* const* dW, float* const* db, float* dX) {
  const int L = static_cast<int>(net.layers.size());
  const size_t n = c.n;
  require(static_cast<int>(c.a.size()) == L, "ERR_ARGUMENT", "backward: the cache is not from this network");
  size_t widest = 0;
  for (int l = 1; l < L; ++l) widest = std::max(widest, net.layers[l].in.size());
  sized(c.g0, n * widest);
  sized(c.g1, n * widest);
  const Layer& top = net.layers[L - 1];
  if (top.act.pre != 1.0f) {
    const float pre = top.act.pre;
    const size_t cnt = n * top.out.size();
    for (size_t i = 0; i < cnt; ++i) g[i] = g[i] * pre;
  }
  int k = net.weighted_layers();
  float* cur = g;
  for (int l = L - 1; l >= 0; --l) {
    const Layer& ly = net.layers[l];
    const float* in = c.input(l);
    float* dWl = nullptr;
    float* dbl = nullptr;
    if (ly.weighted()) {
      --k;
      dWl = dW ? dW[k] : nullptr;
      dbl = db && ly.has_bias() ? db[k] : nullptr;
    }
    // Where ∂L/∂x_(l−1) goes, and the epilogue of layer l−1 it must pass back through.
    float* next = l > 0 ? ((cur == c.g0.data()) ? c.g1.data() : c.g0.data()) : dX;
    const Layer* prev = l > 0 ? &net.layers[l - 1] : nullptr;
    const float pm = prev ? epilogue_mult(prev->act, c.drop_mult) : 1.0f;
    const bool through = prev && !epilogue_identity(prev->act, pm);
    const float* pa = prev ? c.a[l - 1].data() : nullptr;
    switch (ly.kind) {
      case LayerKind::Dense: {
        dense_weight_grad(ly, cur, in, n, dWl, dbl);
        if (!next) break;
        // δ_(l−1) = (δ_l·W_l) ⊙ m·pre·[a_(l−1) > 0], the mask applied on each GEMM tile in cache.
        const int kin = static_cast<int>(ly.in.size());
        const Epilogue pe = prev ? prev->act : Epilogue{};
        const GemmEpilogue mask = [next, pa, kin, pe, pm](int i0, int bm, int j0, int bn) {
          for (int r = 0; r < bm; ++r) {
            const size_t at = static_cast<size_t>(i0 + r) * kin + j0;
            epilogue_backward(pa + at, next + at, static_cast<size_t>(bn), pe, pm);
          }
        };
        dense_input_grad(ly, cur, n, next, through ? &mask : nullptr);
        break;
      }
      case LayerKind::Conv:
        conv_backward(ly, in, cur, n, next, dWl, dbl);
        if (through) epilogue_backward_rows(pa, next, n, ly.in.size(), prev->act, pm);
        break;
      default:
        if (!next) break;
        if (through)
          pool_backward_act(ly, cur, ly.kind == LayerKind::MaxPool ? c.arg[l].data() : nullptr, n, next, pa, prev->act, pm);
        else
          pool_backward(ly, cur, ly.kind == LayerKind::MaxPool ? c.arg[l].data() : nullptr, n, next);
        break;
    }
    if (l > 0) cur = next;
  }
  if (dX) input_ops_backward(net, dX, n);
}

}  // namespace nrem
