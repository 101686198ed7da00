// Input gradients of the attack losses, batched (rows are independent; the GEMMs of the
// forward/backward passes use every thread). Always test mode: no dropout.
//
// Every loss here is one that an untargeted attack INCREASES (a targeted one decreases it
// with y = the target). For one row with logits z = z_L, outputs a = out(z), label y, one-hot e_y:
//   Mse     the paper's loss on the output: ℓ = ½ Σ_k (a_k − e_y,k)²
//           ∂ℓ/∂z_k = (a_k − e_y,k) · out'(z_k)  (relu: 1[z_k > 0]; linear: 1;
//           softmax at T: ∂ℓ/∂z = (1/T) a ⊙ (r − ⟨a, r⟩), r = a − e_y;
//           log-softmax at T: ∂ℓ/∂z = (1/T) (r − p Σ_k r_k), p = exp(a))
//           — it vanishes where a ReLU output is clamped at 0 (experiments.md §2).
//   Ce      cross-entropy on the pre-activation logits: ℓ = logsumexp(z) − z_y
//           ∂ℓ/∂z = softmax(z) − e_y
//   Margin  the Carlini–Wagner margin: ℓ = max_{j≠y} z_j − z_y,  ∂ℓ/∂z = e_j* − e_y
//           (j* the first largest other logit)
// dX = (∂ℓ/∂z) · ∂z/∂x by backprop.h's backward().
#pragma once
#include <cstdint>

#include "attack_model.h"

namespace nrem {

enum class AttackLoss { Mse = 0, Ce = 1, Margin = 2 };

AttackLoss parse_attack_loss(const std::string& name);  // "mse" | "ce" | "margin"

// G (n × K) = ∂ℓ/∂z for each row; loss (optional, n) = ℓ.
void attack_loss_grad(AttackLoss kind, const Model& net, const float* Z, const float* A, const int32_t* y,
                      size_t n, float* G, float* loss);

// dX (n × d) = ∂ℓ/∂x; loss (optional, n); Z (optional, n × K) the logits. Processes
// `batch` rows at a time to bound memory.
void input_gradient(const AttackModel& m, AttackLoss kind, const float* X, const int32_t* y, size_t n, float* dX,
                    float* loss = nullptr, float* Z = nullptr, size_t batch = 1024);

}  // namespace nrem
