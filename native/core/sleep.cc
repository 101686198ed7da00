// Event-driven sleep engine (see sleep.h for the contract and sleep_rules.h for the maths).
//
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
// gathered from the row-major W (same order, same result).
#include <algorithm>
#include <chrono>
#include <cstring>
#include <future>
#if defined(__AVX512F__)
#include <immintrin.h>
#endif

#include "sleep.h"

namespace nrem {

namespace {

// dst (cols × ld, ld >= rows) = transpose of src (rows × cols), in cache-sized blocks.
void transpose(const float* src, int rows, int cols, int ld, float* dst) {
  constexpr int B = 32;
  for (int r0 = 0; r0 < rows; r0 += B)
    for (int c0 = 0; c0 < cols; c0 += B) {
      const int r1 = std::min(rows, r0 + B), c1 = std::min(cols, c0 + B);
      for (int r = r0; r < r1; ++r)
        for (int c = c0; c < c1; ++c) dst[static_cast<size_t>(c) * ld + r] = src[static_cast<size_t>(r) * cols + c];
    }
}

// Wᵀ rows are padded to a multiple of kChunk floats (zeros), so that the accumulation
// below runs on whole chunks held in registers.
constexpr int kChunk = 64;
inline int padded(int n) { return (n + kChunk - 1) / kChunk * kChunk; }

typedef float v16f __attribute__((vector_size(64)));
inline v16f load16(const float* p) {
  v16f v;
  std::memcpy(&v, p, sizeof v);
  return v;
}
inline void store16(float* p, v16f v) { std::memcpy(p, &v, sizeof v); }

// acc[i] = Σ_k WT[cols[k], i] in ascending k (the summation order of the dense reference),
// 64 outputs at a time in four vector registers: acc is written once per chunk.
void accumulate_columns(const float* WT, int ld, const int32_t* cols, size_t count, float* acc) {
  for (int i0 = 0; i0 < ld; i0 += kChunk) {
    const float* c0 = WT + static_cast<size_t>(cols[0]) * ld + i0;
    v16f a0 = load16(c0), a1 = load16(c0 + 16), a2 = load16(c0 + 32), a3 = load16(c0 + 48);
    for (size_t k = 1; k < count; ++k) {
      const float* ck = WT + static_cast<size_t>(cols[k]) * ld + i0;
      a0 += load16(ck);
      a1 += load16(ck + 16);
      a2 += load16(ck + 32);
      a3 += load16(ck + 48);
    }
    store16(acc + i0, a0);
    store16(acc + i0 + 16, a1);
    store16(acc + i0 + 32, a2);
    store16(acc + i0 + 48, a3);
  }
}

// The same sums read from the row-major W (n × fan_in): one strided gather per neuron.
void accumulate_strided(const float* W, int n, int fan_in, const int32_t* cols, size_t count, float* acc) {
  for (int i = 0; i < n; ++i) {
    const float* row = W + static_cast<size_t>(i) * fan_in;
    float a = row[cols[0]];
    for (size_t k = 1; k < count; ++k) a += row[cols[k]];
    acc[i] = a;
  }
}

// Indices j with x[j] > 0, ascending, into out (room for n + 16); returns their number.
// Sets finite = false if a value is NaN or ±Inf (x - x is then NaN).
size_t positive_units(const float* x, int n, int32_t* out, bool& finite) {
  size_t c = 0;
  int j = 0;
  int bad = 0;
#if defined(__AVX512F__)
  const __m512i step = _mm512_set1_epi32(16);
  __m512i idx = _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
  const __m512 zero = _mm512_setzero_ps();
  for (; j + 16 <= n; j += 16) {
    const __m512 v = _mm512_loadu_ps(x + j);
    bad |= _mm512_cmp_ps_mask(_mm512_sub_ps(v, v), zero, _CMP_NEQ_UQ);
    const __mmask16 m = _mm512_cmp_ps_mask(v, zero, _CMP_GT_OQ);
    // compress in a register, then a full store (compress-to-memory is slow on Intel);
    // out has room for n + 16 entries.
    _mm512_storeu_si512(out + c, _mm512_maskz_compress_epi32(m, idx));
    c += static_cast<size_t>(__builtin_popcount(m));
    idx = _mm512_add_epi32(idx, step);
  }
#endif
  for (; j < n; ++j) {
    out[c] = j;
    c += x[j] > 0.0f;
    bad |= !(x[j] - x[j] == 0.0f);
  }
  finite = !bad;
  return c;
}

struct Layer {
  int n = 0, fan_in = 0;
  float* W = nullptr;          // n × fan_in, the caller's buffer (updated in place)
  int ld = 0;                  // row stride of WT (n padded to kChunk)
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

// Draws (or replays) the input spikes; owns everything it touches so that it can run on
// another thread, one block ahead of the simulation.
class InputGenerator {
 public:
  InputGenerator(const SleepParams& p, const SleepData& d, int n0)
      : p_(p), d_(d), n0_(n0), src_(p, d, n0), key_(sleep_input_key(p.seed)), unit_hash_(n0),
        rate_factor_(2.0f * p.dt * p.max_rate), cand_(n0 + 16), u_(n0 + 16) {
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
        if (d_.mode == SleepInputMode::Sequence && t + 1 < p_.steps) {
          // The next image comes from memory that nothing else touches: fetch it now.
          const char* next = reinterpret_cast<const char*>(d_.x + (static_cast<size_t>(t + 1) % d_.n) * n0_);
          for (size_t k = 0; k < sizeof(float) * n0_; k += 64) __builtin_prefetch(next + k);
        }
        int32_t* cand = cand_.data();
        bool finite = true;
        const size_t nc = positive_units(x, n0_, cand, finite);
        if (!finite) sleep_check_row(x, n0_, static_cast<size_t>(t) % d_.n);
        float* u = u_.data();
        for (size_t k = 0; k < nc; ++k) u[k] = sleep_input_uniform(key_, static_cast<uint64_t>(t), unit_hash_[cand[k]]);
        b.idx.resize(base + nc);
        int32_t* fired = b.idx.data() + base;
        size_t c = 0;
        for (size_t k = 0; k < nc; ++k) {
          fired[c] = cand[k];
          c += sleep_input_fires(u[k], rate_factor_, x[cand[k]]);
        }
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
  std::vector<float> u_;
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
          accumulate_columns(y.WT.data(), y.ld, prev.fired.data(), prev.count, acc);
        else
          accumulate_strided(y.W, n, y.fan_in, prev.fired.data(), prev.count, acc);
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
        if (!y.WT.empty()) {  // else built from W when first needed
          float* colT = y.WT.data() + i;
          for (int j = 0; j < fan_in; ++j) colT[static_cast<size_t>(j) * y.ld] = row[j];
        }
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
  st.membranes.assign(L + 1, {});
  for (int l = 1; l <= L; ++l) st.membranes[l] = ly[l].v;
  st.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

}  // namespace nrem
