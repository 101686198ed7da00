// Forward pass that keeps what the backward pass needs, and the backward pass itself, over
// a Model's chain of layers (model.h). Shared by training (weight gradients) and by the
// attacks (input gradients, Jacobian rows): one implementation of the chain rule in nrem.
//
//   forward (train or test mode), l = 0 … L−1:
//     x_0 = ops(x);  z_l = layer_l(x_(l−1))            layers/dense.h, conv.h, pool.h
//     x_l = k_l ⊙ m_l·act_l(pre_l·z_l)                  layers/epilogue.h; m_l = post_l·s for a
//                                                      dropout layer (s = hidden_scale in test mode,
//                                                      1/(1−p) in training with inverted dropout,
//                                                      else 1), post_l otherwise; k_l the dropout
//                                                      mask (training, dropout layers, p > 0), else 1
//     logits z_L = pre_L·z_(L−1 layer);  a_L = out(z_L)
//   dropout mask (train mode, p > 0): unit j of row r of dropout layer l (1-based chain index) is kept iff
//     rng_uniform(seed, kStreamDropout, step·256 + l, (row0 + r)·n_l + j) >= p
//   — a pure function of the key, so masks do not depend on the thread count.
//   backward, given g = ∂L/∂z_L (the loss-specific part is loss.h's), l = L−1 … 0:
//     g ← g·pre_l (last layer);  dW_l, db_l from g and x_(l−1)      (layers/*.h weight gradients)
//     g_(l−1) = ∂L/∂x_(l−1) by the layer's input gradient, then through the epilogue of
//     layer l−1: g ⊙ [x_(l−1) > 0]·m·pre (relu) — for dense layers fused into the GEMM;
//     dx = input-ops backward of ∂L/∂x_0 (l = 0, if asked)
#pragma once
#include <cstdint>
#include <vector>

#include "model.h"

namespace nrem {

struct DropoutSpec {
  float p = 0.0f;          // drop probability on dropout layers (0 = none)
  bool inverted = false;   // inverted: scale kept units by 1/(1-p) while training
  uint64_t seed = 0;       // masks: see the key in the header comment
  uint64_t step = 0;       // mini-batch counter, part of the random key
  uint64_t row0 = 0;       // global index of the batch's first row, part of the key
  // Masks drawn by the caller instead (train.cc with the Octave streams): keep[l] holds
  // n × width flags (1 = kept) for the dropout layer with 1-based chain index l; keep[0] unused.
  const uint8_t* const* keep = nullptr;
};

// Per-batch buffers. Reused across batches (vectors only grow) to avoid allocation.
struct ForwardCache {
  size_t n = 0;
  std::vector<std::vector<float>> a;        // a[l]: x_l, the output of layer l (n × out_l); a[L−1] = a_L
  std::vector<float> z;                     // logits z_L (n × K)
  std::vector<float> x0;                    // ops(x) when the model has input ops
  std::vector<std::vector<int32_t>> arg;    // max-pool layers: argmax per output
  std::vector<std::vector<uint8_t>> mask;   // dropout layers in train mode with p > 0
  std::vector<float> g0, g1;                // scratch for the backward pass
  const float* x = nullptr;                 // the input batch (not copied; must outlive backward)
  bool train = false;
  float drop_mult = 1.0f;                   // s of the header comment, as used by this pass
  DropoutSpec dropout;

  const float* input(int l) const {         // the input of layer l
    if (l > 0) return a[l - 1].data();
    return x0.empty() ? x : x0.data();
  }
  const float* logits() const { return z.data(); }
  const float* output() const { return a.back().data(); }
};

// Runs the forward pass and fills the cache. train=false is test mode (no dropout,
// hidden_scale applied). Output activations are cache.output(), logits cache.logits().
void forward_cached(const Model& net, const float* X, size_t n, bool train, const DropoutSpec& dropout,
                    ForwardCache& cache);

// Backward pass from g = ∂L/∂z_L (n × K). Writes weight/bias gradients when dW/db are
// non-null (one entry per weighted layer, in chain order, entry may be nullptr; sized like
// W / b; overwritten, not accumulated) and the input gradient when dX is non-null
// (n × inputs()). g may be overwritten.
void backward(const Model& net, ForwardCache& cache, float* g, float* const* dW, float* const* db, float* dX);

}  // namespace nrem
