#include "gradients.h"

#include <algorithm>
#include <cmath>
#include <string>

namespace nrem {

AttackLoss parse_attack_loss(const std::string& name) {
  if (name == "mse") return AttackLoss::Mse;
  if (name == "ce") return AttackLoss::Ce;
  if (name == "margin") return AttackLoss::Margin;
  throw Error("ERR_VALUE", "Unknown attack loss '" + name + "' (expected mse, ce or margin)");
}

void attack_loss_grad(AttackLoss kind, const Model& net, const float* Z, const float* A, const int32_t* y,
                      size_t n, float* G, float* loss) {
  const int K = net.outputs();
  for (size_t r = 0; r < n; ++r) {
    const float* z = Z + r * K;
    const float* a = A + r * K;
    float* g = G + r * K;
    const int t = y[r];
    require(t >= 0 && t < K, "ERR_VALUE", "label " + std::to_string(t) + " at row " + std::to_string(r) +
                                              " is outside 0.." + std::to_string(K - 1));
    double l = 0.0;
    switch (kind) {
      case AttackLoss::Mse: {
        for (int k = 0; k < K; ++k) {
          float rk = a[k] - (k == t ? 1.0f : 0.0f);
          l += 0.5 * rk * rk;
          g[k] = rk;
        }
        if (net.out == OutputAct::Relu) {
          for (int k = 0; k < K; ++k) g[k] = z[k] > 0.0f ? g[k] : 0.0f;
        } else if (net.out == OutputAct::Softmax) {
          float dot = 0.0f;
          for (int k = 0; k < K; ++k) dot += a[k] * g[k];
          for (int k = 0; k < K; ++k) g[k] = a[k] * (g[k] - dot) / net.temperature;
        } else if (net.out == OutputAct::LogSoftmax) {
          float sum = 0.0f;
          for (int k = 0; k < K; ++k) sum += g[k];
          for (int k = 0; k < K; ++k) g[k] = (g[k] - std::exp(a[k]) * sum) / net.temperature;
        }
        break;
      }
      case AttackLoss::Ce: {
        float mx = z[0];
        for (int k = 1; k < K; ++k) mx = std::max(mx, z[k]);
        double s = 0.0;
        for (int k = 0; k < K; ++k) s += std::exp(static_cast<double>(z[k] - mx));
        for (int k = 0; k < K; ++k)
          g[k] = static_cast<float>(std::exp(static_cast<double>(z[k] - mx)) / s) - (k == t ? 1.0f : 0.0f);
        l = std::log(s) + mx - z[t];
        break;
      }
      case AttackLoss::Margin: {
        int j = t == 0 ? 1 : 0;
        for (int k = 0; k < K; ++k)
          if (k != t && z[k] > z[j]) j = k;
        std::fill(g, g + K, 0.0f);
        g[j] = 1.0f;
        g[t] -= 1.0f;
        l = z[j] - z[t];
        break;
      }
    }
    if (loss) loss[r] = static_cast<float>(l);
  }
}

static_assert(static_cast<int>(AttackLoss::Mse) == 0 && static_cast<int>(AttackLoss::Ce) == 1 &&
                  static_cast<int>(AttackLoss::Margin) == 2,
              "cuda::DeviceModel::attack_input_grad numbers the losses the same way");

void input_gradient(const AttackModel& m, AttackLoss kind, const float* X, const int32_t* y, size_t n, float* dX,
                    float* loss, float* Z, size_t batch) {
  const int d = m.inputs(), K = m.outputs();
  if (m.gpu()) {
    // The loss head runs on the device (no host round trip); labels are checked here as the
    // CPU head does. The device model chunks rows itself, so `batch` does not apply.
    for (size_t r = 0; r < n; ++r)
      require(y[r] >= 0 && y[r] < K, "ERR_VALUE", "label " + std::to_string(y[r]) + " at row " + std::to_string(r) +
                                                     " is outside 0.." + std::to_string(K - 1));
    return m.gpu()->attack_input_grad(static_cast<int>(kind), X, y, n, dX, loss, Z);
  }
  batch = std::max<size_t>(1, batch);
  for (size_t r0 = 0; r0 < n; r0 += batch) {
    const size_t b = std::min(batch, n - r0);
    const int32_t* yb = y + r0;
    float* lb = loss ? loss + r0 : nullptr;
    const Model& net = m.net();
    m.input_grad(
        X + r0 * d, b,
        [&](const float* z, const float* a, size_t rows, float* G) { attack_loss_grad(kind, net, z, a, yb, rows, G, lb); },
        dX + r0 * d, Z ? Z + r0 * K : nullptr);
  }
}

}  // namespace nrem
