// The step of the CUDA sleep of any SleepNet chain (dense, conv, max/avg pooling; bias
// currents, `layers` plasticity, convStdp sum|mean, lateral inhibition on dense chains):
// the per-thread bodies and the order of the phases, as __host__ __device__ code over an
// executor `Ex`, so that the same code runs as a CUDA thread block (sleep_net.cu,
// DeviceExec: each phase a block-stride loop ended by __syncthreads) and as a plain host
// loop that emulates the block (test/native-core/sleep_net_host_test.cc, in any order of
// the items of a phase). Plain C++17 apart from NREM_HD: g++ compiles it.
//
// The maths is the CPU event engine's (native/core/sleep.cc, sleep_conv.cc; sleep.h,
// sleep-general.md §3), and every float operation is the CPU's, in the CPU's order:
//   input    s0[j] = x_j(t) > 0 and u(key, t, j) < 2·dt·max_rate·x_j(t)        (sleep_rules.h)
//   dense    acc_i = Σ_{j: s[j]=1, ascending j} W[i, j]
//   conv     acc[o,y,x] = 0 + Σ_{(c,i,j) ascending, input inside, s[c,u,v]=1} W[o,c,i,j],
//            u = y·sh + i − pt, v = x·sw + j − pl    (ascending (c,i,j) = ascending input index)
//   avgpool  acc[c,y,x] = 0 + Σ_{cells inside, ascending, spiking} 1/N   (N = kh·kw or cells inside)
//   maxpool  s[c,y,x] = 1 when a cell of the window spiked (no membrane)
//   membrane v = decay·v + alpha·acc  where input arrived (dense: any input spike), else v = decay·v;
//            inhibition (dense): c_i = alpha·acc_i, v = decay·v + (c_i − W_inh·(Σ_i c_i)/n), Σ serial in i;
//            then v += bias current c_o (bias "current"), then v += dc (the output layer)
//   fires    v >= threshold·beta_l, tested only where input arrived or a bias current / dc acts; v = 0
//   STDP     dense, fired i: W[i,j] ← s[j] ? w + inc·f(w) : w − dec·f(w)          (each weight once)
//            conv, channel o with posts q_1 < … < q_n: per kernel element k (one thread each)
//            delta = 0 (+inc·f(w) | −dec·f(w)) over the posts in ascending order whose input lies
//            inside, f at w before this step; W ← w + delta (mean: w + delta/n) if any term
// Ownership, no float atomics: a membrane and a neuron counter belong to the neuron's thread,
// a dense weight to the (fired row, column) item, a conv weight to its kernel element's
// thread, which sums its own delta serially; integer counters use atomicAdd (exact in any order).
// The one expf of the rules (the STDP gate) is glibc's algorithm (exact_expf.cuh), so the
// gate rounds as on the CPU; CUDA's own expf is off by up to 2 ulp.
#pragma once
#include <cmath>
#include <cstdint>

#include "exact_expf.cuh"

namespace nrem::cuda::net {

constexpr int kMaxLayers = 16;
// SpikeKind and SleepInputMode of sleep.h, as ints.
enum : int { kDense = 0, kConv = 1, kMaxPool = 2, kAvgPool = 3 };
enum : int { kSequence = 0, kMean = 1, kMaskedMean = 2, kReplay = 3 };

// The geometry of one spiking layer and where its data lie in one sleep's buffers.
struct GLayer {
  int kind;
  int C, H, W;              // input
  int O, Ho, Wo, P;         // output channels, positions (P = Ho·Wo; dense: O = n, P = 1)
  int kh, kw, sh, sw, pt, pl;
  int n, fan_in;            // neurons, weights per neuron (dense: C·H·W, conv: C·kh·kw)
  int count_include_pad;
  int last;                 // the output layer (dc)
  int64_t w_off;            // weights (float) of a weighted layer
  int v_off;                // membranes
  int s_in, s_out;          // spike flags (bytes) of the input and of this layer
  int c_out;                // per-neuron spike counters
  int first_off;            // dense: the step of each row's first STDP update (-1: none)
  int chan_off;             // conv: per-channel post counts of the step, in stepc
  int list_off;             // dense: fired rows of the step; conv: posts per channel (o·P + r)
  int cur_off;              // dense with inhibition: the currents of the step
  int cb_off;               // bias currents, one per output channel
};

struct GNet {
  int L, n0;
  GLayer layers[kMaxLayers];
  int64_t wsize;  // floats of weights per sleep
  int vsize, ssize, csize, fsize, stepc_size, lsize, cursize, cbsize;
};

struct GParams {  // one sleep's parameters, computed on the host exactly as the CPU engine does
  int64_t steps, trace_every;
  float rate_factor, dt, inc, dec, decay, dc, inhibition, gate_width;
  int gate, conv_mean;
  uint64_t key, seed;
  float alpha[kMaxLayers], thr[kMaxLayers];
  int plastic[kMaxLayers], bias[kMaxLayers];
};

struct GState {  // one sleep's counters across launches
  unsigned long long spikes[kMaxLayers + 1], window[kMaxLayers + 1], pot[kMaxLayers], dep[kMaxLayers];
  int quiet[kMaxLayers + 1];  // layer l: every membrane and spike flag is 0 (so a step without input is a no-op)
  float drop;                 // inhibition of the current layer
  int64_t trace_pos;
};

struct GInput {
  int mode;
  const float* x;  // Sequence: rows × n0; Mean / MaskedMean: the mean (n0)
  int64_t rows;
  int image_c, image_h, image_w, mask_size;
  const int32_t* roff;
  const int32_t* ridx;
};

// One sleep's buffers.
struct GView {
  float* W;
  float* v;
  uint8_t* s;
  unsigned* cnt;
  int64_t* first;
  unsigned* stepc;  // per step: [0, L] the spikes of each layer, then conv channel counts
  int32_t* list;
  float* cur;
  const float* cb;
  GState* st;
  float* trace;
};

NREM_HD inline float input_value(const GInput& in, int n0, int64_t t, int j, int r0, int c0) {
  switch (in.mode) {
    case kSequence:
      return in.x[static_cast<size_t>(t % in.rows) * n0 + j];
    case kMean:
      return in.x[j];
    default: {  // MaskedMean: the window over H×W, every channel
      const int r = (j / in.image_w) % in.image_h, c = j % in.image_w;
      return (r >= r0 && r < r0 + in.mask_size && c >= c0 && c < c0 + in.mask_size) ? in.x[j] : 0.0f;
    }
  }
}

// The masked-mean window of step t: top-left (r0, c0), as SleepInputSource::at.
NREM_HD inline void mask_window(const GInput& in, uint64_t seed, int64_t t, int& r0, int& c0) {
  const int k = in.mask_size, H = in.image_h, W = in.image_w;
  r0 = static_cast<int>(rng_uniform(seed, kStreamSleepWindow, static_cast<uint64_t>(t), 0) * (H - k + 1));
  c0 = static_cast<int>(rng_uniform(seed, kStreamSleepWindow, static_cast<uint64_t>(t), 1) * (W - k + 1));
  r0 = r0 < H - k ? r0 : H - k;
  c0 = c0 < W - k ? c0 : W - k;
}

// Clipped window rows [u0, u1) and columns [v0, v1) of output position (oy, ox).
struct Span {
  int u0, u1, v0, v1;
};
NREM_HD inline Span span(const GLayer& y, int oy, int ox) {
  const int a = oy * y.sh - y.pt, b = ox * y.sw - y.pl;
  Span s;
  s.u0 = a < 0 ? 0 : a;
  s.u1 = a + y.kh < y.H ? a + y.kh : y.H;
  s.v0 = b < 0 ? 0 : b;
  s.v1 = b + y.kw < y.W ? b + y.kw : y.W;
  return s;
}

// ---- per-thread bodies -----------------------------------------------------------------

template <class Ex>
NREM_HD void input_unit(Ex& ex, const GNet& g, const GParams& p, const GView& s, const GInput& in, int64_t t, int r0,
                        int c0, int j) {
  const float x = input_value(in, g.n0, t, j, r0, c0);
  const bool fire = x > 0.0f && sleep_input_fires(sleep_input_uniform(p.key, static_cast<uint64_t>(t), sleep_unit_hash(j)),
                                                  p.rate_factor, x);
  s.s[j] = fire;
  if (fire) {
    s.cnt[j]++;
    ex.add(&s.stepc[0], 1u);
  }
}

template <class Ex>
NREM_HD void maxpool_unit(Ex& ex, const GLayer& y, int l, const GView& s, unsigned prev, int i) {
  const uint8_t* sp = s.s + y.s_in;
  const int c = i / y.P, q = i % y.P;
  bool any = false;
  if (prev) {
    const Span w = span(y, q / y.Wo, q % y.Wo);
    for (int u = w.u0; u < w.u1 && !any; ++u)
      for (int v = w.v0; v < w.v1; ++v)
        if (sp[(static_cast<size_t>(c) * y.H + u) * y.W + v]) any = true;
  }
  s.s[y.s_out + i] = any;
  if (any) {
    s.cnt[y.c_out + i]++;
    ex.add(&s.stepc[l], 1u);
  }
}

// The summed input of neuron i (acc) and whether any input reached it (nin spiking inputs of
// the ninside kernel elements inside the input).
struct Drive {
  float acc;
  bool touched;
  unsigned nin, ninside;
};
NREM_HD inline Drive drive(const GLayer& y, const GView& s, unsigned prev, int i) {
  const uint8_t* sp = s.s + y.s_in;
  Drive d{0.0f, false, 0u, 0u};
  if (y.kind == kDense) {
    if (!prev) return d;
    const float* Wr = s.W + y.w_off + static_cast<int64_t>(i) * y.fan_in;
    bool first = true;
    for (int j = 0; j < y.fan_in; ++j)
      if (sp[j]) {
        d.acc = first ? Wr[j] : d.acc + Wr[j];
        first = false;
      }
    d.touched = true;
    return d;
  }
  const int o = i / y.P, q = i % y.P;
  const Span w = span(y, q / y.Wo, q % y.Wo);
  const unsigned cells = static_cast<unsigned>((w.u1 - w.u0) * (w.v1 - w.v0));
  if (y.kind == kConv) {
    d.ninside = cells * static_cast<unsigned>(y.C);
    if (!prev) return d;
    const float* Wo = s.W + y.w_off + static_cast<int64_t>(o) * y.fan_in;
    const int a = (q / y.Wo) * y.sh - y.pt, b = (q % y.Wo) * y.sw - y.pl;
    for (int c = 0; c < y.C; ++c)
      for (int u = w.u0; u < w.u1; ++u) {
        const uint8_t* row = sp + (static_cast<size_t>(c) * y.H + u) * y.W;
        const float* wr = Wo + (c * y.kh + (u - a)) * y.kw;
        for (int v = w.v0; v < w.v1; ++v)
          if (row[v]) {
            d.acc = d.acc + wr[v - b];
            ++d.nin;
          }
      }
  } else {  // avg-pool: channel o reads input channel o
    if (!prev) return d;
    const int N = y.count_include_pad ? y.kh * y.kw : static_cast<int>(cells);
    const float pw = 1.0f / static_cast<float>(N);
    for (int u = w.u0; u < w.u1; ++u)
      for (int v = w.v0; v < w.v1; ++v)
        if (sp[(static_cast<size_t>(o) * y.H + u) * y.W + v]) {
          d.acc = d.acc + pw;
          ++d.nin;
        }
  }
  d.touched = d.nin > 0;
  return d;
}

// Inhibition, first pass: the current alpha·acc of dense neuron i.
NREM_HD inline void dense_current(const GLayer& y, int l, const GParams& p, const GView& s, unsigned prev, int i) {
  s.cur[y.cur_off + i] = p.alpha[l - 1] * drive(y, s, prev, i).acc;
}

// Membrane, spike, reset and bookkeeping of neuron i of a dense, conv or avg-pool layer.
// inhib: the currents were computed by dense_current and the drop is in st->drop.
template <class Ex>
NREM_HD void neuron(Ex& ex, const GLayer& y, int l, const GParams& p, const GView& s, unsigned prev, int64_t t, bool inhib,
                    int i) {
  const int o = i / y.P;
  float vi = s.v[y.v_off + i];
  Drive d;
  if (inhib) {
    d = Drive{0.0f, prev > 0, 0u, 0u};
    vi = prev ? sleep_membrane(vi, p.decay, s.cur[y.cur_off + i] - s.st->drop) : p.decay * vi;
  } else {
    d = drive(y, s, prev, i);
    vi = d.touched ? sleep_membrane(vi, p.decay, p.alpha[l - 1] * d.acc) : p.decay * vi;
  }
  const bool dc = y.last && p.dc != 0.0f;
  if (p.bias[l - 1]) vi = vi + s.cb[y.cb_off + o];
  if (dc) vi = vi + p.dc;
  const bool fire = (d.touched || p.bias[l - 1] || dc) && sleep_fires(vi, p.thr[l - 1]);
  if (fire) {
    vi = 0.0f;
    s.cnt[y.c_out + i]++;
    const unsigned r = ex.add(&s.stepc[l], 1u);
    if (p.plastic[l - 1] && y.kind == kDense) {
      s.list[y.list_off + r] = i;
      if (s.first[y.first_off + i] < 0) s.first[y.first_off + i] = t;
    } else if (p.plastic[l - 1] && y.kind == kConv) {
      ex.add(&s.stepc[y.chan_off + o], 1u);
      ex.add64(&s.st->pot[l - 1], d.nin);
      ex.add64(&s.st->dep[l - 1], d.ninside - d.nin);
    }
  }
  s.s[y.s_out + i] = fire;
  s.v[y.v_off + i] = vi;
}

// Dense STDP, item e = (r-th fired row, column j).
NREM_HD inline void dense_stdp(const GLayer& y, const GParams& p, const GView& s, int e) {
  const int r = e / y.fan_in, j = e % y.fan_in;
  const int i = s.list[y.list_off + r];
  float* w = s.W + y.w_off + static_cast<int64_t>(i) * y.fan_in + j;
  const float g = sleep_gate_exact(*w, p.gate, p.gate_width);
  *w = s.s[y.s_in + j] ? *w + p.inc * g : *w - p.dec * g;
}

// Conv: the posts of channel o in ascending position (one thread per channel).
NREM_HD inline void conv_posts(const GLayer& y, const GView& s, int o) {
  if (!s.stepc[y.chan_off + o]) return;
  const uint8_t* so = s.s + y.s_out + static_cast<size_t>(o) * y.P;
  int32_t* out = s.list + y.list_off + static_cast<size_t>(o) * y.P;
  int m = 0;
  for (int q = 0; q < y.P; ++q)
    if (so[q]) out[m++] = q;
}

// Conv STDP of kernel element e = (o, c, i, j) over the posts of channel o (conv_stdp_channel).
NREM_HD inline void conv_stdp(const GLayer& y, const GParams& p, const GView& s, int e) {
  const int o = e / y.fan_in, k = e % y.fan_in;
  const unsigned n = s.stepc[y.chan_off + o];
  if (!n) return;
  const int c = k / (y.kh * y.kw), ki = (k / y.kw) % y.kh, kj = k % y.kw;
  float* wp = s.W + y.w_off + static_cast<int64_t>(o) * y.fan_in + k;
  const float w = *wp;
  const float g = sleep_gate_exact(w, p.gate, p.gate_width);
  const uint8_t* sp = s.s + y.s_in + static_cast<size_t>(c) * y.H * y.W;
  const int32_t* posts = s.list + y.list_off + static_cast<size_t>(o) * y.P;
  float delta = 0.0f;
  bool any = false;
  for (unsigned r = 0; r < n; ++r) {
    const int q = posts[r];
    const int u = (q / y.Wo) * y.sh + ki - y.pt, v = (q % y.Wo) * y.sw + kj - y.pl;
    if (u < 0 || u >= y.H || v < 0 || v >= y.W) continue;
    delta = sp[u * y.W + v] ? delta + p.inc * g : delta - p.dec * g;
    any = true;
  }
  if (any) *wp = p.conv_mean ? w + delta / static_cast<float>(n) : w + delta;
}

// ---- one step, phase by phase ------------------------------------------------------------
// Ex: each(n, f) runs f(0..n-1) (any order, concurrently) and then waits for all of them;
// one(f) runs f once and waits; add / add64 are integer atomic adds (add returns the old value).

template <class Ex>
NREM_HD void sleep_step(Ex& ex, const GNet& g, const GParams& p, const GView& s, const GInput& in, int64_t t) {
  ex.each(g.stepc_size, [&](int i) { s.stepc[i] = 0u; });
  // ---- layer 0 ----
  if (in.mode == kReplay) {
    const int32_t a = in.roff[t], b = in.roff[t + 1];
    ex.each(g.n0, [&](int j) { s.s[j] = 0; });
    ex.each(b - a, [&](int q) { s.s[in.ridx[a + q]] = 1; });
    ex.each(g.n0, [&](int j) {
      if (s.s[j]) {
        s.cnt[j]++;
        ex.add(&s.stepc[0], 1u);
      }
    });
  } else {
    int r0 = 0, c0 = 0;
    if (in.mode == kMaskedMean) mask_window(in, p.seed, t, r0, c0);
    ex.each(g.n0, [&](int j) { input_unit(ex, g, p, s, in, t, r0, c0, j); });
  }
  // ---- layers 1..L ----
  for (int l = 1; l <= g.L; ++l) {
    const GLayer& y = g.layers[l - 1];
    const unsigned prev = s.stepc[l - 1];
    const bool forced = p.bias[l - 1] || (y.last && p.dc != 0.0f);
    if (!prev && !forced && s.st->quiet[l]) continue;  // all zero, and stays so
    if (y.kind == kMaxPool) {
      ex.each(y.n, [&](int i) { maxpool_unit(ex, y, l, s, prev, i); });
      continue;
    }
    const bool inhib = y.kind == kDense && p.inhibition != 0.0f && prev;
    if (inhib) {
      ex.each(y.n, [&](int i) { dense_current(y, l, p, s, prev, i); });
      ex.one([&] {
        float sum = 0.0f;
        for (int i = 0; i < y.n; ++i) sum += s.cur[y.cur_off + i];
        s.st->drop = p.inhibition * (sum / static_cast<float>(y.n));
      });
    }
    ex.each(y.n, [&](int i) { neuron(ex, y, l, p, s, prev, t, inhib, i); });
    const unsigned fired = s.stepc[l];
    if (!fired || !p.plastic[l - 1]) continue;
    if (y.kind == kDense) {
      ex.each(static_cast<int>(fired) * y.fan_in, [&](int e) { dense_stdp(y, p, s, e); });
    } else if (y.kind == kConv) {
      ex.each(y.O, [&](int o) { conv_posts(y, s, o); });
      ex.each(y.O * y.fan_in, [&](int e) { conv_stdp(y, p, s, e); });
    }
  }
  // ---- counters, quiet flags, trace (one thread) ----
  ex.one([&] {
    GState& st = *s.st;
    for (int l = 0; l <= g.L; ++l) {
      const unsigned long long c = s.stepc[l];
      st.spikes[l] += c;
      st.window[l] += c;
      if (l == 0) continue;
      const GLayer& y = g.layers[l - 1];
      const unsigned prev = s.stepc[l - 1];
      const bool forced = p.bias[l - 1] || (y.last && p.dc != 0.0f);
      const bool skipped = !prev && !forced && st.quiet[l];
      st.quiet[l] = skipped || (y.kind == kMaxPool && c == 0);
      if (y.kind == kDense && p.plastic[l - 1]) {
        st.pot[l - 1] += c * prev;
        st.dep[l - 1] += c * (static_cast<unsigned long long>(y.fan_in) - prev);
      }
    }
    if (p.trace_every > 0 && (t + 1) % p.trace_every == 0) {
      for (int l = 0; l <= g.L; ++l) {
        const int n = l == 0 ? g.n0 : g.layers[l - 1].n;
        s.trace[st.trace_pos++] =
            static_cast<float>(static_cast<double>(st.window[l]) / (static_cast<double>(n) * p.trace_every * p.dt));
        st.window[l] = 0;
      }
    }
  });
}

}  // namespace nrem::cuda::net
