#include "network.h"

#include <algorithm>
#include <cmath>
#include <memory>

#include "gemm.h"
#include "thread_pool.h"

namespace nrem {

void NetView::validate() const {
  require(sizes.size() >= 2, "ERR_SHAPE", "a network needs at least an input and an output layer");
  for (size_t i = 0; i < sizes.size(); ++i)
    require(sizes[i] > 0, "ERR_SHAPE", "layer " + std::to_string(i) + " has size " + std::to_string(sizes[i]));
  require(W.size() == sizes.size() - 1, "ERR_SHAPE", "expected one weight matrix per layer");
  require(b.size() == sizes.size() - 1, "ERR_SHAPE", "expected one bias entry per layer");
  for (auto* w : W) require(w != nullptr, "ERR_SHAPE", "missing weight matrix");
  require(std::isfinite(temperature) && temperature > 0, "ERR_VALUE", "temperature must be a positive number");
  require(std::isfinite(hidden_scale) && hidden_scale > 0, "ERR_VALUE", "hidden_scale must be a positive number");
}

void output_rows(float* a, size_t n, int m, OutputAct act, float temperature) {
  if (act == OutputAct::Linear) return;
  pool().parallel_for(n, 16, [&](size_t b, size_t e) {
    for (size_t r = b; r < e; ++r) {
      float* row = a + r * m;
      if (act == OutputAct::Relu) {
        for (int j = 0; j < m; ++j) row[j] = row[j] > 0.0f ? row[j] : 0.0f;
        continue;
      }
      float mx = row[0] / temperature;
      for (int j = 1; j < m; ++j) mx = std::max(mx, row[j] / temperature);
      float s = 0.0f;
      for (int j = 0; j < m; ++j) s += (row[j] = std::exp(row[j] / temperature - mx));
      for (int j = 0; j < m; ++j) row[j] /= s;
    }
  });
}

void hidden_relu_block(float* __restrict z, int rows, int cols, size_t ld, float scale) {
  for (int r = 0; r < rows; ++r) {
    float* __restrict row = z + r * ld;
    for (int j = 0; j < cols; ++j) row[j] = row[j] > 0.0f ? row[j] * scale : 0.0f;
  }
}

// Rows are processed in chunks of kChunk so that the two intermediate buffers stay small
// and are reused (per thread, grow-only) instead of being allocated and page-faulted on
// every call: the attacks call forward() hundreds of times per sweep. Each row's result
// does not depend on the chunking (GEMM sums every entry over K in a fixed order).
namespace {
constexpr size_t kChunk = 2048;

float* scratch(int which, size_t count) {
  thread_local std::unique_ptr<float[]> buf[2];
  thread_local size_t cap[2] = {0, 0};
  if (cap[which] < count) {
    buf[which].reset(new float[count]);
    cap[which] = count;
  }
  return buf[which].get();
}
}  // namespace

void forward(const NetView& net, const float* X, size_t n, float* out, float* const* layer_out) {
  const int L = net.layers();
  int widest = 0;
  for (int l = 1; l < L; ++l) widest = std::max(widest, net.sizes[l]);
  for (size_t r0 = 0; r0 < n; r0 += kChunk) {
    const size_t rows = std::min(kChunk, n - r0);
    const float* in = X + r0 * net.inputs();
    for (int l = 1; l <= L; ++l) {
      const int m = net.sizes[l], k = net.sizes[l - 1];
      float* z;
      if (l == L)
        z = out + r0 * m;
      else if (layer_out && layer_out[l - 1])
        z = layer_out[l - 1] + r0 * m;
      else
        z = scratch(l & 1, kChunk * static_cast<size_t>(widest));
      if (net.b[l - 1]) {
        for (size_t r = 0; r < rows; ++r) std::copy(net.b[l - 1], net.b[l - 1] + m, z + r * m);
      }
      // Hidden layers: the ReLU on each block of z as soon as the GEMM has computed it.
      const float scale = net.hidden_scale;
      const GemmEpilogue relu = [z, m, scale](int i0, int bm, int j0, int bn) {
        hidden_relu_block(z + static_cast<size_t>(i0) * m + j0, bm, bn, static_cast<size_t>(m), scale);
      };
      sgemm(false, true, static_cast<int>(rows), m, k, 1.0f, in, k, net.W[l - 1], k,
            net.b[l - 1] ? 1.0f : 0.0f, z, m, l < L ? &relu : nullptr);
      if (l == L) output_rows(z, rows, m, net.out, net.temperature);
      if (l == L && layer_out && layer_out[L - 1] && layer_out[L - 1] != out)
        std::copy(z, z + rows * m, layer_out[L - 1] + r0 * m);
      in = z;
    }
  }
}

void argmax_rows(const float* Y, size_t n, int width, int32_t* labels) {
  for (size_t r = 0; r < n; ++r) {
    const float* row = Y + r * width;
    int best = 0;
    for (int j = 1; j < width; ++j)
      if (row[j] > row[best]) best = j;
    labels[r] = best;
  }
}

}  // namespace nrem
