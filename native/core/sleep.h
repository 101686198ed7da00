// The sleep phase of Tadros et al. (ICLR 2020): a ReLU network's own weights become an
// integrate-and-fire network driven by Poisson input spikes, and STDP modifies the weights
// in place (sleep-algorithm.md §3; rules in sleep_rules.h). Beyond the paper's bias-free MLP
// (sleep-general.md): conv layers with shared-kernel STDP, max- and average-pooling as
// spiking layers, bias currents, and which weight layers are plastic — the SleepNet below.
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
#include "model.h"
#include "network.h"
#include "sleep_rules.h"

namespace nrem {

// The spiking network of sleep-general.md §1, over the caller's weights (updated in place):
//   dense    I_i = alpha·Σ_{j spiking, ascending} W[i, j]                  (+ bias current)
//   conv     I[o,y,x] = alpha·Σ_{(c,u,v) spiking, ascending} W[o, c, u−y·sh+pt, v−x·sw+pl]
//            over the kernel elements whose input lies inside the input    (+ bias current)
//   avgpool  I[c,y,x] = Σ_{cells spiking, ascending} 1/N   (N = kh·kw or the cells inside; alpha = 1)
//   maxpool  s[c,y,x] = 1 when a cell of the window spiked in this step (no membrane)
//   bias current (bias "current"): c_i = alpha·(kappa·b_i), kappa = 2·dt·max_rate, added to v
//            after the membrane update, every step; STDP never changes biases.
// A layer's input spikes are the previous layer's in its own C×H×W order (dense: flattened).
enum class SpikeKind : int { Dense = 0, Conv = 1, MaxPool = 2, AvgPool = 3 };

struct SpikingLayer {
  SpikeKind kind = SpikeKind::Dense;
  Shape in, out;
  Window win;                      // conv, pools
  bool count_include_pad = false;  // avgpool
  float* W = nullptr;              // dense: out × in; conv: O × C × kh × kw (null for pools)
  const float* b = nullptr;        // out.c biases (used with bias "current"), or null
  int n() const { return static_cast<int>(out.size()); }
  int fan_in() const { return kind == SpikeKind::Dense ? static_cast<int>(in.size()) : in.c * win.kh * win.kw; }
  size_t weight_count() const {
    return kind == SpikeKind::Dense ? in.size() * out.size()
                                    : kind == SpikeKind::Conv ? static_cast<size_t>(out.c) * in.c * win.kh * win.kw : 0;
  }
  bool weighted() const { return kind == SpikeKind::Dense || kind == SpikeKind::Conv; }
};

struct SleepNet {
  Shape input;
  std::vector<SpikingLayer> layers;
  int inputs() const { return static_cast<int>(input.size()); }
  bool dense() const {
    for (const SpikingLayer& l : layers)
      if (l.kind != SpikeKind::Dense) return false;
    return true;
  }
};

// The fully connected SleepNet of an MLP view (biases kept: they matter only with bias "current").
SleepNet sleep_net(const NetView& net);

// The SleepNet of a Model (sleep-general.md §1). The model's input ops x0 = a⊙x + c (composed
// per element) are folded into the first layer, which then reads the raw input x:
// W'[i,j] = W[i,j]·a[j] (dense) or W'[o,c,·,·] = W[o,c,·,·]·a_c (conv: a must be the same
// over each channel's H×W, else ERR_UNSUPPORTED); finish() writes W'/a back. Epilogue scales
// (pre, post, the paper's test-time dropout scale) act through the scale factors only, as in
// the paper; the IF neuron is the ReLU, the output layer's IF neurons read its pre-activation.
class ModelSleep {
 public:
  explicit ModelSleep(Model& m);
  SleepNet net;
  void finish();

 private:
  Model* model_;
  std::vector<float> folded_, scale_;
};

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
  // One entry per spiking layer (SleepNet::layers; max-pool entries are not used):
  std::vector<float> alpha;  // current scales (alpha_scale · scale factor of the layer; 1 for avg-pools)
  std::vector<float> beta;   // threshold multipliers
  std::vector<uint8_t> plastic;  // per layer: STDP on (weighted layers); empty = every weighted layer
  bool bias_current = false;     // bias "current" (else "ignore": biases play no part)
  bool conv_stdp_mean = false;   // conv STDP: the sum over post spikes (false) or its mean per channel
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
  int image_h = 0, image_w = 0;  // MaskedMean only: the window is k×k over H×W, all channels
  int image_c = 1;
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
void sleep_validate(const SleepNet& net, const SleepParams& p, const SleepData& d);
void sleep_validate(const NetView& net, const SleepParams& p, const SleepData& d);

// Runs the sleep on the network's weights in place: the event-driven engine and the plain
// per-step dense reference (sleep_dense.cc), which give the same spikes and weights.
void sleep_run(const SleepNet& net, const SleepParams& p, const SleepData& d, SleepStats& st,
               const SleepHooks& hooks = {});
void sleep_run_dense(const SleepNet& net, const SleepParams& p, const SleepData& d, SleepStats& st,
                     const SleepHooks& hooks = {});

// K independent sleeps (own weights, own parameters, shared data) spread over the pool,
// one sleep per thread at a time. Results do not depend on the thread count.
void sleep_batch(const std::vector<SleepNet>& nets, const std::vector<SleepParams>& ps, const SleepData& d,
                 std::vector<SleepStats>& st, const SleepHooks& hooks = {});

// The conv STDP of one channel in one step (sleep-general.md §3), shared by both engines:
// for each post spike (y, x) of the channel (ascending) and each kernel element (c, i, j)
// whose input (c, y·sh+i−pt, x·sw+j−pl) lies inside the input,
//   delta[c,i,j] += +inc·f(W[c,i,j])  if that input spiked (pre[·] = 1),  −dec·f(W[c,i,j]) if not
// with f at the weights before this step's STDP; then W += delta (mean: W += delta / posts)
// for the elements that received a term. pot/dep count the terms. W: C×kh×kw of channel o.
void conv_stdp_channel(const SpikingLayer& l, float* W, const int32_t* posts, size_t count, const uint8_t* pre,
                       const SleepParams& p, std::vector<float>& delta, std::vector<uint8_t>& touched, uint64_t& pot,
                       uint64_t& dep);

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
  SleepRecorder(const SleepNet& net, const SleepParams& p, SleepStats& st);
  // Spikes of layer l (ascending indices) at `step`.
  void layer_spikes(int l, int64_t step, const int32_t* idx, size_t count);
  void end_step(int64_t step);
  // Before the first STDP update of row `row` of W_l (l = 1..L, dense layers).
  void save_row(int l, int row, const float* w, int fan_in);
  void finish(const SleepNet& net);

 private:
  const SleepParams& p_;
  SleepStats& st_;
  int L_;
  std::vector<int> sizes_;
  std::vector<uint64_t> window_;
  std::vector<std::vector<int32_t>> saved_at_;  // per layer: row → offset in saved_ or -1
  std::vector<std::vector<float>> saved_;
  std::vector<std::vector<int32_t>> saved_rows_;
  std::vector<std::vector<float>> conv_before_;  // per layer: a conv layer's weights at the start
};

}  // namespace nrem
