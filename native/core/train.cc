#include "train.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <memory>
#include <numeric>

#include "octave_rng.h"
#include "rng.h"
#include "thread_pool.h"

namespace nrem {

namespace {

size_t total_weights(const Model& net) {
  size_t t = 0;
  for (const Layer& l : net.layers) t += l.W.size();
  return t;
}

void require_dense(const Model& net, const char* what) {
  require(net.dense_chain(), "ERR_VALUE",
          std::string("the octave random streams reproduce the authors' ") + what +
              " of fully connected networks only (this network has " +
              (net.input_ops.empty() ? "conv or pooling layers)" : "input ops)"));
}

// W_l = (rand(n_l, n_(l−1)) − 0.5)·a·2 in double, after nnsetup's draws (train.h).
void init_weights_octave(Model& net, double a, uint64_t seed) {
  require_dense(net, "initialisation");
  OctaveRandom rng(seed);
  rng.skip_uniform(total_weights(net));
  for (Layer& l : net.layers) {
    float* w = l.W.data();
    const size_t rows = l.out.size(), cols = l.in.size();
    for (size_t j = 0; j < cols; ++j)
      for (size_t i = 0; i < rows; ++i) w[i * cols + j] = static_cast<float>((rng.uniform() - 0.5) * a * 2.0);
    std::fill(l.b.begin(), l.b.end(), 0.0f);
  }
}

}  // namespace

void init_weights(Model& net, InitKind kind, double scale_d, uint64_t seed, RandomStreams streams) {
  if (streams == RandomStreams::Octave) {
    require(kind == InitKind::Uniform, "ERR_VALUE",
            "the octave random streams reproduce the authors' uniform initialisation only (not he)");
    init_weights_octave(net, scale_d, seed);
    return;
  }
  const float scale = static_cast<float>(scale_d);
  int l = 0;  // 1-based index of the weight layer
  for (Layer& ly : net.layers) {
    if (!ly.weighted()) continue;
    ++l;
    float* w = ly.W.data();
    const size_t count = ly.W.size();
    const float he_std = std::sqrt(2.0f / static_cast<float>(ly.fan_in()));
    pool().parallel_for(count, 4096, [&](size_t b, size_t e) {
      for (size_t i = b; i < e; ++i) {
        if (kind == InitKind::Uniform) {
          w[i] = scale * (2.0f * rng_uniform(seed, kStreamInit, l, i) - 1.0f);
        } else {
          const double u1 = 1.0 - rng_uniform(seed, kStreamInit, l, 2 * i);  // (0, 1]
          const double u2 = rng_uniform(seed, kStreamInit, l, 2 * i + 1);
          const double g = std::sqrt(-2.0 * std::log(u1)) * std::cos(6.283185307179586 * u2);
          w[i] = static_cast<float>(g) * he_std;
        }
      }
    });
    std::fill(ly.b.begin(), ly.b.end(), 0.0f);
  }
}

namespace {

void shuffled_order(std::vector<uint32_t>& order, uint64_t seed, int epoch) {
  std::iota(order.begin(), order.end(), 0u);
  for (size_t i = order.size(); i-- > 1;) {
    size_t j = static_cast<size_t>(rng_uniform(seed, kStreamShuffle, epoch, i) * static_cast<double>(i + 1));
    if (j > i) j = i;
    std::swap(order[i], order[j]);
  }
}

// θ ← θ − (v ← μ·v + η·∇)
void sgd_update(float* theta, float* v, const float* grad, size_t count, float lr, float mu) {
  pool().parallel_for(count, 8192, [&](size_t b, size_t e) {
    for (size_t i = b; i < e; ++i) {
      v[i] = mu * v[i] + lr * grad[i];
      theta[i] -= v[i];
    }
  });
}

}  // namespace

namespace {
// The network's temperature while training (restored on every exit).
struct TemperatureScope {
  Model& net;
  float saved;
  TemperatureScope(Model& m, float t) : net(m), saved(m.temperature) {
    if (t > 0) m.temperature = t;
  }
  ~TemperatureScope() { net.temperature = saved; }
};
}  // namespace

TrainResult train(Model& net, const TrainData& data, const TrainConfig& cfg,
                  const std::function<void(const TrainProgress&)>& progress,
                  const std::function<void()>& check_cancel) {
  net.validate();
  const int L = static_cast<int>(net.layers.size());
  const int n0 = net.inputs(), nL = net.outputs();
  require(cfg.epochs >= 0, "ERR_VALUE", "epochs must be >= 0");
  require(cfg.batch >= 1, "ERR_VALUE", "batch size must be >= 1");
  require(std::isfinite(cfg.lr) && cfg.lr > 0, "ERR_VALUE", "learning rate must be a positive number");
  require(std::isfinite(cfg.momentum) && cfg.momentum >= 0 && cfg.momentum < 1, "ERR_VALUE",
          "momentum must be in [0, 1)");
  require(std::isfinite(cfg.lr_decay) && cfg.lr_decay > 0 && cfg.lr_decay <= 1, "ERR_VALUE",
          "learning-rate decay must be in (0, 1]");
  require(cfg.dropout >= 0 && cfg.dropout < 1, "ERR_VALUE", "dropout must be in [0, 1)");
  require(data.n > 0, "ERR_SHAPE", "no training rows");
  require(data.labels || data.targets, "ERR_ARGUMENT", "labels or targets are required");
  if (data.labels && !data.targets)
    for (size_t i = 0; i < data.n; ++i)
      require(data.labels[i] >= 0 && data.labels[i] < nL, "ERR_VALUE",
              "label " + std::to_string(data.labels[i]) + " at row " + std::to_string(i) + " is outside 0.." +
                  std::to_string(nL - 1));
  if (cfg.loss == LossKind::SoftmaxCrossEntropy)
    require(net.out != OutputAct::Relu, "ERR_VALUE",
            "cross-entropy needs a linear or softmax output layer (the network has a relu output)");
  require(std::isfinite(cfg.temperature) && cfg.temperature >= 0, "ERR_VALUE", "temperature must be a positive number");
  const bool octave = cfg.streams == RandomStreams::Octave;
  if (octave) require_dense(net, "training");
  TemperatureScope temperature(net, cfg.temperature);

  const size_t B = std::min(cfg.batch, data.n);
  const size_t batches = (data.n + B - 1) / B;
  // Gradients and velocities of the weight layers, in chain order.
  std::vector<Layer*> params;
  for (Layer& l : net.layers)
    if (l.weighted()) params.push_back(&l);
  const size_t P = params.size();
  std::vector<std::vector<float>> gW(P), gb(P), vW(P), vb(P);
  std::vector<float*> gWp(P), gbp(P, nullptr);
  for (size_t k = 0; k < P; ++k) {
    gW[k].resize(params[k]->W.size());
    vW[k].assign(params[k]->W.size(), 0.0f);
    gWp[k] = gW[k].data();
    if (params[k]->has_bias()) {
      gb[k].resize(params[k]->b.size());
      vb[k].assign(params[k]->b.size(), 0.0f);
      gbp[k] = gb[k].data();
    }
  }
  std::vector<float> xb(B * n0), yb(B * nL), g(B * nL);
  std::vector<uint32_t> order(data.n);
  // The authors' streams (train.h): one generator, continued after the init's draws.
  const bool drop = cfg.dropout > 0.0;
  std::unique_ptr<OctaveRandom> orng;
  std::vector<std::vector<uint8_t>> keep;
  std::vector<const uint8_t*> keep_ptr(L + 1, nullptr);  // by 1-based chain index
  if (octave) {
    orng = std::make_unique<OctaveRandom>(cfg.seed);
    orng->skip_uniform(2 * total_weights(net));
    if (drop) {
      keep.resize(L + 1);
      for (int l = 0; l < L; ++l)
        if (net.layers[l].act.dropout) {
          keep[l + 1].resize(B * net.layers[l].out.size());
          keep_ptr[l + 1] = keep[l + 1].data();
        }
    }
  }
  ForwardCache cache;
  TrainResult res;
  uint64_t step = 0;
  for (int e = 1; e <= cfg.epochs; ++e) {
    const auto t0 = std::chrono::steady_clock::now();
    if (cfg.shuffle && octave)
      orng->randperm(order.data(), data.n);
    else if (cfg.shuffle)
      shuffled_order(order, cfg.seed, e);
    else
      std::iota(order.begin(), order.end(), 0u);
    const float lr = cfg.lr * static_cast<float>(std::pow(static_cast<double>(cfg.lr_decay), e - 1));
    double loss_sum = 0.0;
    for (size_t bi = 0; bi < batches; ++bi) {
      if (check_cancel) check_cancel();
      const size_t r0 = bi * B, rows = std::min(B, data.n - r0);
      pool().parallel_for(rows, 8, [&](size_t b, size_t en) {
        for (size_t r = b; r < en; ++r) {
          const size_t src = order[r0 + r];
          std::copy(data.x + src * n0, data.x + (src + 1) * n0, xb.data() + r * n0);
          float* y = yb.data() + r * nL;
          if (data.targets) {
            std::copy(data.targets + src * nL, data.targets + (src + 1) * nL, y);
          } else {
            std::fill(y, y + nL, 0.0f);
            y[data.labels[src]] = 1.0f;
          }
        }
      });
      DropoutSpec ds;
      ds.p = static_cast<float>(cfg.dropout);
      ds.inverted = cfg.inverted;
      ds.seed = cfg.seed;
      ds.step = step;
      ds.row0 = r0;
      if (octave && drop) {
        // keep = rand(rows, n_l) > p per hidden layer, column-major draws
        for (int l = 1; l <= L; ++l) {
          if (!keep_ptr[l]) continue;
          const size_t m = net.layers[l - 1].out.size();
          uint8_t* k = keep[l].data();
          for (size_t j = 0; j < m; ++j)
            for (size_t r = 0; r < rows; ++r) k[r * m + j] = orng->uniform() > cfg.dropout ? 1 : 0;
        }
        ds.keep = keep_ptr.data();
      }
      forward_cached(net, xb.data(), rows, true, ds, cache);
      const double lv = loss_grad(net, cache, cfg.loss, yb.data(), g.data(), Reduction::Mean);
      require(std::isfinite(lv), "ERR_VALUE",
              "the loss became " + std::to_string(lv) + " at epoch " + std::to_string(e) + ", batch " +
                  std::to_string(bi + 1) + " (learning rate too large?)");
      loss_sum += lv;
      backward(net, cache, g.data(), gWp.data(), gbp.data(), nullptr);
      for (size_t k = 0; k < P; ++k) {
        sgd_update(params[k]->W.data(), vW[k].data(), gW[k].data(), gW[k].size(), lr, cfg.momentum);
        if (params[k]->has_bias())
          sgd_update(params[k]->b.data(), vb[k].data(), gb[k].data(), gb[k].size(), lr, cfg.momentum);
      }
      ++step;
      const bool last = bi + 1 == batches;
      if (progress && (last || (cfg.progress_every > 0 && (bi + 1) % cfg.progress_every == 0))) {
        TrainProgress p;
        p.epoch = e;
        p.batch = bi + 1;
        p.batches = batches;
        p.loss = loss_sum / static_cast<double>(bi + 1);
        p.epoch_end = last;
        progress(p);
      }
    }
    res.epoch_loss.push_back(loss_sum / static_cast<double>(batches));
    res.epoch_seconds.push_back(
        std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
  }
  res.steps = step;
  return res;
}

}  // namespace nrem
