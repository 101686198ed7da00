// Forward pass with cache and backward pass: see backprop.h for the maths.
#include "backprop.h"

#include <algorithm>
#include <cmath>

#include "gemm.h"
#include "rng.h"
#include "thread_pool.h"

namespace nrem {

namespace {
// Element-wise steps on a block (rows × cols at row stride ld), written as plain loops
// over restrict pointers and by-value scalars so that they vectorise (nothing can alias).
// a = s·relu(z)
void relu_block(const float* __restrict z, float* __restrict a, int rows, int cols, size_t ld, float s) {
  for (int r = 0; r < rows; ++r, z += ld, a += ld)
    for (int j = 0; j < cols; ++j) a[j] = z[j] > 0.0f ? z[j] * s : 0.0f;
}
// g = s·g where a > 0, else 0
void relu_mask_block(const float* __restrict a, float* __restrict g, int rows, int cols, size_t ld, float s) {
  for (int r = 0; r < rows; ++r, a += ld, g += ld)
    for (int j = 0; j < cols; ++j) g[j] = a[j] > 0.0f ? g[j] * s : 0.0f;
}
}  // namespace

void forward_cached(const NetView& net, const float* X, size_t n, bool train, const DropoutSpec& dropout,
                    ForwardCache& c) {
  const int L = net.layers();
  require(dropout.p >= 0.0f && dropout.p < 1.0f, "ERR_VALUE", "dropout must be in [0, 1)");
  c.n = n;
  c.x = X;
  c.train = train;
  c.dropout = dropout;
  const bool drop = train && dropout.p > 0.0f;
  c.hidden_mult = train ? (drop && dropout.inverted ? 1.0f / (1.0f - dropout.p) : 1.0f) : net.hidden_scale;
  c.a.resize(L + 1);
  c.z.resize(L + 1);
  c.mask.resize(L + 1);
  for (int l = 1; l <= L; ++l) {
    const int m = net.sizes[l], k = net.sizes[l - 1];
    const size_t sz = n * static_cast<size_t>(m);
    if (c.a[l].size() < sz) c.a[l].resize(sz);
    if (c.z[l].size() < sz) c.z[l].resize(sz);
    float* z = c.z[l].data();
    float* a = c.a[l].data();
    const float* in = c.input(l - 1);
    const float* b = net.b[l - 1];
    if (b)
      for (size_t r = 0; r < n; ++r) std::copy(b, b + m, z + r * m);
    if (l < L && !drop) {
      // a = h·relu(z) on each GEMM tile while it is in cache.
      const float s = c.hidden_mult;
      const GemmEpilogue act = [z, a, m, s](int i0, int bm, int j0, int bn) {
        const size_t at = static_cast<size_t>(i0) * m + j0;
        relu_block(z + at, a + at, bm, bn, static_cast<size_t>(m), s);
      };
      sgemm(false, true, static_cast<int>(n), m, k, 1.0f, in, k, net.W[l - 1], k, b ? 1.0f : 0.0f, z, m, &act);
      continue;
    }
    sgemm(false, true, static_cast<int>(n), m, k, 1.0f, in, k, net.W[l - 1], k, b ? 1.0f : 0.0f, z, m);
    if (l < L) {
      const float s = c.hidden_mult;
      uint8_t* mk = nullptr;
      if (drop) {
        if (c.mask[l].size() < sz) c.mask[l].resize(sz);
        mk = c.mask[l].data();
      }
      const float p = dropout.p;
      const uint64_t key_a = dropout.step * 256 + static_cast<uint64_t>(l);
      const uint64_t seed = dropout.seed, row0 = dropout.row0;  // locals: the uint8 stores may alias
      const uint8_t* given = drop && dropout.keep ? dropout.keep[l] : nullptr;
      const uint64_t thr = static_cast<uint64_t>(std::ceil(static_cast<double>(p) * 16777216.0));
      pool().parallel_for(n, 8, [&](size_t rb, size_t re) {
        for (size_t r = rb; r < re; ++r) {
          const float* zr = z + r * m;
          float* ar = a + r * m;
          if (mk) {
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
            for (int j = 0; j < m; ++j) ar[j] = mr[j] && zr[j] > 0.0f ? zr[j] * s : 0.0f;
          } else {
            for (int j = 0; j < m; ++j) ar[j] = zr[j] > 0.0f ? zr[j] * s : 0.0f;
          }
        }
      });
    } else {
      std::copy(z, z + sz, a);
      output_rows(a, n, m, net.out, net.temperature);
    }
  }
}

void backward(const NetView& net, ForwardCache& c, float* g, float* const* dW, float* const* db, float* dX) {
  const int L = net.layers();
  const size_t n = c.n;
  require(static_cast<int>(c.a.size()) == L + 1, "ERR_ARGUMENT", "backward: the cache is not from this network");
  size_t widest = 0;
  for (int l = 1; l < L; ++l) widest = std::max(widest, static_cast<size_t>(net.sizes[l]));
  if (c.g0.size() < n * widest) c.g0.resize(n * widest);
  if (c.g1.size() < n * widest) c.g1.resize(n * widest);
  float* cur = g;
  for (int l = L; l >= 1; --l) {
    const int m = net.sizes[l], k = net.sizes[l - 1];
    const float* in = c.input(l - 1);
    if (dW && dW[l - 1])
      sgemm(true, false, m, k, static_cast<int>(n), 1.0f, cur, m, in, k, 0.0f, dW[l - 1], k);
    if (db && db[l - 1]) {
      float* out = db[l - 1];
      const float* gc = cur;
      pool().parallel_for(static_cast<size_t>(m), 64, [&](size_t jb, size_t je) {
        for (size_t j = jb; j < je; ++j) out[j] = 0.0f;
        for (size_t r = 0; r < n; ++r) {
          const float* gr = gc + r * m;
          for (size_t j = jb; j < je; ++j) out[j] += gr[j];
        }
      });
    }
    if (l > 1) {
      float* next = (cur == c.g0.data()) ? c.g1.data() : c.g0.data();
      // δ_(l-1) = (δ_l·W_l) ⊙ h·[a_(l-1) > 0], the mask applied on each GEMM tile in cache.
      const float* a = c.a[l - 1].data();
      const float s = c.hidden_mult;
      const GemmEpilogue mask = [next, a, k, s](int i0, int bm, int j0, int bn) {
        const size_t at = static_cast<size_t>(i0) * k + j0;
        relu_mask_block(a + at, next + at, bm, bn, static_cast<size_t>(k), s);
      };
      sgemm(false, false, static_cast<int>(n), k, m, 1.0f, cur, m, net.W[l - 1], k, 0.0f, next, k, &mask);
      cur = next;
    } else if (dX) {
      sgemm(false, false, static_cast<int>(n), k, m, 1.0f, cur, m, net.W[0], k, 0.0f, dX, k);
    }
  }
}

}  // namespace nrem
