#include "network.h"

#include <algorithm>
#include <cmath>
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
      if (act == OutputAct::LogSoftmax) {  // z/T − max − log Σ exp(z/T − max)
        for (int j = 0; j < m; ++j) s += std::exp(row[j] / temperature - mx);
        const float ls = std::log(s);
        for (int j = 0; j < m; ++j) row[j] = (row[j] / temperature - mx) - ls;
        continue;
      }
      for (int j = 0; j < m; ++j) s += (row[j] = std::exp(row[j] / temperature - mx));
      for (int j = 0; j < m; ++j) row[j] /= s;
    }
  });
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
