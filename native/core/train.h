// Mini-batch SGD with momentum for every Model (model.h), and weight initialisation.
//
//   per epoch e: order = seeded Fisher–Yates permutation of 0..n-1
//                        (j = floor(u·(i+1)), u = rng_uniform(seed, kStreamShuffle, e, i),
//                        i = n-1..1) or the data's own order if shuffle is off
//   per batch (B rows, the last batch may be smaller; step = global batch counter):
//     forward_cached in train mode, dropout key (seed, step, row0 = position in the epoch)
//     g = dLoss/dz_L of the batch-mean loss (loss.h); backward → ∇W_l, ∇b_l
//     v ← μ·v + η_e·∇;  θ ← θ − v       η_e = η·decay^(e−1)          (DeepLearnToolbox's nnapplygrads, the
//                                          authors' code; v starts at 0)
//   init: uniform  W ~ U(−a, a), w = a·(2u − 1), u = rng_uniform(seed, kStreamInit, l, i)
//         he       W ~ N(0, 2/fan_in) by Box–Muller from u1 = rng(l, 2i), u2 = rng(l, 2i+1)
//                  (fan_in: inputs of a dense unit, C_in·kh·kw of a conv filter)
//         l = 1, 2, … numbers the weight-carrying layers in chain order; biases (if present) = 0
// Every step is either elementwise, row-parallel or a GEMM whose sums run in a fixed
// order, so the weights after training do not depend on the thread count.
//
// RandomStreams::Octave draws all of the above from the authors' generator instead
// (octave_rng.h), in the order of their scripts (MNIST_*_test.m with DeepLearnToolbox's
// nnsetup/nntrain/nnff), one generator seeded once with rand('state', seed):
//   init:  nnsetup's own initialisation of every layer (drawn, then overwritten), then
//          W_l = (rand(n_l, n_(l−1)) − 0.5)·2a layer by layer (column-major draws); uniform only
//   train: the same generator continues after the init draws (training re-creates it and
//          skips them, so init and train must use the same seed and layer sizes);
//          per epoch kk = randperm(n) (if shuffle); per batch, for each hidden layer in
//          order, keep = rand(B, n_l) > p (column-major) when dropout p > 0.
// Only the random numbers change: the arithmetic is nrem's float32 throughout. The
// authors' networks are fully connected: the Octave streams take fully connected chains only.
#pragma once
#include <cstdint>
#include <functional>
#include <vector>

#include "backprop.h"
#include "loss.h"
#include "model.h"

namespace nrem {

enum class InitKind { Uniform = 0, He = 1 };
enum class RandomStreams { Counter = 0, Octave = 1 };

// Overwrites every weight (and zeroes every bias) of net.
void init_weights(Model& net, InitKind kind, double scale, uint64_t seed,
                  RandomStreams streams = RandomStreams::Counter);

struct TrainConfig {
  int epochs = 1;
  size_t batch = 100;
  float lr = 0.1f;
  float momentum = 0.0f;
  float lr_decay = 1.0f;    // epoch e (1-based) uses lr · lr_decay^(e−1)
  LossKind loss = LossKind::SquaredError;
  double dropout = 0.0;     // on hidden layers
  bool inverted = false;    // inverted dropout (else the paper's non-inverted)
  uint64_t seed = 0;
  bool shuffle = true;
  RandomStreams streams = RandomStreams::Counter;
  float temperature = 0.0f; // softmax temperature while training (0: the network's own)
  int progress_every = 10;  // batches between progress reports (0 = only at epoch ends)
};

struct TrainData {
  const float* x = nullptr;        // n × n0
  const int32_t* labels = nullptr; // n labels in 0..nL-1 (used when targets is null)
  const float* targets = nullptr;  // n × nL soft targets (optional)
  size_t n = 0;
};

struct TrainProgress {
  int epoch = 0;          // 1-based
  size_t batch = 0;       // batches done in this epoch
  size_t batches = 0;     // batches per epoch
  double loss = 0.0;      // mean batch loss of this epoch so far
  bool epoch_end = false;
};

struct TrainResult {
  std::vector<double> epoch_loss;     // mean batch loss per epoch
  std::vector<double> epoch_seconds;  // wall time per epoch
  uint64_t steps = 0;
};

// Trains net in place. progress is called on the training thread; check_cancel is
// called before every batch and may throw (ERR_ABORTED) to stop: weights then hold the
// state after the last finished batch.
TrainResult train(Model& net, const TrainData& data, const TrainConfig& cfg,
                  const std::function<void(const TrainProgress&)>& progress,
                  const std::function<void()>& check_cancel);

}  // namespace nrem
