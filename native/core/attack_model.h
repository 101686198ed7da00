// The thin model interface every attack runs on (the Foolbox shape: one implementation of
// each attack over this interface, whatever the network or backend behind it).
//
//   logits(X)      z_L = W_L a_(L-1) + b_L          (n × K), test mode (no dropout; the
//                                                    paper's hidden scale applied)
//   predict(Z)     argmax_k out(z_L)_k, ties → lowest index: exactly the class the deployed
//                  network (and its ONNX export) outputs. With a ReLU output a row whose
//                  logits are all ≤ 0 is all zeros and is classified as class 0.
//   input_grad     dX = ∂Loss/∂x for a loss whose derivative w.r.t. z_L the caller fills
//                  in from (Z, A = out(Z)); the chain rule is backprop.h's backward().
//   class_grads    J[r, k, :] = ∂z_L[r, k]/∂x for a list of K' classes (Jacobian rows).
//
// Gaussian draws (random starts) come from the counter-based RNG through Box–Muller:
//   normal(seed, s, a, b) = sqrt(-2 ln(1-u1)) · cos(2π u2), u1 = U(seed,s,a,2b), u2 = U(seed,s,a,2b+1)
#pragma once
#include <cmath>
#include <functional>
#include <memory>
#include <vector>

#include "../cuda/device_model.h"
#include "backend.h"
#include "forward.h"
#include "gemm.h"
#include "backprop.h"
#include "model.h"
#include "rng.h"

namespace nrem {

inline float rng_normal(uint64_t seed, uint64_t stream, uint64_t a, uint64_t b) {
  float u1 = rng_uniform(seed, stream, a, 2 * b);
  float u2 = rng_uniform(seed, stream, a, 2 * b + 1);
  return std::sqrt(-2.0f * std::log(1.0f - u1)) * std::cos(6.28318530717958647f * u2);
}

// Progress of a long attack: called between batches/iterations; may throw (cancellation).
using Tick = std::function<void(double done, double total)>;

// dLoss/dz_L for a batch: fills G (n × K) from logits Z and outputs A (n × K).
using LossGradFn = std::function<void(const float* Z, const float* A, size_t n, float* G)>;

// Backend: Cpu runs on the core (backprop.h); Cuda (or Auto with a usable GPU) keeps the
// weights on the GPU and forwards logits/input_grad/multi_grad to cuda::DeviceModel, so
// every attack written on this interface runs on either backend unchanged. The CUDA
// model covers fully connected networks; for others Auto runs on the CPU (reason()) and
// Cuda is an ERR_BACKEND. The Model must outlive the AttackModel and not change meanwhile.
class AttackModel {
 public:
  explicit AttackModel(const Model& net, Backend backend = Backend::Cpu,
                       std::shared_ptr<cuda::DeviceModel> gpu = nullptr);
  // The GPU model when running on CUDA, else null.
  const cuda::DeviceModel* gpu() const { return gpu_.get(); }
  // Why Backend::Auto runs on the CPU (empty otherwise).
  const std::string& reason() const { return reason_; }
  int inputs() const { return net_.inputs(); }
  int outputs() const { return net_.outputs(); }
  const Model& net() const { return net_; }
  // Called between chunks of the heavy loops (forward, backward); may throw (cancellation).
  void set_check(Check c) { check_ = std::move(c); }

  void logits(const float* X, size_t n, float* Z) const;
  void outputs_from_logits(const float* Z, size_t n, float* A) const;   // A = out(Z)
  void predict_from_logits(const float* Z, size_t n, int32_t* pred) const;
  void predict(const float* X, size_t n, int32_t* pred) const;
  // Z (optional, n × K) receives the logits at X.
  void input_grad(const float* X, size_t n, const LossGradFn& dloss, float* dX, float* Z = nullptr) const;
  // J (n × classes.size() × d); Z (optional) the logits. One forward, one backward per class.
  void class_grads(const float* X, size_t n, const std::vector<int>& classes, float* J, float* Z = nullptr) const;
  // Several weighted sums from one forward: dXs[i][r] = Σ_k Cs[i][r,k] ∂z_k/∂x.
  void multi_grad(const float* X, size_t n, const std::vector<const float*>& Cs, const std::vector<float*>& dXs,
                  float* Z = nullptr) const;
  // Per-row weighted sum of class gradients: dX[r] = Σ_k C[r,k] ∂z_k/∂x (one backward).
  void weighted_grad(const float* X, size_t n, const float* C, float* dX, float* Z = nullptr) const;

 private:
  const Model& net_;
  std::shared_ptr<cuda::DeviceModel> gpu_;
  // The dense layers' weights (up to 16 M each), frozen for the model's life (gemm.h): the
  // own GEMM packs them once per attack call instead of in every forward and backward pass.
  std::vector<std::shared_ptr<FrozenOperand>> frozen_;
  std::string reason_;
  Check check_;
};

// The gradient calls keep a forward cache per thread (grow-only). Outside a scope, one above
// 64 MB is released after each call; while a GradCacheScope is open on the thread (the
// addon opens one per heavy call), it is kept until the scope closes — an attack's hundreds
// of gradient calls on batches whose cache is larger (a CNN's feature maps: ~70 MB for 500
// LeNet rows) then allocate and zero-fill it once, not per call. Scopes nest.
struct GradCacheScope {
  GradCacheScope();
  ~GradCacheScope();
  GradCacheScope(const GradCacheScope&) = delete;
  GradCacheScope& operator=(const GradCacheScope&) = delete;
};

}  // namespace nrem
