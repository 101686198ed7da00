// The sleep phase of Tadros et al. (ICLR 2020) on a bias-free ReLU MLP: the network's
// own weights become an integrate-and-fire network driven by Poisson input spikes, and
// STDP modifies the weights in place (sleep-algorithm.md §3; rules in sleep_rules.h).
//
// Two engines compute the same thing:
//   - sleep_run (Event): work per step ∝ spikes. Currents are accumulated from a
//     transposed working copy Wᵀ (column of one spiking input = contiguous fan-out),
//     STDP touches only the fan-in rows of neurons that fired and patches Wᵀ.
//     Membranes decay with one cheap vector pass per non-zero layer (exactly the
//     reference's float32 v = decay·v + I; a layer whose v is all zero costs O(1)).
//     Without lateral inhibition it runs a window of steps layer by layer, each layer in
//     independent chunks of 64 neurons on every core (their Wᵀ slices stay in cache);
//     with it, step by step (sleep.cc).
//   - sleep_run_dense (reference): plain per-step dense matrix-vector products.
// Both sum a neuron's current over the spiking inputs in ascending index order, so they
// give bit-identical spikes and weights for the same seed.
//
// Counters, not rasters: spikes per layer and per neuron, a sampled rate trace, STDP
// events, weights changed; a raster only for a requested window of steps.
#pragma once
#include <functional>
#include <vector>

#include "common.h"
#include "network.h"
#include "sleep_rules.h"

namespace nrem {

enum class SleepInputMode : int { Sequence = 0, Mean = 1, MaskedMean = 2, Replay = 3 };

struct SleepParams {
  int64_t steps = 0;
  float dt = 0.001f;
  float max_rate = 0;
  float inc = 0, dec = 0;
  float threshold = 1.0f;
  float decay = 0.999f;
  float inhibition = 0;  // W_inh: I_l -= W_inh · mean(I_l)
  float dc = 0;          // constant drive added to the output layer's v each step
  std::vector<float> alpha;  // L current scales (alpha_scale · scale factor of the layer)
  std::vector<float> beta;   // L threshold multipliers
  SleepGate gate = SleepGate::Release;
  float gate_width = 0.001f;
  uint64_t seed = 0;
  int mask_size = 10;        // masked-mean window k
  int64_t trace_every = 0;   // 0: no rate trace
  int64_t raster_from = 0, raster_to = 0;  // [from, to) steps; empty: no raster
};

// Where the input comes from. Sequence: x(t) = rows[t mod n]; Mean / MaskedMean use the
// mean of the n rows; Replay uses recorded input spikes (offsets: steps+1, indices).
struct SleepData {
  SleepInputMode mode = SleepInputMode::Sequence;
  const float* x = nullptr;
  size_t n = 0;
  int image_h = 0, image_w = 0;  // MaskedMean only
  const int32_t* replay_offsets = nullptr;
  const int32_t* replay_indices = nullptr;
  size_t replay_steps = 0, replay_count = 0;
};

struct SleepStats {
  int64_t steps = 0;
  double seconds = 0;
  std::vector<uint64_t> spikes;                       // L+1, layer 0 = input
  std::vector<std::vector<uint32_t>> neuron_spikes;   // L+1 × n_l
  std::vector<uint64_t> potentiation, depression;     // L: STDP applications
  std::vector<uint64_t> changed;                      // L: weights whose final value differs
  std::vector<double> abs_change;                     // L: Σ |W_final - W_initial|
  std::vector<float> trace;                           // windows × (L+1): spikes / neuron / second
  std::vector<std::vector<float>> membranes;          // L+1 × n_l: v at the end (layer 0 empty)
  std::vector<std::vector<int32_t>> raster_offsets;   // L+1 × (window+1)
  std::vector<std::vector<int32_t>> raster_indices;   // L+1
};

struct SleepHooks {
  std::function<void(int64_t done)> progress;  // called every `every` steps
  std::function<bool()> cancelled;             // true → throw ERR_ABORTED
  int64_t every = 1024;
  bool pipeline = true;  // use the compute pool (input draws and chunks of neurons on every core)
};

// Throws ERR_VALUE naming the first non-finite value of a data row.
void sleep_check_row(const float* x, int n0, size_t row);

// Checks sizes, lengths and ranges (ERR_SHAPE / ERR_VALUE). Called by both engines.
void sleep_validate(const NetView& net, const SleepParams& p, const SleepData& d);

// Runs the sleep on net.W in place. net.b must be null (the paper's networks have none).
void sleep_run(const NetView& net, const SleepParams& p, const SleepData& d, SleepStats& st,
               const SleepHooks& hooks = {});
void sleep_run_dense(const NetView& net, const SleepParams& p, const SleepData& d, SleepStats& st,
                     const SleepHooks& hooks = {});

// K independent sleeps (own weights, own parameters, shared data) spread over the pool,
// one sleep per thread at a time. Results do not depend on the thread count.
void sleep_batch(const std::vector<NetView>& nets, const std::vector<SleepParams>& ps, const SleepData& d,
                 std::vector<SleepStats>& st, const SleepHooks& hooks = {});

// ---- shared by both engines (sleep_common.cc) ----

// The analogue input x(t) of a step (Sequence, Mean, MaskedMean).
class SleepInputSource {
 public:
  SleepInputSource(const SleepParams& p, const SleepData& d, int n0);
  const float* at(int64_t step);

 private:
  const SleepParams& p_;
  const SleepData& d_;
  int n0_;
  std::vector<float> mean_, masked_;
};

// Bookkeeping common to both engines: counters, trace, raster, changed weights.
class SleepRecorder {
 public:
  SleepRecorder(const NetView& net, const SleepParams& p, SleepStats& st);
  // Spikes of layer l (ascending indices) at `step`.
  void layer_spikes(int l, int64_t step, const int32_t* idx, size_t count);
  void end_step(int64_t step);
  // Before the first STDP update of row `row` of W_l (l = 1..L).
  void save_row(int l, int row, const float* w, int fan_in);
  void finish(const NetView& net);

 private:
  const SleepParams& p_;
  SleepStats& st_;
  int L_;
  std::vector<int> sizes_;
  std::vector<uint64_t> window_;
  std::vector<std::vector<int32_t>> saved_at_;  // per layer: row → offset in saved_ or -1
  std::vector<std::vector<float>> saved_;
  std::vector<std::vector<int32_t>> saved_rows_;
};

}  // namespace nrem
