// Forward pass that keeps what the backward pass needs, and the backward pass itself.
// Shared by training (weight gradients) and by the attacks (input gradients, Jacobian
// rows): one implementation of the chain rule in nrem.
//
//   forward (train or test mode):
//     a_0 = x;  z_l = W_l a_(l-1) + b_l
//     hidden:  a_l = m_l ⊙ relu(z_l) · s      m_l: dropout mask (train) or 1 (test),
//                                             s = hidden_scale in test mode for paper
//                                             dropout, 1/(1-p) in train mode for inverted
//     output:  a_L = out(z_L)
//   backward, given g = dLoss/dz_L (the loss-specific part is done by the caller, see
//   loss.h), for l = L..1:
//     dW_l = g_lᵀ a_(l-1)       db_l = Σ_rows g_l
//     g_(l-1) = (g_l W_l) ⊙ relu'(z_(l-1)) ⊙ m_(l-1) · s     (for l > 1)
//     dx = g_1 W_1                                            (for l = 1, if asked)
#pragma once
#include <vector>

#include "network.h"

namespace nrem {

struct DropoutSpec {
  float p = 0.0f;          // drop probability on hidden units (0 = none)
  bool inverted = false;   // inverted: scale kept units by 1/(1-p) while training
  uint64_t seed = 0;       // masks are rng_uniform(seed, kStreamDropout, step, row·width+unit)
  uint64_t step = 0;       // mini-batch counter, part of the random key
  uint64_t row0 = 0;       // global index of the batch's first row, part of the key
};

// Per-batch buffers. Reused across batches to avoid allocation.
struct ForwardCache {
  size_t n = 0;
  std::vector<std::vector<float>> a;     // a[0..L]: a[0] points to a copy-free view? no: a[0] unused, input kept by pointer
  std::vector<std::vector<float>> z;     // z[1..L] pre-activations
  std::vector<std::vector<uint8_t>> mask;  // mask[1..L-1] dropout masks (train mode only)
  const float* x = nullptr;              // the input batch (not copied)
  bool train = false;
  DropoutSpec dropout;
};

// Runs the forward pass and fills the cache. train=false is test mode (no dropout, the
// paper's hidden scale applied). Output activations are cache.a[L].
void forward_cached(const NetView& net, const float* X, size_t n, bool train, const DropoutSpec& dropout,
                    ForwardCache& cache);

// Backward pass from g = dLoss/dz_L (n × nL). Writes weight/bias gradients when dW/db are
// non-null (L entries each, entry may be nullptr; sized like W_l / b_l; overwritten, not
// accumulated) and the input gradient when dX is non-null (n × n0). g is overwritten.
void backward(const NetView& net, ForwardCache& cache, float* g, float* const* dW, float* const* db, float* dX);

}  // namespace nrem
