// Host side of the CUDA sleep of any SleepNet chain (sleep_net.cuh has the step): which
// requests it runs, the layout of one sleep's buffers and its parameters (computed exactly as
// the CPU engine computes them: sleep.cc, sleep_conv.cc map_layer), and the SleepStats made
// from the buffers after the run (the CPU recorder's counters, in the CPU recorder's order).
// Plain C++17, header-only: sleep_net.cu and the host test of the step
// (test/native-core/sleep_net_host_test.cc) both use it.
#pragma once
#include <algorithm>
#include <cmath>
#include <cstring>
#include <string>
#include <vector>

#include "../core/sleep.h"
#include "sleep_net.cuh"

namespace nrem::cuda::net {

inline bool same_geometry(const SpikingLayer& a, const SpikingLayer& b) {
  return a.kind == b.kind && a.in == b.in && a.out == b.out && a.win.kh == b.win.kh && a.win.kw == b.win.kw &&
         a.win.sh == b.win.sh && a.win.sw == b.win.sw && a.win.pt == b.win.pt && a.win.pl == b.win.pl &&
         a.count_include_pad == b.count_include_pad;
}

// Why this kernel cannot run the batch (empty when it can). The device is not asked here.
inline std::string refusal(const std::vector<SleepNet>& nets, const std::vector<SleepParams>& ps) {
  if (nets.empty()) return "no sleeps to run";
  const SleepNet& n0 = nets.front();
  if (n0.layers.size() > static_cast<size_t>(kMaxLayers))
    return "the CUDA sleep supports at most " + std::to_string(kMaxLayers) + " spiking layers";
  for (const SleepNet& n : nets) {
    if (n.input != n0.input || n.layers.size() != n0.layers.size()) return "the CUDA sleep batch needs networks of one shape";
    for (size_t l = 0; l < n.layers.size(); ++l)
      if (!same_geometry(n.layers[l], n0.layers[l])) return "the CUDA sleep batch needs networks of one shape";
  }
  double units = static_cast<double>(n0.inputs());
  for (const SpikingLayer& y : n0.layers) {
    units += static_cast<double>(y.n());
    if (static_cast<double>(y.n()) * y.fan_in() >= 2147483647.0 || static_cast<double>(y.out.c) * y.fan_in() >= 2147483647.0)
      return "a layer too large for the CUDA sleep (2^31 weights)";
  }
  if (units * 2 >= 2147483647.0) return "layers too large for the CUDA sleep (2^30 neurons)";
  for (const SleepParams& p : ps) {
    if (p.raster_to > p.raster_from) return "rasters are recorded by the CPU engine only";
    if (p.mask_size != ps.front().mask_size) return "the CUDA sleep batch needs one maskSize for all sleeps";
  }
  return "";
}

struct Plan {
  GNet g{};
  std::vector<GParams> params;
  std::vector<float> W, cb;     // K × wsize, K × cbsize
  std::vector<float> mean;      // Mean / MaskedMean: the mean of the rows (double, row order, like the CPU)
  size_t seq_rows = 0;          // Sequence: the rows the sleeps visit (t mod n < seq_rows)
  GInput in{};                  // without device pointers
  int64_t max_steps = 0, trace_stride = 0;
};

inline int align16(int n) { return (n + 15) / 16 * 16; }

inline Plan make_plan(const std::vector<SleepNet>& nets, const std::vector<SleepParams>& ps, const SleepData& d) {
  Plan pl;
  const SleepNet& net0 = nets.front();
  GNet& g = pl.g;
  std::memset(&g, 0, sizeof g);
  g.L = static_cast<int>(net0.layers.size());
  g.n0 = net0.inputs();
  int64_t wsz = 0;
  int vsz = 0, ssz = align16(g.n0), csz = g.n0, fsz = 0, scz = g.L + 1, lsz = 0, cursz = 0, cbsz = 0, s_prev = 0;
  for (int l = 0; l < g.L; ++l) {
    const SpikingLayer& s = net0.layers[l];
    GLayer& y = g.layers[l];
    y.kind = static_cast<int>(s.kind);
    y.C = s.in.c, y.H = s.in.h, y.W = s.in.w;
    y.n = s.n();
    y.fan_in = s.fan_in();
    if (s.kind == SpikeKind::Dense) {
      y.O = y.n, y.Ho = 1, y.Wo = 1;
    } else {
      y.O = s.out.c, y.Ho = s.out.h, y.Wo = s.out.w;
    }
    y.P = y.Ho * y.Wo;
    y.kh = s.win.kh, y.kw = s.win.kw, y.sh = s.win.sh, y.sw = s.win.sw, y.pt = s.win.pt, y.pl = s.win.pl;
    y.count_include_pad = s.count_include_pad;
    y.last = l == g.L - 1;
    y.s_in = s_prev;
    y.s_out = ssz;
    s_prev = ssz;
    ssz += align16(y.n);
    y.c_out = csz;
    csz += y.n;
    y.v_off = vsz;
    vsz += y.n;
    y.first_off = y.chan_off = y.list_off = y.cur_off = y.cb_off = -1;
    if (s.weighted()) {
      y.w_off = wsz;
      wsz += static_cast<int64_t>(s.weight_count());
      y.cb_off = cbsz;
      cbsz += y.O;
      y.list_off = lsz;
      lsz += y.n;
    }
    if (s.kind == SpikeKind::Dense) {
      y.first_off = fsz;
      fsz += y.n;
      y.cur_off = cursz;
      cursz += y.n;
    }
    if (s.kind == SpikeKind::Conv) {
      y.chan_off = scz;
      scz += y.O;
    }
  }
  g.wsize = wsz;
  g.vsize = vsz, g.ssize = ssz, g.csize = csz, g.fsize = fsz, g.stepc_size = scz, g.lsize = lsz, g.cursize = cursz,
  g.cbsize = cbsz;

  const size_t K = nets.size();
  pl.params.resize(K);
  pl.W.resize(K * static_cast<size_t>(wsz));
  pl.cb.assign(K * static_cast<size_t>(cbsz), 0.0f);
  int64_t max_windows = 0;
  for (size_t k = 0; k < K; ++k) {
    const SleepParams& p = ps[k];
    GParams& q = pl.params[k];
    std::memset(&q, 0, sizeof q);
    q.steps = p.steps;
    q.trace_every = p.trace_every;
    q.rate_factor = 2.0f * p.dt * p.max_rate;
    q.dt = p.dt, q.inc = p.inc, q.dec = p.dec, q.decay = p.decay, q.dc = p.dc, q.inhibition = p.inhibition;
    q.gate_width = p.gate_width;
    q.gate = static_cast<int>(p.gate);
    q.conv_mean = p.conv_stdp_mean;
    q.key = sleep_input_key(p.seed);
    q.seed = p.seed;
    const float kappa = 2.0f * p.dt * p.max_rate;
    for (int l = 0; l < g.L; ++l) {
      const SpikingLayer& s = nets[k].layers[l];
      const GLayer& y = g.layers[l];
      q.alpha[l] = p.alpha[l];
      q.thr[l] = p.threshold * p.beta[l];
      q.plastic[l] = s.weighted() && (p.plastic.empty() || p.plastic[l] != 0);
      q.bias[l] = p.bias_current && s.b && s.weighted();
      if (s.weighted()) std::memcpy(pl.W.data() + k * wsz + y.w_off, s.W, sizeof(float) * s.weight_count());
      if (q.bias[l])
        for (int o = 0; o < y.O; ++o) pl.cb[k * cbsz + y.cb_off + o] = q.alpha[l] * (kappa * s.b[o]);
    }
    pl.max_steps = std::max(pl.max_steps, p.steps);
    if (p.trace_every > 0) max_windows = std::max(max_windows, p.steps / p.trace_every);
  }
  pl.trace_stride = max_windows * (g.L + 1);

  GInput& in = pl.in;
  in.mode = static_cast<int>(d.mode);
  in.image_c = d.image_c, in.image_h = d.image_h, in.image_w = d.image_w;
  in.mask_size = ps.front().mask_size;
  if (d.mode == SleepInputMode::Sequence) {
    pl.seq_rows = std::min<size_t>(d.n, static_cast<size_t>(pl.max_steps));
    in.rows = static_cast<int64_t>(d.n);
    for (size_t r = 0; r < pl.seq_rows; ++r) sleep_check_row(d.x + r * g.n0, g.n0, r);  // as the CPU reads them
  } else if (d.mode == SleepInputMode::Mean || d.mode == SleepInputMode::MaskedMean) {
    SleepData md = d;
    md.mode = SleepInputMode::Mean;
    SleepInputSource src(ps.front(), md, g.n0);
    pl.mean.assign(src.at(0), src.at(0) + g.n0);
  }
  return pl;
}

// The initial state of one sleep's counters: every layer quiet.
inline GState initial_state() {
  GState s;
  std::memset(&s, 0, sizeof s);
  for (int l = 0; l <= kMaxLayers; ++l) s.quiet[l] = 1;
  return s;
}

// One sleep's buffers after the run (host copies).
struct Result {
  const float* W;
  const float* v;
  const unsigned* cnt;
  const int64_t* first;
  const GState* st;
  const float* trace;
};

// SleepStats of sleep k as the CPU recorder makes them, and the new weights into net's W.
inline void finish(const Plan& pl, const SleepNet& net, const SleepParams& p, const Result& r, SleepStats& st) {
  const GNet& g = pl.g;
  const int L = g.L;
  st = SleepStats{};
  st.steps = p.steps;
  st.spikes.assign(r.st->spikes, r.st->spikes + L + 1);
  st.potentiation.assign(r.st->pot, r.st->pot + L);
  st.depression.assign(r.st->dep, r.st->dep + L);
  st.changed.assign(L, 0);
  st.abs_change.assign(L, 0.0);
  st.neuron_spikes.resize(L + 1);
  st.neuron_spikes[0].assign(r.cnt, r.cnt + g.n0);
  st.membranes.assign(L + 1, {});
  for (int l = 1; l <= L; ++l) {
    const GLayer& y = g.layers[l - 1];
    st.neuron_spikes[l].assign(r.cnt + y.c_out, r.cnt + y.c_out + y.n);
    st.membranes[l].assign(r.v + y.v_off, r.v + y.v_off + y.n);
  }
  if (p.trace_every > 0) st.trace.assign(r.trace, r.trace + (p.steps / p.trace_every) * (L + 1));
  for (int l = 1; l <= L; ++l) {
    const SpikingLayer& s = net.layers[l - 1];
    if (!s.weighted()) continue;
    const GLayer& y = g.layers[l - 1];
    const float* Wn = r.W + y.w_off;
    float* W = s.W;
    auto count = [&](size_t i) {
      if (Wn[i] != W[i]) {
        st.changed[l - 1]++;
        st.abs_change[l - 1] += std::fabs(static_cast<double>(Wn[i]) - W[i]);
      }
    };
    if (s.kind == SpikeKind::Conv) {
      for (size_t i = 0; i < s.weight_count(); ++i) count(i);
    } else {
      // rows in the order the CPU recorder saved them: by the step of their first update, then row
      std::vector<std::pair<int64_t, int>> rows;
      for (int i = 0; i < y.n; ++i)
        if (r.first[y.first_off + i] >= 0) rows.push_back({r.first[y.first_off + i], i});
      std::sort(rows.begin(), rows.end());
      for (const auto& row : rows)
        for (int j = 0; j < y.fan_in; ++j) count(static_cast<size_t>(row.second) * y.fan_in + j);
    }
    std::memcpy(W, Wn, sizeof(float) * s.weight_count());
  }
}

}  // namespace nrem::cuda::net
