#include "loss.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "thread_pool.h"

namespace nrem {

LossKind parse_loss(const std::string& name) {
  if (name == "mse") return LossKind::SquaredError;
  if (name == "mse-release") return LossKind::SquaredErrorRelease;
  if (name == "cross-entropy") return LossKind::SoftmaxCrossEntropy;
  throw Error("ERR_VALUE", "Unknown loss '" + name + "' (expected mse, mse-release or cross-entropy)");
}

double loss_grad(const Model& net, const ForwardCache& c, LossKind kind, const float* Y, float* g,
                 Reduction reduction, float* per_row) {
  const size_t n = c.n;
  const int m = net.outputs();
  require(c.a.size() == net.layers.size(), "ERR_ARGUMENT", "loss: the cache is not from this network");
  if (kind == LossKind::SoftmaxCrossEntropy)
    require(net.out != OutputAct::Relu, "ERR_VALUE",
            "cross-entropy needs a linear or softmax output layer (the network has a relu output)");
  const float* A = c.output();
  const float* Z = c.logits();
  const bool soft = net.out == OutputAct::Softmax || net.out == OutputAct::LogSoftmax;
  const float T = soft ? net.temperature : 1.0f;
  const float scale = reduction == Reduction::Mean && n > 0 ? 1.0f / static_cast<float>(n) : 1.0f;
  std::vector<double> rows(n);
  pool().parallel_for(n, 16, [&](size_t rb, size_t re) {
    for (size_t r = rb; r < re; ++r) {
      const float* a = A + r * m;
      const float* z = Z + r * m;
      const float* y = Y + r * m;
      float* gr = g + r * m;
      double lr = 0.0;
      if (kind != LossKind::SoftmaxCrossEntropy) {
        float dot = 0.0f, esum = 0.0f;
        for (int j = 0; j < m; ++j) {
          const float e = a[j] - y[j];
          lr += 0.5 * static_cast<double>(e) * e;
          dot += e * a[j];
          esum += e;
        }
        for (int j = 0; j < m; ++j) {
          const float e = a[j] - y[j];
          float d;
          switch (net.out) {
            case OutputAct::Relu: d = (z[j] > 0.0f || kind == LossKind::SquaredErrorRelease) ? e : 0.0f; break;
            case OutputAct::Linear: d = e; break;
            case OutputAct::LogSoftmax: d = (e - std::exp(a[j]) * esum) / T; break;
            default: d = a[j] * (e - dot) / T; break;
          }
          gr[j] = d * scale;
        }
      } else {
        float mx = z[0] / T;
        for (int j = 1; j < m; ++j) mx = std::max(mx, z[j] / T);
        double s = 0.0;
        for (int j = 0; j < m; ++j) s += std::exp(static_cast<double>(z[j] / T - mx));
        const double lse = std::log(s) + mx;
        float ysum = 0.0f;
        for (int j = 0; j < m; ++j) ysum += y[j];
        for (int j = 0; j < m; ++j) {
          const double logp = static_cast<double>(z[j] / T) - lse;
          if (y[j] != 0.0f) lr -= static_cast<double>(y[j]) * logp;
          const float p = static_cast<float>(std::exp(logp));
          gr[j] = (p * ysum - y[j]) / T * scale;
        }
      }
      rows[r] = lr;
      if (per_row) per_row[r] = static_cast<float>(lr);
    }
  });
  double total = 0.0;
  for (double v : rows) total += v;
  return reduction == Reduction::Mean && n > 0 ? total / static_cast<double>(n) : total;
}

}  // namespace nrem
