// The MLP on the GPU: batched test-mode forward, loss heads, backward to the input.
// CPU references: backprop.cc (forward_cached / backward), gradients.cc (attack_loss_grad),
// attack_model.cc (the interface). Shapes: X n×d, z_l and a_l n×n_l, W_l n_l×n_(l-1).
//
//   forward:   z_l = a_(l-1) W_lᵀ + b_l                       (gemm, bias in the epilogue)
//              a_l = s · relu(z_l)  hidden,  s = hidden_scale (test mode, no dropout)
//              a_L = out(z_L):  relu | identity | softmax(z_L / T) (max-subtracted, as the CPU)
//   loss head (one thread per row, the CPU's arithmetic, doubles where it uses doubles):
//              Mse:    r = a − e_y, ℓ = ½ Σ r²; g = r ⊙ out'(z)  (softmax: a ⊙ (r − ⟨a,r⟩) / T)
//              Ce:     ℓ = logsumexp(z) − z_y,  g = softmax(z) − e_y
//              Margin: ℓ = z_j* − z_y, g = e_j* − e_y, j* the first largest other logit
//   backward:  g_(l-1) = (g_l W_l) ⊙ [a_(l-1) > 0] · s        (gemm, then mask)
//              dX = g_1 W_1
// GEMM sums run in a different order from the CPU's: gradients agree to ≈ 1e-5 relative.
#include <algorithm>
#include <cmath>
#include <mutex>

#include "../core/cancel.h"
#include "common.cuh"
#include "device_model.h"
#include "gemm.cuh"

namespace nrem::cuda {
namespace {

__global__ void hidden_act(const float* __restrict__ z, float* __restrict__ a, size_t count, float s) {
  for (size_t i = blockIdx.x * static_cast<size_t>(blockDim.x) + threadIdx.x; i < count;
       i += static_cast<size_t>(gridDim.x) * blockDim.x) {
    const float v = z[i];
    a[i] = v > 0.0f ? v * s : 0.0f;
  }
}

__global__ void relu_mask(float* __restrict__ g, const float* __restrict__ a, size_t count, float s) {
  for (size_t i = blockIdx.x * static_cast<size_t>(blockDim.x) + threadIdx.x; i < count;
       i += static_cast<size_t>(gridDim.x) * blockDim.x)
    g[i] = a[i] > 0.0f ? g[i] * s : 0.0f;
}

// One thread per row: a = out(z).
__global__ void output_act(const float* __restrict__ Z, float* __restrict__ A, int n, int K, int act, float T) {
  const int r = blockIdx.x * blockDim.x + threadIdx.x;
  if (r >= n) return;
  const float* z = Z + static_cast<size_t>(r) * K;
  float* a = A + static_cast<size_t>(r) * K;
  if (act == static_cast<int>(OutputAct::Relu)) {
    for (int k = 0; k < K; ++k) a[k] = z[k] > 0.0f ? z[k] : 0.0f;
  } else if (act == static_cast<int>(OutputAct::Linear)) {
    for (int k = 0; k < K; ++k) a[k] = z[k];
  } else {
    float mx = z[0] / T;
    for (int k = 1; k < K; ++k) mx = fmaxf(mx, z[k] / T);
    float s = 0.0f;
    for (int k = 0; k < K; ++k) s += (a[k] = expf(z[k] / T - mx));
    for (int k = 0; k < K; ++k) a[k] /= s;
  }
}

// One thread per row: G = dℓ/dz_L and ℓ (see the header).
__global__ void loss_head(int kind, const float* __restrict__ Z, const float* __restrict__ A,
                          const int32_t* __restrict__ y, int n, int K, int act, float T, float* __restrict__ G,
                          float* __restrict__ loss) {
  const int r = blockIdx.x * blockDim.x + threadIdx.x;
  if (r >= n) return;
  const float* z = Z + static_cast<size_t>(r) * K;
  const float* a = A + static_cast<size_t>(r) * K;
  float* g = G + static_cast<size_t>(r) * K;
  const int t = y[r];
  double l = 0.0;
  if (kind == 0) {  // Mse
    for (int k = 0; k < K; ++k) {
      const float rk = a[k] - (k == t ? 1.0f : 0.0f);
      l += 0.5 * rk * rk;
      g[k] = rk;
    }
    if (act == static_cast<int>(OutputAct::Relu)) {
      for (int k = 0; k < K; ++k) g[k] = z[k] > 0.0f ? g[k] : 0.0f;
    } else if (act == static_cast<int>(OutputAct::Softmax)) {
      float dot = 0.0f;
      for (int k = 0; k < K; ++k) dot += a[k] * g[k];
      for (int k = 0; k < K; ++k) g[k] = a[k] * (g[k] - dot) / T;
    }
  } else if (kind == 1) {  // Ce
    float mx = z[0];
    for (int k = 1; k < K; ++k) mx = fmaxf(mx, z[k]);
    double s = 0.0;
    for (int k = 0; k < K; ++k) s += exp(static_cast<double>(z[k] - mx));
    for (int k = 0; k < K; ++k)
      g[k] = static_cast<float>(exp(static_cast<double>(z[k] - mx)) / s) - (k == t ? 1.0f : 0.0f);
    l = log(s) + mx - z[t];
  } else {  // Margin
    int j = t == 0 ? 1 : 0;
    for (int k = 0; k < K; ++k)
      if (k != t && z[k] > z[j]) j = k;
    for (int k = 0; k < K; ++k) g[k] = 0.0f;
    g[j] = 1.0f;
    g[t] -= 1.0f;
    l = z[j] - z[t];
  }
  if (loss) loss[r] = static_cast<float>(l);
}

unsigned grid_for(size_t count) { return std::max(1u, std::min(cdiv(count, 256), 65535u * 4)); }

}  // namespace

struct DeviceModel::Impl {
  int device = 0;
  std::vector<int> sizes;
  OutputAct out = OutputAct::Relu;
  float temperature = 1.0f, hidden_scale = 1.0f;
  size_t chunk = 16384;
  std::vector<DeviceBuffer<float>> W, b;
  std::vector<bool> has_b;
  // workspace
  DeviceBuffer<float> x, dx, g0, g1, G, loss;
  std::vector<DeviceBuffer<float>> z, a;  // index 1..L
  DeviceBuffer<int32_t> y;
  std::unique_ptr<Stream> stream;
  std::mutex mu;

  int L() const { return static_cast<int>(sizes.size()) - 1; }
  int d() const { return sizes.front(); }
  int K() const { return sizes.back(); }
  cudaStream_t s() const { return stream->get(); }

  void select() const { NREM_CUDA_CHECK(cudaSetDevice(device)); }

  void reserve(size_t n) {
    const int Ln = L();
    size_t widest = 0;
    for (int l = 1; l < Ln; ++l) widest = std::max(widest, static_cast<size_t>(sizes[l]));
    x.resize(n * d());
    dx.resize(n * d());
    G.resize(n * K());
    loss.resize(n);
    y.resize(n);
    g0.resize(n * std::max<size_t>(widest, 1));
    g1.resize(n * std::max<size_t>(widest, 1));
    for (int l = 1; l <= Ln; ++l) {
      z[l].resize(n * sizes[l]);
      a[l].resize(n * sizes[l]);
    }
  }

  // x (n rows, on the device) → z[l], a[l].
  void forward(size_t n) {
    const float* in = x.get();
    for (int l = 1; l <= L(); ++l) {
      const int m = sizes[l], k = sizes[l - 1];
      gemm(true, static_cast<int>(n), m, k, in, k, W[l - 1].get(), k, z[l].get(), m,
           has_b[l - 1] ? b[l - 1].get() : nullptr, s());
      const size_t count = n * static_cast<size_t>(m);
      if (l < L()) {
        hidden_act<<<grid_for(count), 256, 0, s()>>>(z[l].get(), a[l].get(), count, hidden_scale);
        NREM_CUDA_LAUNCHED("hidden_act");
      } else {
        output_act<<<cdiv(n, 128), 128, 0, s()>>>(z[l].get(), a[l].get(), static_cast<int>(n), m,
                                                  static_cast<int>(out), temperature);
        NREM_CUDA_LAUNCHED("output_act");
      }
      in = a[l].get();
    }
  }

  // G (n × K, on the device) → dx.
  void backward(size_t n) {
    const float* cur = G.get();
    float* bufs[2] = {g0.get(), g1.get()};
    int which = 0;
    for (int l = L(); l >= 1; --l) {
      const int m = sizes[l], k = sizes[l - 1];
      if (l > 1) {
        float* next = bufs[which];
        which ^= 1;
        gemm(false, static_cast<int>(n), k, m, cur, m, W[l - 1].get(), k, next, k, nullptr, s());
        const size_t count = n * static_cast<size_t>(k);
        relu_mask<<<grid_for(count), 256, 0, s()>>>(next, a[l - 1].get(), count, hidden_scale);
        NREM_CUDA_LAUNCHED("relu_mask");
        cur = next;
      } else {
        gemm(false, static_cast<int>(n), k, m, cur, m, W[0].get(), k, dx.get(), k, nullptr, s());
      }
    }
  }

  // The call's cancel token (core/cancel.h) is checked before each chunk; on abort the
  // stream is drained first, so no copy into the caller's buffers is left in flight.
  template <typename Fn>
  void chunks(size_t n, Fn&& fn) {
    select();
    for (size_t r0 = 0; r0 < n; r0 += chunk) {
      if (cancel_requested()) {
        stream->sync();
        check_cancel();
      }
      const size_t c = std::min(chunk, n - r0);
      reserve(c);
      fn(r0, c);
    }
    stream->sync();
  }
};

DeviceModel::DeviceModel(const NetView& net, size_t chunk_rows) : impl_(new Impl) {
  net.validate();
  require_available();
  Impl& m = *impl_;
  m.stream = std::make_unique<Stream>();  // selects the first usable device
  NREM_CUDA_CHECK(cudaGetDevice(&m.device));
  m.sizes = net.sizes;
  m.out = net.out;
  m.temperature = net.temperature;
  m.hidden_scale = net.hidden_scale;
  m.chunk = std::max<size_t>(1, chunk_rows);
  const int L = net.layers();
  m.W.resize(L);
  m.b.resize(L);
  m.has_b.assign(L, false);
  m.z.resize(L + 1);
  m.a.resize(L + 1);
  for (int l = 0; l < L; ++l) {
    m.W[l].upload(net.W[l], net.weight_count(l + 1), m.s());
    if (net.b[l]) {
      m.b[l].upload(net.b[l], net.sizes[l + 1], m.s());
      m.has_b[l] = true;
    }
  }
  m.stream->sync();
}

DeviceModel::~DeviceModel() = default;

void DeviceModel::logits(const float* X, size_t n, float* Z) const {
  Impl& m = *impl_;
  std::lock_guard<std::mutex> lock(m.mu);
  const int d = m.d(), K = m.K();
  m.chunks(n, [&](size_t r0, size_t c) {
    m.x.upload(X + r0 * d, c * d, m.s());
    m.forward(c);
    m.z[m.L()].download(Z + r0 * K, c * K, m.s());
  });
}

void DeviceModel::input_grad(const float* X, size_t n, const HostLossGrad& dloss, float* dX, float* Z) const {
  Impl& m = *impl_;
  std::lock_guard<std::mutex> lock(m.mu);
  const int d = m.d(), K = m.K(), L = m.L();
  std::vector<float> hz, ha, hg;
  m.chunks(n, [&](size_t r0, size_t c) {
    m.x.upload(X + r0 * d, c * d, m.s());
    m.forward(c);
    hz.resize(c * K), ha.resize(c * K), hg.resize(c * K);
    m.z[L].download(hz.data(), c * K, m.s());
    m.a[L].download(ha.data(), c * K, m.s());
    m.stream->sync();
    dloss(hz.data(), ha.data(), c, hg.data());
    if (Z) std::copy(hz.begin(), hz.end(), Z + r0 * K);
    m.G.upload(hg.data(), c * K, m.s());
    m.backward(c);
    m.dx.download(dX + r0 * d, c * d, m.s());
  });
}

void DeviceModel::attack_input_grad(int loss_kind, const float* X, const int32_t* y, size_t n, float* dX,
                                    float* loss, float* Z) const {
  Impl& m = *impl_;
  require(loss_kind >= 0 && loss_kind <= 2, "ERR_VALUE", "unknown attack loss");
  std::lock_guard<std::mutex> lock(m.mu);
  const int d = m.d(), K = m.K(), L = m.L();
  m.chunks(n, [&](size_t r0, size_t c) {
    m.x.upload(X + r0 * d, c * d, m.s());
    m.y.upload(y + r0, c, m.s());
    m.forward(c);
    loss_head<<<cdiv(c, 128), 128, 0, m.s()>>>(loss_kind, m.z[L].get(), m.a[L].get(), m.y.get(), static_cast<int>(c),
                                               K, static_cast<int>(m.out), m.temperature, m.G.get(), m.loss.get());
    NREM_CUDA_LAUNCHED("loss_head");
    m.backward(c);
    m.dx.download(dX + r0 * d, c * d, m.s());
    if (loss) m.loss.download(loss + r0, c, m.s());
    if (Z) m.z[L].download(Z + r0 * K, c * K, m.s());
  });
}

void DeviceModel::multi_grad(const float* X, size_t n, const std::vector<const float*>& Cs,
                             const std::vector<float*>& dXs, float* Z) const {
  Impl& m = *impl_;
  require(Cs.size() == dXs.size(), "ERR_ARGUMENT", "multi_grad: one output per coefficient matrix");
  std::lock_guard<std::mutex> lock(m.mu);
  const int d = m.d(), K = m.K(), L = m.L();
  m.chunks(n, [&](size_t r0, size_t c) {
    m.x.upload(X + r0 * d, c * d, m.s());
    m.forward(c);
    if (Z) m.z[L].download(Z + r0 * K, c * K, m.s());
    for (size_t i = 0; i < Cs.size(); ++i) {
      m.G.upload(Cs[i] + r0 * K, c * K, m.s());
      m.backward(c);
      m.dx.download(dXs[i] + r0 * d, c * d, m.s());
    }
  });
}

}  // namespace nrem::cuda
