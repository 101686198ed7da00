// Forward pass that keeps what the backward pass needs, and the backward pass itself.
// Shared by training (weight gradients) and by the attacks (input gradients, Jacobian
// rows): one implementation of the chain rule in nrem.
//
//   forward (train or test mode):
//     a_0 = x;  z_l = W_l a_(l-1) + b_l
//     hidden:  a_l = m_l ⊙ relu(z_l) · s      m_l: dropout mask (train) or 1 (test),
//                                             s = hidden_scale in test mode (1 - p for
//                                             paper dropout), 1/(1-p) in train mode for
//                                             inverted dropout, else 1
//     output:  a_L = out(z_L)                 relu | linear | softmax(z_L / T)
//   dropout mask (train mode, p > 0): unit j of row r of hidden layer l is kept iff
//     rng_uniform(seed, kStreamDropout, step·256 + l, (row0 + r)·n_l + j) >= p
//   — a pure function of the key, so masks do not depend on the thread count.
//   backward, given g = dLoss/dz_L (the loss-specific part is done by loss.h), l = L..1:
//     dW_l = g_lᵀ a_(l-1)       db_l = Σ_rows g_l   (rows summed in order)
//     g_(l-1) = (g_l W_l) ⊙ relu'(z_(l-1)) ⊙ m_(l-1) · s = (g_l W_l) ⊙ [a_(l-1) > 0] · s
//                                                          (for l > 1; s > 0)
//     dx = g_1 W_1                                         (for l = 1, if asked)
#pragma once
#include <cstdint>
#include <vector>

#include "network.h"

namespace nrem {

struct DropoutSpec {
  float p = 0.0f;          // drop probability on hidden units (0 = none)
  bool inverted = false;   // inverted: scale kept units by 1/(1-p) while training
  uint64_t seed = 0;       // masks: see the key in the header comment
  uint64_t step = 0;       // mini-batch counter, part of the random key
  uint64_t row0 = 0;       // global index of the batch's first row, part of the key
  // Masks drawn by the caller instead (train.cc with the Octave streams): keep[l] holds
  // n × n_l flags (1 = kept) for hidden layer l; keep[0] is unused.
  const uint8_t* const* keep = nullptr;
};

// Per-batch buffers. Reused across batches (vectors only grow) to avoid allocation.
struct ForwardCache {
  size_t n = 0;
  std::vector<std::vector<float>> a;       // a[1..L] activations (n × n_l); a[0] unused (input is x)
  std::vector<std::vector<float>> z;       // z[1..L] pre-activations (n × n_l); z[0] unused
  std::vector<std::vector<uint8_t>> mask;  // mask[1..L-1] dropout masks (train mode with p > 0 only)
  std::vector<float> g0, g1;               // scratch for the backward pass
  const float* x = nullptr;                // the input batch (not copied; must outlive backward)
  bool train = false;
  float hidden_mult = 1.0f;                // s of the header comment, as used by this pass
  DropoutSpec dropout;

  const float* input(int l) const { return l == 0 ? x : a[l].data(); }  // a_l, l = 0..L
};

// Runs the forward pass and fills the cache. train=false is test mode (no dropout, the
// paper's hidden scale net.hidden_scale applied). Output activations are cache.a[L].
void forward_cached(const NetView& net, const float* X, size_t n, bool train, const DropoutSpec& dropout,
                    ForwardCache& cache);

// Backward pass from g = dLoss/dz_L (n × nL). Writes weight/bias gradients when dW/db are
// non-null (L entries each, entry may be nullptr; sized like W_l / b_l; overwritten, not
// accumulated) and the input gradient when dX is non-null (n × n0). g may be overwritten.
void backward(const NetView& net, ForwardCache& cache, float* g, float* const* dW, float* const* db, float* dX);

}  // namespace nrem
