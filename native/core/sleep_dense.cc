// Dense per-step reference of the sleep: the rules of sleep-algorithm.md §3 and
// sleep-general.md §3 written as plainly as possible (every input unit drawn, every layer
// computed in full at every step, every neuron compared). It exists to check the
// event-driven engine (sleep.cc): for the same seed both must give the same spikes and weights.
//
//   s0_j = u(seed, t, j) < 2·dt·max_rate·x_j(t)
//   dense    I_i      = alpha·Σ_j W[i,j]·s[j]                                  (ascending j)
//   conv     I[o,y,x] = alpha·Σ_{c,i,j} W[o,c,i,j]·s[c, y·sh+i−pt, x·sw+j−pl]   (ascending c,i,j;
//                       positions outside the input contribute nothing)
//   avgpool  I[c,y,x] = alpha·Σ_{cells} (1/N)·s[cell]                          (ascending cells)
//   maxpool  s[c,y,x] = 1 if any cell of the window spiked
//   I_i -= W_inh · mean(I)                          (dense layers, only if W_inh ≠ 0)
//   v_i  = decay·v_i + I_i;  v_i += bias current;  v_i += DC (output layer)
//   s_i  = v_i >= threshold·beta_l ; STDP (dense rows; conv channels, conv_stdp_channel) ; v_i = 0 where fired
#include <chrono>

#include "sleep.h"

namespace nrem {

void sleep_run_dense(const SleepNet& net, const SleepParams& p, const SleepData& d, SleepStats& st,
                     const SleepHooks& hooks) {
  sleep_validate(net, p, d);
  const auto t0 = std::chrono::steady_clock::now();
  const int L = static_cast<int>(net.layers.size());
  const int n0 = net.inputs();
  std::vector<std::vector<float>> s(L + 1), v(L + 1);
  s[0].assign(n0, 0.0f);
  for (int l = 1; l <= L; ++l) {
    s[l].assign(net.layers[l - 1].n(), 0.0f);
    v[l].assign(net.layers[l - 1].n(), 0.0f);
  }
  SleepRecorder rec(net, p, st);
  SleepInputSource src(p, d, n0);
  const float rate_factor = 2.0f * p.dt * p.max_rate;
  std::vector<int32_t> idx;
  std::vector<float> delta;
  std::vector<uint8_t> touched, pre;

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
      const SpikingLayer& y = net.layers[l - 1];
      const int n = y.n();
      const std::vector<float>& sp = s[l - 1];
      const float alpha = p.alpha[l - 1];
      idx.clear();
      if (y.kind == SpikeKind::MaxPool) {
        const int C = y.in.c, H = y.in.h, W = y.in.w, Ho = y.out.h, Wo = y.out.w;
        for (int c = 0; c < C; ++c)
          for (int oy = 0; oy < Ho; ++oy)
            for (int ox = 0; ox < Wo; ++ox) {
              bool any = false;
              for (int i = 0; i < y.win.kh; ++i)
                for (int j = 0; j < y.win.kw; ++j) {
                  const int u = oy * y.win.sh + i - y.win.pt, w = ox * y.win.sw + j - y.win.pl;
                  if (u >= 0 && u < H && w >= 0 && w < W && sp[(static_cast<size_t>(c) * H + u) * W + w] != 0.0f) any = true;
                }
              const int q = (c * Ho + oy) * Wo + ox;
              s[l][q] = any ? 1.0f : 0.0f;
              if (any) idx.push_back(q);
            }
        rec.layer_spikes(l, t, idx.data(), idx.size());
        continue;
      }
      std::vector<float> I(n, 0.0f);
      if (y.kind == SpikeKind::Dense) {
        const int m = y.fan_in();
        for (int i = 0; i < n; ++i) {
          float acc = 0.0f;
          for (int j = 0; j < m; ++j) acc += y.W[static_cast<size_t>(i) * m + j] * sp[j];
          I[i] = alpha * acc;
        }
      } else {
        const int C = y.in.c, H = y.in.h, W = y.in.w, O = y.out.c, Ho = y.out.h, Wo = y.out.w;
        const bool conv = y.kind == SpikeKind::Conv;
        for (int o = 0; o < O; ++o)
          for (int oy = 0; oy < Ho; ++oy)
            for (int ox = 0; ox < Wo; ++ox) {
              float acc = 0.0f;
              int cells = 0;
              const int c0 = conv ? 0 : o, c1 = conv ? C : o + 1;
              for (int pass = 0; pass < 2; ++pass) {  // avg-pool: count the cells, then sum
                for (int c = c0; c < c1; ++c)
                  for (int i = 0; i < y.win.kh; ++i)
                    for (int j = 0; j < y.win.kw; ++j) {
                      const int u = oy * y.win.sh + i - y.win.pt, w = ox * y.win.sw + j - y.win.pl;
                      if (u < 0 || u >= H || w < 0 || w >= W) continue;
                      const float sv = sp[(static_cast<size_t>(c) * H + u) * W + w];
                      if (conv) {
                        if (pass == 0) acc += y.W[((static_cast<size_t>(o) * C + c) * y.win.kh + i) * y.win.kw + j] * sv;
                      } else if (pass == 0) {
                        ++cells;
                      } else {
                        const int N = y.count_include_pad ? y.win.kh * y.win.kw : cells;
                        acc += (1.0f / static_cast<float>(N)) * sv;
                      }
                    }
                if (conv) break;
              }
              I[(o * Ho + oy) * Wo + ox] = alpha * acc;
            }
      }
      if (p.inhibition != 0.0f) {
        float sum = 0.0f;
        for (int i = 0; i < n; ++i) sum += I[i];
        const float drop = p.inhibition * (sum / static_cast<float>(n));
        for (int i = 0; i < n; ++i) I[i] = I[i] - drop;
      }
      const float thr = p.threshold * p.beta[l - 1];
      const bool bias = p.bias_current && y.b && y.weighted();
      const float kappa = 2.0f * p.dt * p.max_rate;
      const int per = y.out.h * y.out.w;
      for (int i = 0; i < n; ++i) {
        v[l][i] = sleep_membrane(v[l][i], p.decay, I[i]);
        if (bias) v[l][i] += alpha * (kappa * y.b[i / per]);
        if (l == L && p.dc != 0.0f) v[l][i] += p.dc;
        s[l][i] = sleep_fires(v[l][i], thr) ? 1.0f : 0.0f;
        if (s[l][i] != 0.0f) idx.push_back(i);
      }
      const bool plastic = y.weighted() && (p.plastic.empty() || p.plastic[l - 1]);
      if (plastic && y.kind == SpikeKind::Dense) {
        const int m = y.fan_in();
        for (int i : idx) {
          float* row = y.W + static_cast<size_t>(i) * m;
          rec.save_row(l, i, row, m);
          for (int j = 0; j < m; ++j) {
            if (sp[j] != 0.0f) {
              row[j] = sleep_potentiate(row[j], p.inc, p.gate, p.gate_width);
              st.potentiation[l - 1]++;
            } else {
              row[j] = sleep_depress(row[j], p.dec, p.gate, p.gate_width);
              st.depression[l - 1]++;
            }
          }
        }
      } else if (plastic) {
        // conv: the post spikes of each channel together, with the weights before this step
        pre.assign(sp.size(), 0);
        for (size_t j = 0; j < sp.size(); ++j) pre[j] = sp[j] != 0.0f;
        const size_t CK = static_cast<size_t>(y.in.c) * y.win.kh * y.win.kw;
        size_t a = 0;
        while (a < idx.size()) {
          const int o = idx[a] / per;
          size_t b = a;
          std::vector<int32_t> posts;
          while (b < idx.size() && idx[b] / per == o) posts.push_back(idx[b++] % per);
          conv_stdp_channel(y, y.W + static_cast<size_t>(o) * CK, posts.data(), posts.size(), pre.data(), p, delta, touched,
                            st.potentiation[l - 1], st.depression[l - 1]);
          a = b;
        }
      }
      for (int i : idx) v[l][i] = 0.0f;
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
