// Event-driven sleep engine (see sleep.h for the contract and sleep_rules.h for the maths).
//
// Two orders of the same computation:
//   run_layerwise (default): a window of steps at a time, layer by layer, in independent
//            chunks of 64 neurons on every core (see the comment above run_layerwise);
//   run_stepwise (lateral inhibition, which couples the neurons of a layer within a step):
// Per step t:
//   layer 0: the input spikes (drawn one block of steps ahead, on a second thread when
//            allowed; the draws do not depend on the simulation)
//   layer l: if layer l-1 spiked:  acc = Σ_{j spiking, ascending} Wᵀ_l[j, :]   (contiguous rows,
//                                   64 outputs at a time in registers)
//                                   v = decay·v + alpha_l·acc            (one vector pass)
//            else if v ≠ 0:         v = decay·v                          (cannot reach threshold > 0)
//            else:                  nothing (O(1))
//            fired i (v_i >= thr):  STDP on row W_l[i, :] (fan-in), patch column Wᵀ_l[:, i], v_i = 0
// Cost per step: Σ_l (spikes_(l-1) · n_l) + (decaying layers · n_l) + Σ fired · fan-in.
// Wᵀ_l is built only once layer l has received n_l/8 spikes; before that the same sums are
// gathered from the row-major W (same order, same result). Both orders give the same
// spikes and weights bit for bit (test/sleep-engines.test.ts).
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstring>
#include <future>

#include "cpu.h"
#include "gemm.h"
#include "sleep.h"
#include "sleep_conv.h"
#include "thread_pool.h"

namespace nrem {

void sleep_accumulate_strided(const float* W, int n, int fan_in, const int32_t* cols, size_t count, float* acc) {
  for (int i = 0; i < n; ++i) {
    const float* row = W + static_cast<size_t>(i) * fan_in;
    float a = row[cols[0]];
    for (size_t k = 1; k < count; ++k) a += row[cols[k]];
    acc[i] = a;
  }
}

namespace {

// Wᵀ rows are padded to a multiple of kSleepPad floats (zeros), so that the accumulation
// (sleep_kernels.h accumulate_columns) runs on whole chunks held in registers.
inline int padded(int n) { return (n + kSleepPad - 1) / kSleepPad * kSleepPad; }

// STDP on the fan-in row of a neuron that fired (sleep_rules.h): potentiate where the
// layer below spiked (mask[j] = 1), depress elsewhere; then copy the row into its column
// of a transposed working copy (colT[j·ld], when there is one).
void stdp_row(float* row, int fan_in, const uint8_t* mask, const SleepParams& p, float* colT, int ld) {
  for (int j = 0; j < fan_in; ++j)
    row[j] = mask[j] ? sleep_potentiate(row[j], p.inc, p.gate, p.gate_width)
                     : sleep_depress(row[j], p.dec, p.gate, p.gate_width);
  if (colT)
    for (int j = 0; j < fan_in; ++j) colT[static_cast<size_t>(j) * ld] = row[j];
}

struct Layer {
  int n = 0, fan_in = 0;
  float* W = nullptr;          // n × fan_in, the caller's buffer (updated in place)
  int ld = 0;                  // row stride of WT (n padded to kSleepPad)
  std::vector<float> WT;       // fan_in × ld working copy (zero padded), empty until needed
  std::vector<float> v, acc;
  std::vector<int32_t> fired;  // spikes of this step, ascending
  size_t count = 0;
  std::vector<uint8_t> mask;   // mask of this layer's spikes (for STDP of the next layer)
  bool v_zero = true;
  uint64_t events = 0;         // input spikes received so far
};

// Input spikes of a block of steps: spikes of step t0 + k are idx[off[k] .. off[k+1]).
struct InputBlock {
  int64_t t0 = 0, t1 = 0;
  std::vector<int32_t> off, idx;
};

// Draws (or replays) the input spikes; owns everything it touches so that copies can run
// on other threads (one block ahead of run_stepwise, or on parts of run_layerwise's window).
class InputGenerator {
 public:
  InputGenerator(const SleepParams& p, const SleepData& d, int n0)
      : p_(p), d_(d), n0_(n0), src_(p, d, n0), key_(sleep_input_key(p.seed)), unit_hash_(n0),
        rate_factor_(2.0f * p.dt * p.max_rate), cand_(n0 + 16) {
    for (int j = 0; j < n0; ++j) unit_hash_[j] = sleep_unit_hash(static_cast<uint64_t>(j));
  }

  void fill(int64_t t0, int64_t t1, InputBlock& b) {
    b.t0 = t0;
    b.t1 = t1;
    b.off.assign(1, 0);
    b.idx.clear();
    for (int64_t t = t0; t < t1; ++t) {
      const size_t base = b.idx.size();
      if (d_.mode == SleepInputMode::Replay) {
        b.idx.insert(b.idx.end(), d_.replay_indices + d_.replay_offsets[t], d_.replay_indices + d_.replay_offsets[t + 1]);
        std::sort(b.idx.begin() + base, b.idx.end());
        b.idx.erase(std::unique(b.idx.begin() + base, b.idx.end()), b.idx.end());
      } else {
        // Branch-free: list the units with x > 0, draw their numbers, keep those that fire.
        const float* x = src_.at(t);
        if (d_.mode == SleepInputMode::Sequence && t + 4 < t1)  // the row of 4 steps ahead, into cache
          for (const float* a = src_.at(t + 4), *e = a + n0_; a < e; a += 16) __builtin_prefetch(a);
        int32_t* cand = cand_.data();
        bool finite = true;
        const SleepKernels& kern = kernels().sleep;  // compress of x > 0 and the draws (sleep_kernels.h)
        const size_t nc = kern.positive_units(x, n0_, cand, finite);
        if (!finite) sleep_check_row(x, n0_, static_cast<size_t>(t) % d_.n);
        b.idx.resize(base + nc + 8);  // room for whole vectors
        const size_t c = kern.draw_inputs(x, cand, nc, key_, static_cast<uint64_t>(t), unit_hash_.data(), rate_factor_,
                                          b.idx.data() + base);
        b.idx.resize(base + c);
      }
      b.off.push_back(static_cast<int32_t>(b.idx.size()));
    }
  }

 private:
  const SleepParams& p_;
  const SleepData& d_;
  int n0_;
  SleepInputSource src_;
  uint64_t key_;
  std::vector<uint64_t> unit_hash_;
  float rate_factor_;
  std::vector<int32_t> cand_;
};

// Step by step, all layers at each step: needed when lateral inhibition couples the
// neurons of a layer within a step.
// The bias currents of a layer, one per neuron (empty when off): c_i = alpha·(kappa·b_i) (sleep.h).
std::vector<float> bias_currents(const SpikingLayer& y, const SleepParams& p, float alpha, size_t pad_to = 0) {
  std::vector<float> c;
  if (!p.bias_current || !y.b || !y.weighted()) return c;
  const float kappa = 2.0f * p.dt * p.max_rate;
  const int per = y.out.h * y.out.w;
  c.assign(std::max(static_cast<size_t>(y.n()), pad_to), 0.0f);
  for (int i = 0; i < y.n(); ++i) c[i] = alpha * (kappa * y.b[i / per]);
  return c;
}

bool is_plastic(const SleepParams& p, int l) { return p.plastic.empty() || p.plastic[l] != 0; }

void run_stepwise(const SleepNet& net, const SleepParams& p, const SleepData& d, SleepStats& st, const SleepHooks& hooks) {
  const auto t0 = std::chrono::steady_clock::now();
  const int L = static_cast<int>(net.layers.size());
  const int n0 = net.inputs();

  std::vector<Layer> ly(L + 1);
  ly[0].n = n0;
  ly[0].fired.resize(n0);
  ly[0].mask.assign(n0, 0);
  std::vector<std::vector<float>> cb(L + 1);
  for (int l = 1; l <= L; ++l) {
    Layer& y = ly[l];
    y.n = net.layers[l - 1].n();
    y.fan_in = net.layers[l - 1].fan_in();
    y.W = net.layers[l - 1].W;
    cb[l] = bias_currents(net.layers[l - 1], p, p.alpha[l - 1]);
    y.v.assign(y.n, 0.0f);
    y.ld = padded(y.n);
    y.acc.assign(y.ld, 0.0f);
    y.fired.resize(y.n);
    y.mask.assign(y.n, 0);
  }

  SleepRecorder rec(net, p, st);
  InputGenerator gen(p, d, n0);
  // Input blocks are drawn one block ahead on a second thread (when allowed): the draws
  // do not depend on the simulation, so the spikes are the same either way.
  constexpr int64_t kBlock = 1024;
  InputBlock cur, next;
  std::future<void> pending;
  auto block_end = [&](int64_t t0) { return std::min(p.steps, t0 + kBlock); };
  gen.fill(0, block_end(0), cur);
  struct Join {  // never leave the generator running past this frame
    std::future<void>& f;
    ~Join() {
      if (f.valid()) f.wait();
    }
  } join{pending};

  for (int64_t t = 0; t < p.steps; ++t) {
    // ---- layer 0: input spikes ----
    if (t == cur.t1) {
      if (pending.valid()) {
        pending.get();
      } else {
        gen.fill(t, block_end(t), next);
      }
      std::swap(cur, next);
    }
    if (t == cur.t0 && cur.t1 < p.steps) {
      const int64_t a = cur.t1, e = block_end(cur.t1);
      if (hooks.pipeline)
        pending = std::async(std::launch::async, [&gen, &next, a, e] { gen.fill(a, e, next); });
    }
    Layer& in = ly[0];
    {
      const int64_t k = t - cur.t0;
      in.count = static_cast<size_t>(cur.off[k + 1] - cur.off[k]);
      std::copy(cur.idx.begin() + cur.off[k], cur.idx.begin() + cur.off[k + 1], in.fired.begin());
    }
    rec.layer_spikes(0, t, in.fired.data(), in.count);

    // ---- layers 1..L ----
    for (int l = 1; l <= L; ++l) {
      Layer& prev = ly[l - 1];
      Layer& y = ly[l];
      const int n = y.n;
      float* v = y.v.data();
      const float decay = p.decay;
      bool can_fire = false;
      if (prev.count > 0) {
        y.events += prev.count;
        if (y.WT.empty() && y.events > static_cast<uint64_t>(n) / 8) {
          // Worth a transposed copy now (a layer that rarely receives spikes never pays for it).
          y.WT.assign(static_cast<size_t>(y.fan_in) * y.ld, 0.0f);
          transpose(y.W, n, y.fan_in, y.ld, y.WT.data());
        }
        float* acc = y.acc.data();
        if (!y.WT.empty())
          kernels().sleep.accumulate_columns(y.WT.data(), y.ld, prev.fired.data(), prev.count, acc);
        else
          sleep_accumulate_strided(y.W, n, y.fan_in, prev.fired.data(), prev.count, acc);
        const float alpha = p.alpha[l - 1];
        if (p.inhibition != 0.0f) {
          float sum = 0.0f;
          for (int i = 0; i < n; ++i) sum += (acc[i] = alpha * acc[i]);
          const float drop = p.inhibition * (sum / static_cast<float>(n));
          for (int i = 0; i < n; ++i) v[i] = sleep_membrane(v[i], decay, acc[i] - drop);
        } else {
          for (int i = 0; i < n; ++i) v[i] = sleep_membrane(v[i], decay, alpha * acc[i]);
        }
        y.v_zero = false;
        can_fire = true;
      } else if (!y.v_zero) {
        // No input: |v| only shrinks and v < threshold held after the last step.
        for (int i = 0; i < n; ++i) v[i] = decay * v[i];
      }
      if (!cb[l].empty()) {
        for (int i = 0; i < n; ++i) v[i] += cb[l][i];
        y.v_zero = false;
        can_fire = true;
      }
      if (l == L && p.dc != 0.0f) {
        for (int i = 0; i < n; ++i) v[i] += p.dc;
        y.v_zero = false;
        can_fire = true;
      }
      y.count = 0;
      if (!can_fire) continue;
      const float thr = p.threshold * p.beta[l - 1];
      int any = 0;
      for (int i = 0; i < n; ++i) any |= sleep_fires(v[i], thr);
      if (!any) continue;
      for (int i = 0; i < n; ++i)
        if (sleep_fires(v[i], thr)) y.fired[y.count++] = i;

      // STDP on the fan-in rows of the neurons that fired, then reset.
      for (size_t k = 0; k < prev.count; ++k) prev.mask[prev.fired[k]] = 1;
      const int fan_in = y.fan_in;
      const bool plastic = is_plastic(p, l - 1);
      for (size_t k = 0; k < y.count; ++k) {
        const int i = y.fired[k];
        if (plastic) {
          float* row = y.W + static_cast<size_t>(i) * fan_in;
          rec.save_row(l, i, row, fan_in);
          // Wᵀ (when built; else it is built from W when first needed) gets the new column.
          stdp_row(row, fan_in, prev.mask.data(), p, y.WT.empty() ? nullptr : y.WT.data() + i, y.ld);
        }
        v[i] = 0.0f;
      }
      if (plastic) {
        st.potentiation[l - 1] += y.count * prev.count;
        st.depression[l - 1] += y.count * (fan_in - prev.count);
      }
      for (size_t k = 0; k < prev.count; ++k) prev.mask[prev.fired[k]] = 0;
      rec.layer_spikes(l, t, y.fired.data(), y.count);
    }
    rec.end_step(t);
    if ((t + 1) % hooks.every == 0 || t + 1 == p.steps) {
      if (hooks.cancelled && hooks.cancelled()) throw Error("ERR_ABORTED", "The operation was aborted");
      if (hooks.progress) hooks.progress(t + 1);
    }
  }
  rec.finish(net);
  st.membranes.assign(L + 1, {});
  for (int l = 1; l <= L; ++l) st.membranes[l] = ly[l].v;
  st.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

// ---------------------------------------------------------------------------------------
// Layer by layer, a window of steps at a time.
//
// Without lateral inhibition nothing couples two neurons of a layer within a step: a
// neuron's membrane depends only on the spikes of the layer below and on its own fan-in
// row, which STDP changes only when that neuron fires (with the spikes of the layer below
// at that step). There is no feedback from deeper layers. So for a window of steps the
// engine draws all input spikes, then runs layer 1 over the whole window, then layer 2 on
// layer 1's spikes, and so on; and within a layer it runs independent chunks of 64
// neurons, each over the whole window, on both cores. A chunk's slice of Wᵀ (fan_in × 64
// floats, 200 KB for MNIST) stays in its core's L2 cache for the whole window, where the
// step-wise order streams all of Wᵀ (3.8 MB) from L3 at every step. Every neuron sees the
// same operations in the same order as in run_stepwise and the dense reference, so the
// spikes and weights are the same bit for bit, whatever the thread count.
// ---------------------------------------------------------------------------------------

// A row of W as it was before its first STDP update.
struct SavedRow {
  int64_t step;
  int row;
  size_t at;  // offset in Chunk::saved_w
};

// kSlice consecutive neurons of a layer; kept across windows.
struct Chunk {
  int i0 = 0, w = 0;  // neurons [i0, i0 + w)
  bool v_zero = true;
  bool has_wt = false;
  std::vector<int32_t> out_k, out_i;  // spikes of the current window (step in window, neuron)
  uint64_t pot = 0, dep = 0;
  std::vector<SavedRow> saved;
  std::vector<float> saved_w;
};

struct LayerWise {
  int n = 0, fan_in = 0;
  float* W = nullptr;      // n × fan_in, updated in place
  float alpha = 0, thr = 0;
  bool dc = false;         // output drive on this layer
  bool plastic = true;
  std::vector<float> cb;   // bias currents (chunks·kSlice, zero padded), or empty
  std::vector<float> WT;   // chunk c at c·fan_in·kSlice: fan_in rows of kSlice floats (zero padded)
  std::vector<float> v;    // chunks·kSlice (zero padded)
  std::vector<uint8_t> saved;  // per neuron: its row was saved
  std::vector<Chunk> chunks;
  uint64_t events = 0;     // spikes received so far
};

// Neurons per chunk of the layer-wise engine: one 64-bit mask of spikes (sleep_kernels.h).
// (Measured on the mnist-fgsm sleep: 64 beats 16, 32 and 128.)
constexpr int kSlice = kSleepSlice;
static_assert(kSlice == 64, "chunk_steps packs one bit per neuron of a chunk into 64 bits");

// One chunk of layer y over a window of K steps whose input spikes are `in`. The path's
// chunk_steps kernel keeps the chunk's membranes in registers and returns only at a step in
// which one of its neurons fires; STDP and the bookkeeping of that step are done here.
// mask: fan_in zero bytes of scratch (left zero).
void run_chunk(LayerWise& y, size_t ci, const WindowSpikes& in, int64_t t0, int64_t K, bool use_wt,
               const SleepParams& p, std::vector<uint8_t>& mask) {
  Chunk& c = y.chunks[ci];
  const int fan_in = y.fan_in;
  float* WT = y.WT.empty() ? nullptr : y.WT.data() + ci * static_cast<size_t>(fan_in) * kSlice;
  if (use_wt && !c.has_wt) {
    transpose(y.W + static_cast<size_t>(c.i0) * fan_in, c.w, fan_in, kSlice, WT);
    c.has_wt = true;
  }
  SleepChunkSteps cs;
  cs.WT = c.has_wt ? WT : nullptr;
  cs.W = y.W + static_cast<size_t>(c.i0) * fan_in;
  cs.fan_in = fan_in;
  cs.w = c.w;
  cs.off = in.off.data();
  cs.idx = in.idx.data();
  cs.K = K;
  cs.decay = p.decay;
  cs.alpha = y.alpha;
  cs.thr = y.thr;
  cs.dc = p.dc;
  cs.has_dc = y.dc;
  cs.valid = c.w >= 64 ? ~0ull : ((1ull << c.w) - 1);
  cs.dcv = y.cb.empty() ? nullptr : y.cb.data() + c.i0;
  cs.v = y.v.data() + c.i0;
  cs.v_zero = c.v_zero;
  const auto chunk_steps = kernels().sleep.chunk_steps;
  c.out_k.clear();
  c.out_i.clear();
  for (int64_t k = 0;; ++k) {
    uint64_t fired = 0;
    k = chunk_steps(cs, k, &fired);
    if (k >= K) break;
    // A neuron of the chunk fired at step k: STDP on its fan-in row, patch Wᵀ, reset.
    const int32_t* s = in.idx.data() + in.off[k];
    const size_t cnt = static_cast<size_t>(in.off[k + 1] - in.off[k]);
    for (size_t z = 0; z < cnt; ++z) mask[s[z]] = 1;
    for (uint64_t m = fired; m; m &= m - 1) {
      const int r = __builtin_ctzll(m);
      const int i = c.i0 + r;
      if (y.plastic) {
        float* row = y.W + static_cast<size_t>(i) * fan_in;
        if (!y.saved[i]) {
          y.saved[i] = 1;
          c.saved.push_back({t0 + k, i, c.saved_w.size()});
          c.saved_w.insert(c.saved_w.end(), row, row + fan_in);
        }
        stdp_row(row, fan_in, mask.data(), p, c.has_wt ? WT + r : nullptr, kSlice);
        c.pot += cnt;
        c.dep += static_cast<uint64_t>(fan_in) - cnt;
      }
      cs.v[r] = 0.0f;
      c.out_k.push_back(static_cast<int32_t>(k));
      c.out_i.push_back(i);
    }
    for (size_t z = 0; z < cnt; ++z) mask[s[z]] = 0;
  }
  c.v_zero = cs.v_zero;
}

// The chunks' spikes of the window, merged into out (ascending neurons per step).
void merge_spikes(LayerWise& y, int64_t K, WindowSpikes& out) {
  auto& off = out.off;
  off.assign(static_cast<size_t>(K) + 1, 0);
  for (const Chunk& c : y.chunks)
    for (int32_t k : c.out_k) off[k + 1]++;
  for (int64_t k = 0; k < K; ++k) off[k + 1] += off[k];
  out.idx.resize(off[K]);
  std::vector<int32_t> cur(off.begin(), off.end() - 1);
  for (const Chunk& c : y.chunks)
    for (size_t q = 0; q < c.out_k.size(); ++q) out.idx[cur[c.out_k[q]]++] = c.out_i[q];
}

// fn(i) for i in [0, n): on every thread of the pool when `parallel` (each takes the next
// index when it is done with one), else here.
template <class F>
void for_each_index(size_t n, bool parallel, F&& fn) {
  if (parallel && n > 1) {
    std::atomic<size_t> next{0};
    pool().parallel_for(static_cast<size_t>(pool().size()), 1, [&](size_t, size_t) {
      for (size_t i; (i = next.fetch_add(1)) < n;) fn(i);
    });
  } else {
    for (size_t i = 0; i < n; ++i) fn(i);
  }
}

void run_layerwise(const SleepNet& net, const SleepParams& p, const SleepData& d, SleepStats& st, const SleepHooks& hooks) {
  const auto start = std::chrono::steady_clock::now();
  const int L = static_cast<int>(net.layers.size());
  const int n0 = net.inputs();
  const bool parallel = hooks.pipeline && pool().size() > 1;

  // Dense layers run in chunks of 64 neurons (LayerWise), conv and avg-pool layers channel
  // by channel (MapLayer), max-pool layers as a whole; spikes[l] are layer l's of the window.
  std::vector<LayerWise> ly(L + 1);
  std::vector<MapLayer> maps(L + 1);
  std::vector<FanOut> maxmaps(L + 1);
  std::vector<WindowSpikes> spikes(L + 1);
  for (int l = 1; l <= L; ++l) {
    const SpikingLayer& s = net.layers[l - 1];
    if (s.kind == SpikeKind::Conv || s.kind == SpikeKind::AvgPool) {
      maps[l] = map_layer(s, p, l - 1, l == L);
      continue;
    }
    if (s.kind == SpikeKind::MaxPool) {
      maxmaps[l] = fan_out(s);
      continue;
    }
    LayerWise& y = ly[l];
    y.n = s.n();
    y.fan_in = s.fan_in();
    y.W = s.W;
    y.alpha = p.alpha[l - 1];
    y.thr = p.threshold * p.beta[l - 1];
    y.dc = l == L && p.dc != 0.0f;
    y.plastic = is_plastic(p, l - 1);
    const int nc = (y.n + kSlice - 1) / kSlice;
    y.cb = bias_currents(s, p, y.alpha, static_cast<size_t>(nc) * kSlice);
    y.v.assign(static_cast<size_t>(nc) * kSlice, 0.0f);
    y.saved.assign(y.n, 0);
    y.chunks.resize(nc);
    for (int c = 0; c < nc; ++c) {
      y.chunks[c].i0 = c * kSlice;
      y.chunks[c].w = std::min(kSlice, y.n - c * kSlice);
    }
  }

  SleepRecorder rec(net, p, st);
  // One input generator per part of a window (copies share nothing mutable).
  const size_t parts = parallel ? static_cast<size_t>(pool().size()) : 1;
  std::vector<InputGenerator> gens(parts, InputGenerator(p, d, n0));
  std::vector<InputBlock> blocks(parts);
  WindowSpikes& input = spikes[0];

  // Windows long enough to amortise the hand-over between layers, short enough to keep
  // the input spikes of a window small and progress regular.
  const int64_t window = std::max<int64_t>(4096, hooks.every);
  for (int64_t t0 = 0; t0 < p.steps; t0 += window) {
    const int64_t t1 = std::min(p.steps, t0 + window), K = t1 - t0;

    // ---- layer 0: the input spikes of the window, drawn in `parts` step ranges ----
    for_each_index(parts, parallel, [&](size_t q) {
      const int64_t a = t0 + K * static_cast<int64_t>(q) / static_cast<int64_t>(parts);
      const int64_t b = t0 + K * static_cast<int64_t>(q + 1) / static_cast<int64_t>(parts);
      gens[q].fill(a, b, blocks[q]);
    });
    input.off.assign(1, 0);
    input.idx.clear();
    for (const InputBlock& b : blocks) {
      const int32_t base = static_cast<int32_t>(input.idx.size());
      input.idx.insert(input.idx.end(), b.idx.begin(), b.idx.end());
      for (size_t k = 1; k < b.off.size(); ++k) input.off.push_back(base + b.off[k]);
    }

    // ---- layers 1..L, each over the whole window ----
    for (int l = 1; l <= L; ++l) {
      const SpikingLayer& s = net.layers[l - 1];
      const WindowSpikes& in = spikes[l - 1];
      if (s.kind == SpikeKind::MaxPool) {
        maxpool_window(s, maxmaps[l], in, K, spikes[l]);
        continue;
      }
      if (s.kind != SpikeKind::Dense) {
        MapLayer& m = maps[l];
        if (s.kind == SpikeKind::Conv)
          for_each_index(m.groups.size(), parallel, [&](size_t g) { conv_group_window(m, static_cast<int>(g), in, K, p); });
        else
          for_each_index(static_cast<size_t>(s.out.c), parallel, [&](size_t o) { map_channel_window(m, static_cast<int>(o), in, K, p); });
        merge_map_spikes(m, K, spikes[l]);
        continue;
      }
      LayerWise& y = ly[l];
      y.events += in.idx.size();
      // Wᵀ only once the layer receives enough spikes to pay for it (cf. run_stepwise).
      const bool use_wt = y.events > static_cast<uint64_t>(y.n) / 8;
      if (use_wt && y.WT.empty()) y.WT.assign(y.chunks.size() * static_cast<size_t>(y.fan_in) * kSlice, 0.0f);
      if (in.idx.empty() && !y.dc && y.cb.empty()) {
        // No input in the whole window: membranes only decay (exactly as step by step).
        for (Chunk& c : y.chunks) {
          c.out_k.clear();
          c.out_i.clear();
          if (c.v_zero) continue;
          float* v = y.v.data() + c.i0;
          for (int64_t k = 0; k < K; ++k)
            for (int r = 0; r < kSlice; ++r) v[r] = p.decay * v[r];
        }
      } else {
        for_each_index(y.chunks.size(), parallel, [&](size_t ci) {
          thread_local std::vector<uint8_t> mask;
          if (mask.size() < static_cast<size_t>(y.fan_in)) mask.assign(y.fan_in, 0);
          run_chunk(y, ci, in, t0, K, use_wt, p, mask);
        });
      }
      merge_spikes(y, K, spikes[l]);
    }

    // ---- bookkeeping in step order, as the step-wise engine does it ----
    for (int64_t k = 0; k < K; ++k) {
      for (int l = 0; l <= L; ++l) {
        const WindowSpikes& s = spikes[l];
        rec.layer_spikes(l, t0 + k, s.idx.data() + s.off[k], static_cast<size_t>(s.off[k + 1] - s.off[k]));
      }
      rec.end_step(t0 + k);
    }
    if (hooks.cancelled && hooks.cancelled()) throw Error("ERR_ABORTED", "The operation was aborted");
    if (hooks.progress) hooks.progress(t1);
  }

  for (int l = 1; l <= L; ++l) {
    const SpikingLayer& s = net.layers[l - 1];
    if (s.kind == SpikeKind::Conv) {
      for (int o = 0; o < s.out.c; ++o) {
        st.potentiation[l - 1] += maps[l].pot[o];
        st.depression[l - 1] += maps[l].dep[o];
      }
      continue;
    }
    if (s.kind != SpikeKind::Dense) continue;
    LayerWise& y = ly[l];
    std::vector<std::pair<const SavedRow*, const Chunk*>> rows;
    for (const Chunk& c : y.chunks) {
      st.potentiation[l - 1] += c.pot;
      st.depression[l - 1] += c.dep;
      for (const SavedRow& sr : c.saved) rows.push_back({&sr, &c});
    }
    // In the order the step-wise engine saves them: by step, then neuron.
    std::sort(rows.begin(), rows.end(), [](const auto& a, const auto& b) {
      return a.first->step != b.first->step ? a.first->step < b.first->step : a.first->row < b.first->row;
    });
    for (const auto& r : rows) rec.save_row(l, r.first->row, r.second->saved_w.data() + r.first->at, y.fan_in);
  }
  rec.finish(net);
  st.membranes.assign(L + 1, {});
  for (int l = 1; l <= L; ++l) {
    const SpikingLayer& s = net.layers[l - 1];
    if (s.kind == SpikeKind::Dense)
      st.membranes[l].assign(ly[l].v.begin(), ly[l].v.begin() + ly[l].n);
    else if (s.kind == SpikeKind::MaxPool)
      st.membranes[l].assign(s.n(), 0.0f);
    else if (s.kind == SpikeKind::AvgPool)
      st.membranes[l] = maps[l].v;
    else {
      // conv: from the groups' position-major lanes back to C×H×W
      const MapLayer& m = maps[l];
      st.membranes[l].assign(s.n(), 0.0f);
      for (const ConvGroup& g : m.groups)
        for (int lane = 0; lane < g.G; ++lane)
          for (int q = 0; q < m.P; ++q) st.membranes[l][static_cast<size_t>(g.o0 + lane) * m.P + q] = g.v[static_cast<size_t>(q) * kConvLanes + lane];
    }
  }
  st.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

}  // namespace

void sleep_run(const SleepNet& net, const SleepParams& p, const SleepData& d, SleepStats& st, const SleepHooks& hooks) {
  sleep_validate(net, p, d);
  require(sleep_rng_selfcheck(), "ERR_BACKEND", "sleep_rules.h input RNG disagrees with rng.h");
  if (p.inhibition != 0.0f)
    run_stepwise(net, p, d, st, hooks);
  else
    run_layerwise(net, p, d, st, hooks);
}

}  // namespace nrem
