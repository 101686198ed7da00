// Dense per-step reference of the sleep: the rule of sleep-algorithm.md §3 written as
// plainly as possible (every input unit drawn, a full matrix-vector product per layer per
// step, every neuron compared). It exists to check the event-driven engine (sleep.cc):
// for the same seed both must give the same spikes and weights.
//
//   s0_j = u(seed, t, j) < 2·dt·max_rate·x_j(t)
//   I_i  = alpha_l · Σ_j W_l[i,j]·s_(l-1)[j]        (ascending j)
//   I_i -= W_inh · mean(I)                          (only if W_inh ≠ 0)
//   v_i  = decay·v_i + I_i  (+ DC, output layer)
//   s_i  = v_i >= threshold·beta_l ; STDP on fired rows ; v_i = 0 where fired
#include <chrono>

#include "sleep.h"

namespace nrem {

void sleep_run_dense(const NetView& net, const SleepParams& p, const SleepData& d, SleepStats& st,
                     const SleepHooks& hooks) {
  sleep_validate(net, p, d);
  const auto t0 = std::chrono::steady_clock::now();
  const int L = net.layers();
  const int n0 = net.inputs();
  std::vector<std::vector<float>> s(L + 1), v(L + 1);
  for (int l = 0; l <= L; ++l) {
    s[l].assign(net.sizes[l], 0.0f);
    v[l].assign(net.sizes[l], 0.0f);
  }
  SleepRecorder rec(net, p, st);
  SleepInputSource src(p, d, n0);
  const float rate_factor = 2.0f * p.dt * p.max_rate;
  std::vector<int32_t> idx;

  for (int64_t t = 0; t < p.steps; ++t) {
    std::fill(s[0].begin(), s[0].end(), 0.0f);
    if (d.mode == SleepInputMode::Replay) {
      for (int32_t k = d.replay_offsets[t]; k < d.replay_offsets[t + 1]; ++k) s[0][d.replay_indices[k]] = 1.0f;
    } else {
      const float* x = src.at(t);
      if (d.mode == SleepInputMode::Sequence) sleep_check_row(x, n0, static_cast<size_t>(t) % d.n);
      for (int j = 0; j < n0; ++j)
        s[0][j] = sleep_input_fires(rng_uniform(p.seed, kStreamSleepInput, static_cast<uint64_t>(t), j), rate_factor, x[j])
                      ? 1.0f
                      : 0.0f;
    }
    idx.clear();
    for (int j = 0; j < n0; ++j)
      if (s[0][j] != 0.0f) idx.push_back(j);
    rec.layer_spikes(0, t, idx.data(), idx.size());

    for (int l = 1; l <= L; ++l) {
      const int n = net.sizes[l], m = net.sizes[l - 1];
      float* W = net.W[l - 1];
      std::vector<float> I(n);
      for (int i = 0; i < n; ++i) {
        float acc = 0.0f;
        for (int j = 0; j < m; ++j) acc += W[static_cast<size_t>(i) * m + j] * s[l - 1][j];
        I[i] = p.alpha[l - 1] * acc;
      }
      if (p.inhibition != 0.0f) {
        float sum = 0.0f;
        for (int i = 0; i < n; ++i) sum += I[i];
        const float drop = p.inhibition * (sum / static_cast<float>(n));
        for (int i = 0; i < n; ++i) I[i] = I[i] - drop;
      }
      const float thr = p.threshold * p.beta[l - 1];
      idx.clear();
      for (int i = 0; i < n; ++i) {
        v[l][i] = sleep_membrane(v[l][i], p.decay, I[i]);
        if (l == L && p.dc != 0.0f) v[l][i] += p.dc;
        s[l][i] = sleep_fires(v[l][i], thr) ? 1.0f : 0.0f;
        if (s[l][i] != 0.0f) idx.push_back(i);
      }
      for (int i : idx) {
        float* row = W + static_cast<size_t>(i) * m;
        rec.save_row(l, i, row, m);
        for (int j = 0; j < m; ++j) {
          if (s[l - 1][j] != 0.0f) {
            row[j] = sleep_potentiate(row[j], p.inc, p.gate, p.gate_width);
            st.potentiation[l - 1]++;
          } else {
            row[j] = sleep_depress(row[j], p.dec, p.gate, p.gate_width);
            st.depression[l - 1]++;
          }
        }
        v[l][i] = 0.0f;
      }
      rec.layer_spikes(l, t, idx.data(), idx.size());
    }
    rec.end_step(t);
    if ((t + 1) % hooks.every == 0 || t + 1 == p.steps) {
      if (hooks.cancelled && hooks.cancelled()) throw Error("ERR_ABORTED", "The operation was aborted");
      if (hooks.progress) hooks.progress(t + 1);
    }
  }
  rec.finish(net);
  st.membranes.assign(L + 1, {});
  for (int l = 1; l <= L; ++l) st.membranes[l] = v[l];
  st.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

}  // namespace nrem
