// Kernel entry points of the CUDA backend (host API, plain C++17). The CPU reference of each
// is the core code named beside it; the maths is in the header comment of the .cu file.
// All arrays are host memory, row-major; each call uploads what it needs, runs on the first
// usable device, downloads the result and synchronises before returning. `check` (may be
// empty) is called between chunks of work and may throw (ERR_ABORTED) to stop the call.
#pragma once
#include <cstdint>
#include <functional>
#include <vector>

#include "cuda_api.h"

namespace nrem::cuda {

using CheckFn = std::function<void(double done, double total)>;

// Loss heads of the fused attack loops (native/cuda/mlp.cu):
//   SquaredError:  L = ½ Σ_j (a_L,j − y_j)²         g = (a_L − y) ⊙ out'(z_L)
//   CrossEntropy:  L = −log softmax(z_L / T)_label   g = (softmax(z_L / T) − y) / T
// with y the one-hot label; T = the network's temperature for softmax output, else 1.
enum class GradLoss { SquaredError = 0, CrossEntropy = 1 };

// Batched test-mode forward pass, a_L of n rows into out (n × nL).       CPU: network.cc forward
void forward(const NetView& net, const float* X, size_t n, float* out);

// dLoss/dx for n rows (dX: n × n0); out (n × nL, may be null) receives a_L, loss (n, may be
// null) the per-row loss.                                                 CPU: backprop.cc backward
void input_gradient(const NetView& net, const float* X, size_t n, const int32_t* labels, GradLoss loss,
                    float* dX, float* out, float* loss_values);

// Vector-Jacobian products, k per row: G (n × k × nL) holds dLoss/dz_L for each of k heads
// of each row; dX (n × k × n0) receives G·∂z_L/∂x. With G = the one-hot rows e_c this is the
// Jacobian of the logits (DeepFool, JSMA). out (n × nL, may be null) receives a_L.
void backward_input(const NetView& net, const float* X, size_t n, const float* G, int k, float* dX, float* out);

// Jacobian of the logits z_L (of_logits) or of the outputs a_L: J (n × nL × n0).
void jacobian(const NetView& net, const float* X, size_t n, bool of_logits, float* J, float* out);

// L∞ projected gradient descent (FGSM = one step from x, no random start):
//   x_0 = clip(x + U(−eps, eps)) if random_start (rng stream kStreamAttack, key (row, i)) else x
//   x_(t+1) = clip(Π_eps(x_t + step · sign(∇_x L(x_t, label))))   (− for targeted)
// clip to [lo, hi]; Π_eps projects onto the L∞ ball of radius eps around x. adv: n × n0.
struct PgdOptions {
  GradLoss loss = GradLoss::CrossEntropy;
  float eps = 0.1f, step = 0.01f, lo = 0.0f, hi = 1.0f;
  int iterations = 40;
  bool random_start = false;
  bool targeted = false;          // labels are targets: descend instead of ascend
  uint64_t seed = 0;
};
void pgd(const NetView& net, const float* X, size_t n, const int32_t* labels, const PgdOptions& opt, float* adv,
         const CheckFn& check);

// FGSM at several epsilons from one gradient: predicted (E × n) receives argmax a_L of
// clip(x + eps_e · sign(∇_x L(x, label))). Optional adv (E × n × n0) receives the images.
void fgsm_sweep(const NetView& net, const float* X, size_t n, const int32_t* labels, GradLoss loss,
                const std::vector<float>& eps, float lo, float hi, int32_t* predicted, float* adv);

}  // namespace nrem::cuda
