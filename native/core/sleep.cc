// Event-driven sleep engine (see sleep.h for the contract and sleep_rules.h for the maths).
//
// Per step t:
//   layer 0: draw the input spikes of units with x_j > 0 (or take the replayed ones)
//   layer l: if layer l-1 spiked:  acc = Σ_{j spiking, ascending} Wᵀ_l[j, :]   (contiguous rows)
//                                   v = decay·v + alpha_l·acc            (one vector pass)
//            else if v ≠ 0:         v = decay·v                          (cannot reach threshold > 0)
//            else:                  nothing (O(1))
//            fired i (v_i >= thr):  STDP on row W_l[i, :] (fan-in), patch column Wᵀ_l[:, i], v_i = 0
// Cost per step: Σ_l (spikes_(l-1) · n_l) + (decaying layers · n_l) + Σ fired · fan-in.
// Wᵀ_l is built lazily, the first time layer l receives a spike.
#include <algorithm>
#include <chrono>
#include <cstring>

#include "sleep.h"

namespace nrem {

namespace {

// dst (cols × rows) = transpose of src (rows × cols), in cache-sized blocks.
void transpose(const float* src, int rows, int cols, float* dst) {
  constexpr int B = 32;
  for (int r0 = 0; r0 < rows; r0 += B)
    for (int c0 = 0; c0 < cols; c0 += B) {
      const int r1 = std::min(rows, r0 + B), c1 = std::min(cols, c0 + B);
      for (int r = r0; r < r1; ++r)
        for (int c = c0; c < c1; ++c) dst[static_cast<size_t>(c) * rows + r] = src[static_cast<size_t>(r) * cols + c];
    }
}

struct Layer {
  int n = 0, fan_in = 0;
  float* W = nullptr;          // n × fan_in, the caller's buffer (updated in place)
  std::vector<float> WT;       // fan_in × n working copy, empty until needed
  std::vector<float> v, acc;
  std::vector<int32_t> fired;  // spikes of this step, ascending
  size_t count = 0;
  std::vector<uint8_t> mask;   // mask of this layer's spikes (for STDP of the next layer)
  bool v_zero = true;
};

}  // namespace

void sleep_run(const NetView& net, const SleepParams& p, const SleepData& d, SleepStats& st, const SleepHooks& hooks) {
  sleep_validate(net, p, d);
  require(sleep_rng_selfcheck(), "ERR_BACKEND", "sleep_rules.h input RNG disagrees with rng.h");
  const auto t0 = std::chrono::steady_clock::now();
  const int L = net.layers();
  const int n0 = net.inputs();

  std::vector<Layer> ly(L + 1);
  ly[0].n = n0;
  ly[0].fired.resize(n0);
  ly[0].mask.assign(n0, 0);
  for (int l = 1; l <= L; ++l) {
    Layer& y = ly[l];
    y.n = net.sizes[l];
    y.fan_in = net.sizes[l - 1];
    y.W = net.W[l - 1];
    y.v.assign(y.n, 0.0f);
    y.acc.assign(y.n, 0.0f);
    y.fired.resize(y.n);
    y.mask.assign(y.n, 0);
  }

  SleepRecorder rec(net, p, st);
  SleepInputSource src(p, d, n0);
  const uint64_t key = sleep_input_key(p.seed);
  std::vector<uint64_t> unit_hash(n0);
  for (int j = 0; j < n0; ++j) unit_hash[j] = sleep_unit_hash(static_cast<uint64_t>(j));
  const float rate_factor = 2.0f * p.dt * p.max_rate;

  for (int64_t t = 0; t < p.steps; ++t) {
    // ---- layer 0: input spikes ----
    Layer& in = ly[0];
    in.count = 0;
    if (d.mode == SleepInputMode::Replay) {
      const int32_t b = d.replay_offsets[t], e = d.replay_offsets[t + 1];
      for (int32_t k = b; k < e; ++k) in.fired[in.count++] = d.replay_indices[k];
      std::sort(in.fired.begin(), in.fired.begin() + in.count);
      in.count = std::unique(in.fired.begin(), in.fired.begin() + in.count) - in.fired.begin();
    } else {
      const float* x = src.at(t);
      for (int j = 0; j < n0; ++j) {
        if (!(x[j] > 0.0f)) continue;
        const float u = sleep_input_uniform(key, static_cast<uint64_t>(t), unit_hash[j]);
        if (sleep_input_fires(u, rate_factor, x[j])) in.fired[in.count++] = j;
      }
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
        if (y.WT.empty()) {
          y.WT.resize(static_cast<size_t>(y.fan_in) * n);
          transpose(y.W, n, y.fan_in, y.WT.data());
        }
        float* acc = y.acc.data();
        std::memcpy(acc, y.WT.data() + static_cast<size_t>(prev.fired[0]) * n, sizeof(float) * n);
        for (size_t k = 1; k < prev.count; ++k) {
          const float* col = y.WT.data() + static_cast<size_t>(prev.fired[k]) * n;
          for (int i = 0; i < n; ++i) acc[i] += col[i];
        }
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
      for (size_t k = 0; k < y.count; ++k) {
        const int i = y.fired[k];
        float* row = y.W + static_cast<size_t>(i) * fan_in;
        rec.save_row(l, i, row, fan_in);
        for (int j = 0; j < fan_in; ++j)
          row[j] = prev.mask[j] ? sleep_potentiate(row[j], p.inc, p.gate, p.gate_width)
                                : sleep_depress(row[j], p.dec, p.gate, p.gate_width);
        float* colT = y.WT.data() + i;
        for (int j = 0; j < fan_in; ++j) colT[static_cast<size_t>(j) * n] = row[j];
        v[i] = 0.0f;
      }
      st.potentiation[l - 1] += y.count * prev.count;
      st.depression[l - 1] += y.count * (fan_in - prev.count);
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
  st.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

}  // namespace nrem
