#include "dense.h"

#include <algorithm>

#include "../thread_pool.h"

namespace nrem {

void dense_forward(const Layer& l, const float* x, size_t n, float* z, const GemmEpilogue* epi) {
  const int m = static_cast<int>(l.out.size()), k = static_cast<int>(l.in.size());
  if (l.has_bias())
    for (size_t r = 0; r < n; ++r) std::copy(l.b.begin(), l.b.end(), z + r * m);
  sgemm(false, true, static_cast<int>(n), m, k, 1.0f, x, k, l.W.data(), k, l.has_bias() ? 1.0f : 0.0f, z, m, epi);
}

void dense_input_grad(const Layer& l, const float* g, size_t n, float* dx, const GemmEpilogue* epi) {
  const int m = static_cast<int>(l.out.size()), k = static_cast<int>(l.in.size());
  sgemm(false, false, static_cast<int>(n), k, m, 1.0f, g, m, l.W.data(), k, 0.0f, dx, k, epi);
}

void dense_weight_grad(const Layer& l, const float* g, const float* x, size_t n, float* dW, float* db) {
  const int m = static_cast<int>(l.out.size()), k = static_cast<int>(l.in.size());
  if (dW) sgemm(true, false, m, k, static_cast<int>(n), 1.0f, g, m, x, k, 0.0f, dW, k);
  if (db) {
    pool().parallel_for(static_cast<size_t>(m), 64, [&](size_t jb, size_t je) {
      for (size_t j = jb; j < je; ++j) db[j] = 0.0f;
      for (size_t r = 0; r < n; ++r) {
        const float* gr = g + r * m;
        for (size_t j = jb; j < je; ++j) db[j] += gr[j];
      }
    });
  }
}

}  // namespace nrem
