// The CUDA sleep of SleepNet chains (native/cuda/sleep_net.cuh) run on the host: the kernel's
// step — its per-thread bodies and phases — compiled by g++ and driven by HostExec, which
// emulates one thread block per sleep by running the items of each phase in a loop (in
// ascending, descending or interleaved order: the results must not depend on it, as on the
// GPU, where the items run concurrently). Each case sleeps copies of one network with the CPU
// event engine (nrem::sleep_run) and with the emulation, and requires equal spikes (every
// counter and per-neuron count), equal STDP counts, weights and membranes bit for bit, equal
// rate traces and changed-weight statistics.
//
// Cases: random small CNNs (conv with padding and stride 2, max- and average-pooling with and
// without count_include_pad, dense heads; bias ignore|current, convStdp sum|mean, `layers`
// plasticity, the three gates, the four input modes, output drive, a batch of three), a
// dense chain with bias currents and lateral inhibition, and — given a file written by
// test/sleep-cuda-emulated.test.ts — the LeNet fixture on MNIST digits.
// Usage: sleep_net_host_test [lenet.bin]. Prints one line per case, then "ok N cases".
#include <cstdio>
#include <cstring>
#include <fstream>
#include <string>
#include <vector>

#include "../../native/cuda/sleep_net_plan.h"

using namespace nrem;
namespace cn = nrem::cuda::net;

namespace {

struct HostExec {
  int order = 0;  // 0 ascending, 1 descending, 2 odd items first
  template <class F>
  void each(int n, F&& f) {
    if (order == 1) {
      for (int i = n - 1; i >= 0; --i) f(i);
    } else if (order == 2) {
      for (int i = 1; i < n; i += 2) f(i);
      for (int i = 0; i < n; i += 2) f(i);
    } else {
      for (int i = 0; i < n; ++i) f(i);
    }
  }
  template <class F>
  void one(F&& f) {
    f();
  }
  unsigned add(unsigned* p, unsigned v) {
    const unsigned o = *p;
    *p = o + v;
    return o;
  }
  void add64(unsigned long long* p, unsigned long long v) { *p += v; }
};

// sleep_net.cu's sleep_batch_net with host vectors for device buffers and HostExec for the grid.
void emulate(std::vector<SleepNet>& nets, const std::vector<SleepParams>& ps, const SleepData& d,
             std::vector<SleepStats>& stats, int order) {
  for (size_t k = 0; k < nets.size(); ++k) sleep_validate(nets[k], ps[k], d);
  const std::string why = cn::refusal(nets, ps);
  require(why.empty(), "ERR_UNSUPPORTED", why);
  const cn::Plan pl = cn::make_plan(nets, ps, d);
  const cn::GNet& g = pl.g;
  const size_t K = nets.size();
  std::vector<float> W = pl.W, v(K * g.vsize, 0.0f), cur(K * g.cursize, 0.0f), trace(K * pl.trace_stride + 1, 0.0f);
  std::vector<uint8_t> s(K * g.ssize, 0);
  std::vector<unsigned> cnt(K * g.csize, 0), stepc(K * g.stepc_size, 0);
  std::vector<int64_t> first(K * g.fsize, -1);
  std::vector<int32_t> list(K * g.lsize, 0);
  std::vector<cn::GState> states(K, cn::initial_state());
  cn::GInput in = pl.in;
  in.x = d.mode == SleepInputMode::Sequence ? d.x : pl.mean.data();
  in.roff = d.replay_offsets;
  in.ridx = d.replay_indices;
  HostExec ex{order};
  stats.assign(K, SleepStats{});
  for (size_t k = 0; k < K; ++k) {
    cn::GView view{W.data() + k * g.wsize, v.data() + k * g.vsize, s.data() + k * g.ssize, cnt.data() + k * g.csize,
                   first.data() + k * g.fsize, stepc.data() + k * g.stepc_size, list.data() + k * g.lsize,
                   cur.data() + k * g.cursize, pl.cb.data() + k * g.cbsize, &states[k], trace.data() + k * pl.trace_stride};
    for (int64_t t = 0; t < ps[k].steps; ++t) cn::sleep_step(ex, g, pl.params[k], view, in, t);
    const cn::Result r{W.data() + k * g.wsize, v.data() + k * g.vsize, cnt.data() + k * g.csize, first.data() + k * g.fsize,
                       &states[k], trace.data() + k * pl.trace_stride};
    cn::finish(pl, nets[k], ps[k], r, stats[k]);
  }
}

// ---- networks ----

struct Owned {  // a SleepNet with its own weights and biases
  SleepNet net;
  std::vector<std::vector<float>> W, b;
  Owned() = default;
  Owned(const Owned& o) : net(o.net), W(o.W), b(o.b) { rebind(); }
  Owned& operator=(const Owned&) = delete;
  void rebind() {
    for (size_t l = 0; l < net.layers.size(); ++l) {
      net.layers[l].W = W[l].empty() ? nullptr : W[l].data();
      net.layers[l].b = b[l].empty() ? nullptr : b[l].data();
    }
  }
};

struct Rng {
  uint64_t s;
  float u() { return static_cast<float>((s = splitmix64(s)) >> 40) * (1.0f / 16777216.0f); }
  int i(int n) { return static_cast<int>(u() * n) % n; }
};

Shape add_layer(Owned& o, SpikeKind kind, Shape in, int units, int k, int stride, int pad, bool cip, Rng& r, float lo,
                float hi) {
  SpikingLayer y;
  y.kind = kind;
  y.in = in;
  if (kind == SpikeKind::Dense) {
    y.out = Shape{units, 1, 1};
  } else {
    y.win.kh = y.win.kw = k;
    y.win.sh = y.win.sw = stride;
    y.win.pt = y.win.pl = y.win.pb = y.win.pr = pad;
    const int Ho = Window::out_size(in.h, k, stride, pad, pad), Wo = Window::out_size(in.w, k, stride, pad, pad);
    y.out = Shape{kind == SpikeKind::Conv ? units : in.c, Ho, Wo};
    y.count_include_pad = cip;
  }
  std::vector<float> W(y.weight_count()), b;
  for (float& w : W) w = lo + (hi - lo) * r.u();
  if (y.weighted()) {
    b.resize(y.out.c);
    for (float& x : b) x = 4.0f * r.u() - 1.0f;
  }
  o.net.layers.push_back(y);
  o.W.push_back(std::move(W));
  o.b.push_back(std::move(b));
  o.rebind();
  return y.out;
}

// conv(pad, stride) → pool → conv → [pool] → dense → dense
Owned random_cnn(uint64_t seed, SpikeKind pool, bool cip, int pad, int stride) {
  Rng r{seed};
  Owned o;
  o.net.input = Shape{2, 10, 10};
  Shape s = add_layer(o, SpikeKind::Conv, o.net.input, 4, 3, stride, pad, false, r, -0.25f, 0.6f);
  s = add_layer(o, pool, s, 0, 2, stride == 2 ? 1 : 2, pool == SpikeKind::AvgPool ? 1 : 0, cip, r, 0, 0);
  s = add_layer(o, SpikeKind::Conv, s, 5, 2, 1, 1, false, r, -0.25f, 0.6f);
  s = add_layer(o, pool == SpikeKind::MaxPool ? SpikeKind::AvgPool : SpikeKind::MaxPool, s, 0, 2, 2, 0, false, r, 0, 0);
  s = add_layer(o, SpikeKind::Dense, s, 12, 0, 0, 0, false, r, -0.2f, 0.5f);
  add_layer(o, SpikeKind::Dense, s, 6, 0, 0, 0, false, r, -0.2f, 0.5f);
  return o;
}

Owned random_mlp(uint64_t seed) {
  Rng r{seed};
  Owned o;
  o.net.input = Shape{30, 1, 1};
  Shape s = add_layer(o, SpikeKind::Dense, o.net.input, 20, 0, 0, 0, false, r, -0.2f, 0.5f);
  s = add_layer(o, SpikeKind::Dense, s, 15, 0, 0, 0, false, r, -0.2f, 0.5f);
  add_layer(o, SpikeKind::Dense, s, 5, 0, 0, 0, false, r, -0.2f, 0.5f);
  return o;
}

SleepParams base_params(const SleepNet& net, int64_t steps, uint64_t seed) {
  SleepParams p;
  p.steps = steps;
  p.dt = 0.001f;
  p.max_rate = 300;
  p.inc = 0.02f;
  p.dec = 0.01f;
  p.decay = 0.999f;
  p.seed = seed;
  p.trace_every = 25;
  for (const SpikingLayer& y : net.layers) {
    p.alpha.push_back(1.0f);
    p.beta.push_back(y.kind == SpikeKind::AvgPool ? 0.3f : 0.9f);
  }
  return p;
}

// ---- comparison ----

int failures = 0, cases = 0;

template <class T>
bool same(const std::vector<T>& a, const std::vector<T>& b) {
  return a.size() == b.size() && (a.empty() || std::memcmp(a.data(), b.data(), a.size() * sizeof(T)) == 0);
}

void compare(const std::string& name, std::vector<Owned>& cpu, std::vector<Owned>& gpu, const std::vector<SleepParams>& ps,
             const SleepData& d, int order, bool need_all_layers) {
  ++cases;
  std::vector<SleepStats> sc(cpu.size()), sg;
  for (size_t k = 0; k < cpu.size(); ++k) sleep_run(cpu[k].net, ps[k], d, sc[k]);
  std::vector<SleepNet> nets;
  for (Owned& o : gpu) nets.push_back(o.net);
  emulate(nets, ps, d, sg, order);
  std::string bad;
  uint64_t min_spikes = ~0ull, changed = 0;
  for (size_t k = 0; k < cpu.size(); ++k) {
    const SleepStats &a = sc[k], &b = sg[k];
    if (!same(a.spikes, b.spikes)) bad += " spikes";
    for (size_t l = 0; l < a.neuron_spikes.size(); ++l)
      if (!same(a.neuron_spikes[l], b.neuron_spikes[l])) bad += " neuron_spikes[" + std::to_string(l) + "]";
    if (!same(a.potentiation, b.potentiation)) bad += " potentiation";
    if (!same(a.depression, b.depression)) bad += " depression";
    if (!same(a.changed, b.changed)) bad += " changed";
    if (!same(a.abs_change, b.abs_change)) bad += " abs_change";
    if (!same(a.trace, b.trace)) bad += " trace";
    for (size_t l = 1; l < a.membranes.size(); ++l)
      if (!same(a.membranes[l], b.membranes[l])) bad += " membranes[" + std::to_string(l) + "]";
    for (size_t l = 0; l < cpu[k].W.size(); ++l)
      if (!same(cpu[k].W[l], gpu[k].W[l])) bad += " weights[" + std::to_string(l) + "]";
    for (uint64_t x : a.spikes) min_spikes = std::min<uint64_t>(min_spikes, x);
    for (uint64_t x : a.changed) changed += x;
  }
  if (need_all_layers && min_spikes == 0) bad += " (a layer never spiked: the case tests too little)";
  if (need_all_layers && changed == 0) bad += " (no weight changed: the case tests too little)";
  std::string sp;
  for (uint64_t x : sc[0].spikes) sp += (sp.empty() ? "" : "/") + std::to_string(x);
  std::printf("case %s: %s (spikes %s, weights changed %llu)\n", name.c_str(), bad.empty() ? "equal" : ("MISMATCH" + bad).c_str(),
              sp.c_str(), static_cast<unsigned long long>(changed));
  if (!bad.empty()) ++failures;
}

std::vector<float> random_rows(int n, int n0, uint64_t seed) {
  Rng r{seed};
  std::vector<float> x(static_cast<size_t>(n) * n0);
  for (float& v : x) v = r.u() < 0.4f ? 0.0f : r.u();
  return x;
}

void run_case(const std::string& name, const Owned& net, const SleepParams& p, const SleepData& d, int order,
              bool need_all_layers = true) {
  std::vector<Owned> a{net}, b{net};
  compare(name, a, b, {p}, d, order, need_all_layers);
}

// The LeNet fixture, as written by test/sleep-cuda-emulated.test.ts (little-endian):
// int32 L, C, H, W; per layer: int32 kind, in c h w, out c h w, kh kw sh sw pt pl pb pr,
// count_include_pad, has_bias, then float W[count], float b[out c] if has_bias;
// float alpha[L], beta[L]; float maxRate, inc, dec; int32 rows; float x[rows × C·H·W].
bool read_lenet(const char* path, Owned& o, SleepParams& p, std::vector<float>& x) {
  std::ifstream f(path, std::ios::binary);
  if (!f) return false;
  auto i32 = [&] {
    int32_t v = 0;
    f.read(reinterpret_cast<char*>(&v), 4);
    return v;
  };
  auto floats = [&](size_t n) {
    std::vector<float> v(n);
    f.read(reinterpret_cast<char*>(v.data()), static_cast<std::streamsize>(n * 4));
    return v;
  };
  const int L = i32();
  o.net.input.c = i32(), o.net.input.h = i32(), o.net.input.w = i32();
  for (int l = 0; l < L; ++l) {
    SpikingLayer y;
    y.kind = static_cast<SpikeKind>(i32());
    y.in.c = i32(), y.in.h = i32(), y.in.w = i32();
    y.out.c = i32(), y.out.h = i32(), y.out.w = i32();
    y.win.kh = i32(), y.win.kw = i32(), y.win.sh = i32(), y.win.sw = i32();
    y.win.pt = i32(), y.win.pl = i32(), y.win.pb = i32(), y.win.pr = i32();
    y.count_include_pad = i32() != 0;
    const bool hb = i32() != 0;
    o.net.layers.push_back(y);
    o.W.push_back(floats(y.weight_count()));
    o.b.push_back(hb ? floats(y.out.c) : std::vector<float>{});
  }
  o.rebind();
  p = base_params(o.net, 0, 1);
  p.alpha = floats(L);
  p.beta = floats(L);
  const std::vector<float> rest = floats(3);
  p.max_rate = rest[0], p.inc = rest[1], p.dec = rest[2];
  const int rows = i32();
  x = floats(static_cast<size_t>(rows) * o.net.inputs());
  return static_cast<bool>(f);
}

}  // namespace

// exact_expf against this machine's libm expf on every 257th float bit pattern.
void check_expf() {
  ++cases;
  uint64_t n = 0, bad = 0;
  for (uint64_t b = 0; b < (1ull << 32); b += 257, ++n) {
    const uint32_t u = static_cast<uint32_t>(b);
    float x, a, e;
    std::memcpy(&x, &u, 4);
    a = cuda::exact_expf(x);
    e = expf(x);
    bad += std::memcmp(&a, &e, 4) != 0 && !(a != a && e != e);
  }
  std::printf("case exact_expf = libm expf: %s (%llu inputs, %llu differ)\n", bad ? "MISMATCH" : "equal",
              static_cast<unsigned long long>(n), static_cast<unsigned long long>(bad));
  if (bad) ++failures;
}

int main(int argc, char** argv) {
  try {
    check_expf();
    // ---- random CNNs ----
    const int n0 = 200;
    const std::vector<float> x = random_rows(40, n0, 99);
    SleepData seq;
    seq.mode = SleepInputMode::Sequence;
    seq.x = x.data();
    seq.n = 40;
    int order = 0;
    struct Arch {
      const char* name;
      SpikeKind pool;
      bool cip;
      int pad, stride;
    };
    const Arch archs[] = {{"max-pool, pad 1, stride 1", SpikeKind::MaxPool, false, 1, 1},
                          {"avg-pool, pad 0, stride 2", SpikeKind::AvgPool, false, 0, 2},
                          {"avg-pool count_include_pad, pad 1, stride 2", SpikeKind::AvgPool, true, 1, 2}};
    uint64_t seed = 1;
    for (const Arch& a : archs) {
      const Owned net = random_cnn(seed++, a.pool, a.cip, a.pad, a.stride);
      for (int bias = 0; bias < 2; ++bias)
        for (int mean = 0; mean < 2; ++mean) {
          SleepParams p = base_params(net.net, 300, seed++);
          p.bias_current = bias;
          p.conv_stdp_mean = mean;
          p.gate = static_cast<SleepGate>((bias + mean) % 3);
          run_case(std::string(a.name) + (bias ? ", bias current" : ", bias ignore") + (mean ? ", convStdp mean" : ", convStdp sum") +
                       ", order " + std::to_string(order),
                   net, p, seq, order);
          order = (order + 1) % 3;
        }
    }
    const Owned net = random_cnn(42, SpikeKind::MaxPool, false, 1, 2);
    {
      SleepParams p = base_params(net.net, 300, 7);
      p.plastic = {0, 0, 1, 0, 0, 1};
      p.dc = 0.05f;
      p.decay = 0.95f;
      run_case("layers (second conv and output plastic), output drive, decay 0.95", net, p, seq, 1);
    }
    {
      SleepParams p = base_params(net.net, 300, 8);
      p.mask_size = 6;
      SleepData mm = seq;
      mm.mode = SleepInputMode::MaskedMean;
      mm.image_c = 2, mm.image_h = 10, mm.image_w = 10;
      run_case("masked-mean input (two channels), sigmoid gate", net, (p.gate = SleepGate::Sigmoid, p), mm, 2);
      SleepData mean = seq;
      mean.mode = SleepInputMode::Mean;
      p.bias_current = true;
      run_case("mean input, bias current", net, p, mean, 0);
    }
    {
      // replay: recorded spikes with duplicates within a step
      Rng r{5};
      std::vector<int32_t> off{0}, idx;
      for (int t = 0; t < 200; ++t) {
        const int c = r.i(40);
        for (int q = 0; q < c; ++q) idx.push_back(r.i(n0));
        off.push_back(static_cast<int32_t>(idx.size()));
      }
      SleepData rep;
      rep.mode = SleepInputMode::Replay;
      rep.replay_offsets = off.data();
      rep.replay_indices = idx.data();
      rep.replay_steps = 200;
      rep.replay_count = idx.size();
      run_case("replayed input spikes", net, base_params(net.net, 200, 9), rep, 1);
    }
    {
      // a batch of three: own seeds, parameters and bias modes
      std::vector<Owned> a{net, net, net}, b{net, net, net};
      std::vector<SleepParams> ps;
      for (int k = 0; k < 3; ++k) {
        SleepParams p = base_params(net.net, 150 + 50 * k, 20 + k);
        p.bias_current = k == 1;
        p.conv_stdp_mean = k == 2;
        ps.push_back(p);
      }
      compare("a batch of three sleeps (own seeds, steps, bias and conv rule)", a, b, ps, seq, 2, true);
    }
    {
      const Owned mlp = random_mlp(3);
      const std::vector<float> xm = random_rows(20, 30, 4);
      SleepData d;
      d.mode = SleepInputMode::Sequence;
      d.x = xm.data();
      d.n = 20;
      SleepParams p = base_params(mlp.net, 300, 11);
      p.bias_current = true;
      p.inhibition = 0.3f;
      p.dc = 0.02f;
      run_case("dense chain: bias current, lateral inhibition, output drive", mlp, p, d, 1);
      p.inhibition = 0;
      p.plastic = {1, 0, 1};
      run_case("dense chain: `layers` without the middle layer", mlp, p, d, 2);
    }
    // ---- the LeNet fixture ----
    if (argc > 1) {
      Owned lenet;
      SleepParams p;
      std::vector<float> xl;
      require(read_lenet(argv[1], lenet, p, xl), "ERR_IO", std::string("cannot read ") + argv[1]);
      SleepData d;
      d.mode = SleepInputMode::Sequence;
      d.x = xl.data();
      d.n = xl.size() / lenet.net.inputs();
      p.steps = 400;
      p.seed = 1;
      // (the tuned preset drives only the first conv and pool layers in 400 steps, as the CPU does)
      run_case("LeNet fixture, cnn-mnist preset, 400 steps of MNIST digits", lenet, p, d, 0, false);
      for (size_t l = 0; l < p.beta.size(); ++l)  // lower thresholds, so that every layer fires
        p.beta[l] *= lenet.net.layers[l].kind == SpikeKind::Dense ? 0.03f : 0.1f;
      p.bias_current = true;
      p.conv_stdp_mean = true;
      p.inc = 0.002f, p.dec = 0.001f;
      p.seed = 2;
      run_case("LeNet fixture, lower betas, bias current, convStdp mean, larger STDP", lenet, p, d, 2);
      p.bias_current = false;
      p.conv_stdp_mean = false;
      p.plastic = {0, 0, 0, 0, 1, 1};
      p.dc = 0.02f;
      p.seed = 3;
      run_case("LeNet fixture, lower betas, layers: dense only, output drive", lenet, p, d, 1);
    }
  } catch (const Error& e) {
    std::printf("error %s: %s\n", e.code(), e.what());
    return 2;
  }
  if (failures) {
    std::printf("FAILED %d of %d cases\n", failures, cases);
    return 1;
  }
  std::printf("ok %d cases\n", cases);
  return 0;
}
