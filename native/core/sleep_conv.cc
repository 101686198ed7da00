// Conv and pooling layers of the event-driven sleep (sleep_conv.h for the maths), and the
// conv STDP rule both engines share (sleep.h conv_stdp_channel).
#include "sleep_conv.h"

#include "cpu.h"

#include <algorithm>
#include <cstring>

namespace nrem {

FanOut fan_out(const SpikingLayer& l) {
  const int C = l.in.c, H = l.in.h, W = l.in.w, Ho = l.out.h, Wo = l.out.w;
  const Window& w = l.win;
  FanOut m;
  m.off.assign(static_cast<size_t>(C) * H * W + 1, 0);
  for (int c = 0; c < C; ++c)
    for (int u = 0; u < H; ++u)
      for (int v = 0; v < W; ++v) {
        const size_t j = (static_cast<size_t>(c) * H + u) * W + v;
        for (int y = 0; y < Ho; ++y) {
          const int i = u + w.pt - y * w.sh;
          if (i < 0 || i >= w.kh) continue;
          for (int x = 0; x < Wo; ++x) {
            const int jj = v + w.pl - x * w.sw;
            if (jj < 0 || jj >= w.kw) continue;
            m.pos.push_back(y * Wo + x);
            m.widx.push_back((c * w.kh + i) * w.kw + jj);
          }
        }
        m.off[j + 1] = static_cast<int32_t>(m.pos.size());
      }
  return m;
}

void conv_stdp_channel(const SpikingLayer& l, float* Wo, const int32_t* posts, size_t count, const uint8_t* pre,
                       const SleepParams& p, std::vector<float>& delta, std::vector<uint8_t>& touched, uint64_t& pot,
                       uint64_t& dep) {
  const int C = l.in.c, H = l.in.h, W = l.in.w, Wout = l.out.w;
  const Window& w = l.win;
  const size_t CK = static_cast<size_t>(C) * w.kh * w.kw;
  delta.assign(CK, 0.0f);
  touched.assign(CK, 0);
  for (size_t q = 0; q < count; ++q) {
    const int y = posts[q] / Wout, x = posts[q] % Wout;
    for (int c = 0; c < C; ++c)
      for (int i = 0; i < w.kh; ++i) {
        const int u = y * w.sh + i - w.pt;
        if (u < 0 || u >= H) continue;
        for (int j = 0; j < w.kw; ++j) {
          const int v = x * w.sw + j - w.pl;
          if (v < 0 || v >= W) continue;
          const size_t k = (static_cast<size_t>(c) * w.kh + i) * w.kw + j;
          // f at the weight before this step's STDP: Wo is updated only after the loop
          const float g = sleep_gate(Wo[k], p.gate, p.gate_width);
          if (pre[(static_cast<size_t>(c) * H + u) * W + v]) {
            delta[k] = delta[k] + p.inc * g;
            ++pot;
          } else {
            delta[k] = delta[k] - p.dec * g;
            ++dep;
          }
          touched[k] = 1;
        }
      }
  }
  const float n = static_cast<float>(count);
  for (size_t k = 0; k < CK; ++k)
    if (touched[k]) Wo[k] = p.conv_stdp_mean ? Wo[k] + delta[k] / n : Wo[k] + delta[k];
}

MapLayer map_layer(const SpikingLayer& l, const SleepParams& p, int index, bool last) {
  MapLayer m;
  m.l = &l;
  m.map = fan_out(l);
  m.P = l.out.h * l.out.w;
  m.CK = l.kind == SpikeKind::Conv ? l.in.c * l.win.kh * l.win.kw : 0;
  m.alpha = p.alpha[index];
  m.thr = p.threshold * p.beta[index];
  m.has_dc = last && p.dc != 0.0f;
  m.dc = p.dc;
  m.plastic = l.kind == SpikeKind::Conv && (p.plastic.empty() || p.plastic[index]);
  if (l.kind == SpikeKind::Conv && p.bias_current && l.b) {
    const float kappa = 2.0f * p.dt * p.max_rate;
    m.bias.resize(l.out.c);
    for (int o = 0; o < l.out.c; ++o) m.bias[o] = m.alpha * (kappa * l.b[o]);
  }
  const size_t words = (static_cast<size_t>(m.P) + 63) / 64;
  if (l.kind == SpikeKind::AvgPool) {
    m.pool_w.resize(m.P);
    const Window& w = l.win;
    for (int y = 0; y < l.out.h; ++y)
      for (int x = 0; x < l.out.w; ++x) {
        const int u0 = std::max(y * w.sh - w.pt, 0), u1 = std::min(y * w.sh - w.pt + w.kh, l.in.h);
        const int v0 = std::max(x * w.sw - w.pl, 0), v1 = std::min(x * w.sw - w.pl + w.kw, l.in.w);
        const int N = l.count_include_pad ? w.kh * w.kw : (u1 - u0) * (v1 - v0);
        m.pool_w[y * l.out.w + x] = 1.0f / static_cast<float>(N);
      }
    m.v.assign(static_cast<size_t>(l.out.c) * m.P, 0.0f);
    m.acc.assign(l.out.c, std::vector<float>(m.P, 0.0f));
    m.bits.assign(l.out.c, std::vector<uint64_t>(words, 0));
    m.touched.resize(l.out.c);
  } else {
    for (int o0 = 0; o0 < l.out.c; o0 += kConvLanes) {
      ConvGroup g;
      g.o0 = o0;
      g.G = std::min(kConvLanes, l.out.c - o0);
      g.Wt.assign(static_cast<size_t>(m.CK) * kConvLanes, 0.0f);
      for (int lane = 0; lane < g.G; ++lane)
        for (int k = 0; k < m.CK; ++k) g.Wt[static_cast<size_t>(k) * kConvLanes + lane] = l.W[static_cast<size_t>(o0 + lane) * m.CK + k];
      g.v.assign(static_cast<size_t>(m.P) * kConvLanes, 0.0f);
      g.acc.assign(static_cast<size_t>(m.P) * kConvLanes, 0.0f);
      g.cb.assign(kConvLanes, 0.0f);
      if (!m.bias.empty())
        for (int lane = 0; lane < g.G; ++lane) g.cb[lane] = m.bias[o0 + lane];
      g.bits.assign(words, 0);
      g.touched.assign(m.P, 0);
      g.fire_q.assign(m.P, 0);
      g.fire_m.assign(m.P, 0);
      g.pre.assign(l.in.size(), 0);
      m.groups.push_back(std::move(g));
    }
  }
  m.v_zero.assign(l.out.c, 1);
  m.out_k.resize(l.out.c);
  m.out_p.resize(l.out.c);
  m.pot.assign(l.out.c, 0);
  m.dep.assign(l.out.c, 0);
  return m;
}

namespace {
void decay_all(float* __restrict v, size_t n, float decay) {
  for (size_t i = 0; i < n; ++i) v[i] = decay * v[i];
}
void add_all(float* __restrict v, size_t n, float c) {
  for (size_t i = 0; i < n; ++i) v[i] = v[i] + c;
}
// Marks position q as touched this step (bitmap + list); returns true the first time.
inline bool mark(std::vector<uint64_t>& bits, std::vector<int32_t>& touched, int32_t q) {
  uint64_t& w = bits[static_cast<size_t>(q) >> 6];
  const uint64_t b = 1ull << (q & 63);
  if (w & b) return false;
  w |= b;
  touched.push_back(q);
  return true;
}
// Calls fn(q) for the set bits in ascending q, clearing them.
template <class F>
inline void each_set(std::vector<uint64_t>& bits, F&& fn) {
  for (size_t i = 0; i < bits.size(); ++i)
    for (uint64_t w = bits[i]; w; w &= w - 1) fn(static_cast<int32_t>(i * 64 + __builtin_ctzll(w)));
  std::fill(bits.begin(), bits.end(), 0);
}
}  // namespace

void conv_group_window(MapLayer& m, int gi, const WindowSpikes& in, int64_t K, const SleepParams& p) {
  const SpikingLayer& l = *m.l;
  const SleepKernels& kern = kernels().sleep;  // the step's loops on this CPU's path (sleep_conv_simd.h)
  ConvGroup& g = m.groups[gi];
  const int P = m.P, CK = m.CK, G = g.G;
  float* v = g.v.data();
  float* acc = g.acc.data();
  const bool bias = !m.bias.empty();
  const float* cb = bias ? g.cb.data() : nullptr;
  const float* dc = m.has_dc ? &m.dc : nullptr;
  const float decay = p.decay, alpha = m.alpha, thr = m.thr;
  for (int lane = 0; lane < G; ++lane) {
    m.out_k[g.o0 + lane].clear();
    m.out_p[g.o0 + lane].clear();
  }
  for (int64_t k = 0; k < K; ++k) {
    const int32_t* s = in.idx.data() + in.off[k];
    const size_t cnt = static_cast<size_t>(in.off[k + 1] - in.off[k]);
    // a[q][·] += Wᵀ[w][·] for every (q, w) an input spike reaches, spikes in ascending order
    const size_t nt = kern.conv_accumulate(s, cnt, m.map.off.data(), m.map.pos.data(), m.map.widx.data(), g.Wt.data(), acc,
                                           g.bits.data(), g.touched.data(), 0);
    const bool input = nt > 0;
    if (!input && g.v_zero && !bias && !m.has_dc) continue;
    kern.conv_membrane(v, acc, static_cast<size_t>(P), decay, alpha, g.touched.data(), nt, cb, dc);  // as sleep_membrane
    if (input || bias || m.has_dc) g.v_zero = false;
    // Who can fire: with a bias current or a drive every neuron; else those that got input.
    if (bias || m.has_dc) std::fill(g.bits.begin(), g.bits.end(), 0);
    const size_t nf = kern.conv_fire(v, bias || m.has_dc ? nullptr : g.bits.data(), P, thr, g.fire_q.data(), g.fire_m.data());
    if (!nf) continue;
    for (size_t f = 0; f < nf; ++f)
      for (unsigned mk = g.fire_m[f]; mk; mk &= mk - 1) g.posts[__builtin_ctz(mk)].push_back(g.fire_q[f]);
    if (m.plastic)
      for (size_t z = 0; z < cnt; ++z) g.pre[s[z]] = 1;
    for (int lane = 0; lane < G; ++lane) {
      auto& posts = g.posts[lane];
      if (posts.empty()) continue;
      const int o = g.o0 + lane;
      if (m.plastic) {
        float* Wo = l.W + static_cast<size_t>(o) * CK;
        conv_stdp_channel(l, Wo, posts.data(), posts.size(), g.pre.data(), p, g.delta, g.touched_w, m.pot[o], m.dep[o]);
        for (int w = 0; w < CK; ++w)
          if (g.touched_w[w]) g.Wt[static_cast<size_t>(w) * kConvLanes + lane] = Wo[w];
      }
      for (int32_t q : posts) {
        v[static_cast<size_t>(q) * kConvLanes + lane] = 0.0f;
        m.out_k[o].push_back(static_cast<int32_t>(k));
        m.out_p[o].push_back(q);
      }
      posts.clear();
    }
    if (m.plastic)
      for (size_t z = 0; z < cnt; ++z) g.pre[s[z]] = 0;
  }
  for (int lane = 0; lane < G; ++lane) m.v_zero[g.o0 + lane] = g.v_zero;
}

void map_channel_window(MapLayer& m, int o, const WindowSpikes& in, int64_t K, const SleepParams& p) {
  const SpikingLayer& l = *m.l;
  const int P = m.P;
  const int HW = l.in.h * l.in.w;
  float* v = m.v.data() + static_cast<size_t>(o) * P;
  const float* pw = m.pool_w.data();
  const float decay = p.decay, alpha = m.alpha, thr = m.thr;
  // A pool channel o reads only input channel o.
  const int32_t lo = o * HW, hi = (o + 1) * HW;
  std::vector<float>& acc = m.acc[o];
  std::vector<uint64_t>& bits = m.bits[o];
  std::vector<int32_t>& touched = m.touched[o];
  auto& ok = m.out_k[o];
  auto& op = m.out_p[o];
  ok.clear();
  op.clear();
  bool v_zero = m.v_zero[o];
  for (int64_t k = 0; k < K; ++k) {
    const int32_t* s = in.idx.data() + in.off[k];
    const size_t cnt = static_cast<size_t>(in.off[k + 1] - in.off[k]);
    touched.clear();
    for (size_t z = 0; z < cnt; ++z) {
      const int32_t j = s[z];
      if (j < lo || j >= hi) continue;
      for (int32_t e = m.map.off[j]; e < m.map.off[j + 1]; ++e) {
        const int32_t q = m.map.pos[e];
        mark(bits, touched, q);
        acc[q] += pw[q];
      }
    }
    const bool input = !touched.empty();
    if (!input && v_zero && !m.has_dc) continue;
    decay_all(v, P, decay);
    for (int32_t q : touched) {
      v[q] = v[q] + alpha * acc[q];
      acc[q] = 0.0f;
    }
    if (m.has_dc) add_all(v, P, m.dc);
    if (input || m.has_dc) v_zero = false;
    auto check = [&](int32_t q) {
      if (sleep_fires(v[q], thr)) {
        v[q] = 0.0f;
        ok.push_back(static_cast<int32_t>(k));
        op.push_back(q);
      }
    };
    if (m.has_dc) {
      std::fill(bits.begin(), bits.end(), 0);
      for (int32_t q = 0; q < P; ++q) check(q);
    } else {
      each_set(bits, check);
    }
  }
  m.v_zero[o] = v_zero;
}

void maxpool_window(const SpikingLayer& l, const FanOut& map, const WindowSpikes& in, int64_t K, WindowSpikes& out) {
  const int P = l.out.h * l.out.w, HW = l.in.h * l.in.w;
  std::vector<uint8_t> seen(static_cast<size_t>(l.out.c) * P, 0);
  out.off.assign(1, 0);
  out.idx.clear();
  std::vector<int32_t> step;
  for (int64_t k = 0; k < K; ++k) {
    step.clear();
    for (int32_t z = in.off[k]; z < in.off[k + 1]; ++z) {
      const int32_t j = in.idx[z];
      const int32_t base = (j / HW) * P;
      for (int32_t e = map.off[j]; e < map.off[j + 1]; ++e) {
        const int32_t q = base + map.pos[e];
        if (!seen[q]) seen[q] = 1, step.push_back(q);
      }
    }
    std::sort(step.begin(), step.end());
    for (int32_t q : step) seen[q] = 0;
    out.idx.insert(out.idx.end(), step.begin(), step.end());
    out.off.push_back(static_cast<int32_t>(out.idx.size()));
  }
}

void merge_map_spikes(const MapLayer& m, int64_t K, WindowSpikes& out) {
  auto& off = out.off;
  off.assign(static_cast<size_t>(K) + 1, 0);
  const int C = m.l->out.c;
  for (int o = 0; o < C; ++o)
    for (int32_t k : m.out_k[o]) off[k + 1]++;
  for (int64_t k = 0; k < K; ++k) off[k + 1] += off[k];
  out.idx.resize(off[K]);
  std::vector<int32_t> cur(off.begin(), off.end() - 1);
  // channel-major, positions ascending within a channel: ascending o·P + p per step
  for (int o = 0; o < C; ++o)
    for (size_t q = 0; q < m.out_k[o].size(); ++q) out.idx[cur[m.out_k[o][q]]++] = o * m.P + m.out_p[o][q];
}

}  // namespace nrem
