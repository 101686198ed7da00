// Event-driven sleep on the GPU: one persistent thread block runs a whole sleep, looping
// over steps with __syncthreads; K sleeps run at once as K blocks. The steps run in
// launches of `chunk` steps (the state stays on the device) so that progress and
// cancellation are checked between launches: ≈ 14 launches for 27,105 steps.
//
// CPU reference: native/core/sleep.cc (sleep_run). Per step t, as there (sleep-algorithm.md §3):
//   layer 0   s0[j] = x_j(t) > 0  and  u(seed, t, j) < 2·dt·max_rate·x_j(t)   (sleep_rules.h)
//   layer l   if any s_(l-1):  acc_i = Σ_{j: s_(l-1)[j]=1, ascending j} Wᵀ_l[j, i]
//                              v_i = decay·v_i + alpha_l·acc_i
//                              (inhibition: c_i = alpha_l·acc_i, v_i = decay·v_i + (c_i − W_inh·(Σ_i c_i)/n_l),
//                               the sum taken serially in i order like the CPU)
//             else             v_i = decay·v_i
//             output layer:    v_i += DC
//             fires i          v_i >= threshold·beta_l  (checked only when layer l−1 spiked or DC ≠ 0)
//             STDP, fired i:   Wᵀ_l[j, i] ← s_(l−1)[j] ? w + inc·f(w) : w − dec·f(w)   for every j
//             reset            v_i = 0
// Spikes are kept as bitmasks in shared memory (one 32-bit word per warp-ballot); every
// thread walks the set bits in ascending order, so each neuron's current is summed in
// exactly the CPU's order, and the kernel is compiled with --fmad=false (no FMA
// contraction, like -ffp-contract=off): the arithmetic is bit-identical to the CPU's. The
// STDP gate's expf is glibc's algorithm (exact_expf.cuh; CUDA's expf is within 2 ulp).
// Weights live on the device transposed (Wᵀ_l: fan_in × n_l) so the current reads are
// coalesced; the caller's W is restored by transposing back at the end.
#include <algorithm>
#include <chrono>
#include <cstring>
#include <string>

#include "../core/sleep_rules.h"
#include "common.cuh"
#include "sleep_cuda.h"
#include "sleep_net.cuh"

namespace nrem::cuda {
namespace {

constexpr int kThreads = 1024;
constexpr int kChunk = 2048;
constexpr int ML = kSleepMaxLayers;

struct DevParams {  // one per sleep, precomputed on the host exactly as sleep.cc computes them
  int64_t steps;
  float rate_factor;  // 2·dt·max_rate
  float dt, inc, dec, decay, inhibition, dc, gate_width;
  int gate;
  uint64_t key;  // sleep_input_key(seed)
  uint64_t seed;
  int64_t trace_every;
  float alpha[ML], thr[ML];
};

struct DevState {  // per sleep, carried across launches (thread 0 only)
  unsigned long long spikes[ML + 1], window[ML + 1], pot[ML], dep[ML];
  int64_t trace_pos;
};

struct Shape {
  int L;
  int sizes[ML + 1];
  size_t woff[ML];       // offset of Wᵀ_l in one sleep's weights
  size_t wsize;          // floats per sleep
  int voff[ML + 1];      // offset of v_l (l ≥ 1) in one sleep's membranes
  int vsize;
  int coff[ML + 1];      // offset of layer l's neuron counters
  int csize;
  int moff[ML + 1];      // offset of layer l's mask words in shared memory
  int mwords;
};

using net::GInput;  // the input's description, shared with sleep_net.cu (sleep_net.cuh)
using net::input_value;

__global__ void __launch_bounds__(kThreads) sleep_kernel(Shape sh, GInput in, const DevParams* __restrict__ params,
                                                         float* __restrict__ WT_all, float* __restrict__ v_all,
                                                         unsigned* __restrict__ counts_all, DevState* __restrict__ states,
                                                         float* __restrict__ trace_all, int64_t trace_stride,
                                                         float* __restrict__ scratch_all, int64_t t0, int64_t t1) {
  extern __shared__ unsigned smem[];
  unsigned* mask = smem;  // sh.mwords words: layer l at sh.moff[l]
  __shared__ float s_drop;
  const int k = blockIdx.x, tid = threadIdx.x, lane = tid & 31, warp = tid >> 5, nwarps = blockDim.x >> 5;
  const DevParams& p = params[k];
  float* WT = WT_all + static_cast<size_t>(k) * sh.wsize;
  float* V = v_all + static_cast<size_t>(k) * sh.vsize;
  unsigned* counts = counts_all + static_cast<size_t>(k) * sh.csize;
  float* scratch = scratch_all + static_cast<size_t>(k) * sh.vsize;
  DevState st;
  if (tid == 0) st = states[k];
  const int L = sh.L, n0 = sh.sizes[0];
  const int64_t t_end = t1 < p.steps ? t1 : p.steps;

  for (int64_t t = t0; t < t_end; ++t) {
    // ---- layer 0: input spikes, one ballot word per 32 units ----
    int r0 = 0, c0 = 0;
    if (in.mode == static_cast<int>(SleepInputMode::MaskedMean)) net::mask_window(in, p.seed, t, r0, c0);
    unsigned* m0 = mask + sh.moff[0];
    if (in.mode == static_cast<int>(SleepInputMode::Replay)) {
      for (int w = tid; w < (n0 + 31) / 32; w += blockDim.x) m0[w] = 0u;
      __syncthreads();
      for (int32_t q = in.roff[t] + tid; q < in.roff[t + 1]; q += blockDim.x) {
        const int j = in.ridx[q];
        atomicOr(&m0[j >> 5], 1u << (j & 31));
      }
      __syncthreads();
      for (int j = tid; j < n0; j += blockDim.x)
        if (m0[j >> 5] & (1u << (j & 31))) counts[sh.coff[0] + j]++;
    } else {
      for (int base = warp * 32; base < n0; base += nwarps * 32) {
        const int j = base + lane;
        bool fire = false;
        if (j < n0) {
          const float xj = input_value(in, n0, t, j, r0, c0);
          if (xj > 0.0f) {
            const float u = sleep_input_uniform(p.key, static_cast<uint64_t>(t), sleep_unit_hash(j));
            fire = sleep_input_fires(u, p.rate_factor, xj);
          }
        }
        const unsigned b = __ballot_sync(0xffffffffu, fire);
        if (lane == 0) m0[base >> 5] = b;
        if (fire) counts[sh.coff[0] + j]++;
      }
    }
    __syncthreads();

    for (int l = 1; l <= L; ++l) {
      const int n = sh.sizes[l], fan_in = sh.sizes[l - 1];
      const int pw = (fan_in + 31) / 32;
      const unsigned* mp = mask + sh.moff[l - 1];
      unsigned* ml = mask + sh.moff[l];
      float* Wl = WT + sh.woff[l - 1];
      float* v = V + sh.voff[l];
      bool any_prev = false;
      for (int w = 0; w < pw && !any_prev; ++w) any_prev = mp[w] != 0u;
      const bool dc = (l == L && p.dc != 0.0f);
      const bool can_fire = any_prev || dc;
      const float alpha = p.alpha[l - 1], thr = p.thr[l - 1];

      if (any_prev && p.inhibition != 0.0f) {
        // Currents first, their serial sum by thread 0 (the CPU's order), then the membranes.
        for (int i = tid; i < n; i += blockDim.x) {
          float acc = 0.0f;
          bool first = true;
          for (int w = 0; w < pw; ++w)
            for (unsigned bits = mp[w]; bits; bits &= bits - 1) {
              const float x = Wl[static_cast<size_t>(w * 32 + __ffs(bits) - 1) * n + i];
              acc = first ? x : acc + x;
              first = false;
            }
          scratch[i] = alpha * acc;
        }
        __syncthreads();
        if (tid == 0) {
          float sum = 0.0f;
          for (int i = 0; i < n; ++i) sum += scratch[i];
          s_drop = p.inhibition * (sum / static_cast<float>(n));
        }
        __syncthreads();
      }

      for (int base = warp * 32; base < n; base += nwarps * 32) {
        const int i = base + lane;
        bool fire = false;
        if (i < n) {
          float vi = v[i];
          if (any_prev) {
            if (p.inhibition != 0.0f) {
              vi = sleep_membrane(vi, p.decay, scratch[i] - s_drop);
            } else {
              float acc = 0.0f;
              bool first = true;
              for (int w = 0; w < pw; ++w)
                for (unsigned bits = mp[w]; bits; bits &= bits - 1) {
                  const float x = Wl[static_cast<size_t>(w * 32 + __ffs(bits) - 1) * n + i];
                  acc = first ? x : acc + x;
                  first = false;
                }
              vi = sleep_membrane(vi, p.decay, alpha * acc);
            }
          } else {
            vi = p.decay * vi;
          }
          if (dc) vi += p.dc;
          fire = can_fire && sleep_fires(vi, thr);
          if (fire) {
            vi = 0.0f;
            counts[sh.coff[l] + i]++;
          }
          v[i] = vi;
        }
        const unsigned b = __ballot_sync(0xffffffffu, fire);
        if (lane == 0) ml[base >> 5] = b;
      }
      __syncthreads();

      const int nw = (n + 31) / 32;
      if (tid == 0) {
        unsigned long long fired = 0, pre = 0;
        for (int w = 0; w < nw; ++w) fired += __popc(ml[w]);
        for (int w = 0; w < pw; ++w) pre += __popc(mp[w]);
        st.pot[l - 1] += fired * pre;
        st.dep[l - 1] += fired * (fan_in - pre);
        st.spikes[l] += fired;
        st.window[l] += fired;
        if (l == 1) {
          st.spikes[0] += pre;
          st.window[0] += pre;
        }
      }
      // STDP on the fan-in of every neuron that fired (no barrier needed after it: the next
      // layer reads other weights, and the masks it reads are rewritten only after later barriers).
      for (int w = 0; w < nw; ++w)
        for (unsigned bits = ml[w]; bits; bits &= bits - 1) {
          const int i = w * 32 + __ffs(bits) - 1;
          for (int j = tid; j < fan_in; j += blockDim.x) {
            float* wij = Wl + static_cast<size_t>(j) * n + i;
            const bool pre = (mp[j >> 5] >> (j & 31)) & 1u;
            const float g = sleep_gate_exact(*wij, p.gate, p.gate_width);  // sleep_potentiate / sleep_depress
            *wij = pre ? *wij + p.inc * g : *wij - p.dec * g;
          }
        }
    }
    if (tid == 0 && p.trace_every > 0 && (t + 1) % p.trace_every == 0) {
      float* tr = trace_all + static_cast<size_t>(k) * trace_stride;
      for (int l = 0; l <= L; ++l) {
        tr[st.trace_pos++] = static_cast<float>(static_cast<double>(st.window[l]) /
                                                (static_cast<double>(sh.sizes[l]) * p.trace_every * p.dt));
        st.window[l] = 0;
      }
    }
    __syncthreads();  // the input mask of the next step overwrites what layer 1's STDP read
  }
  if (tid == 0) states[k] = st;
}

__global__ void transpose_kernel(const float* __restrict__ src, int rows, int cols, float* __restrict__ dst) {
  __shared__ float tile[32][33];
  const int c = blockIdx.x * 32 + threadIdx.x;
  for (int r = blockIdx.y * 32 + threadIdx.y; r < min(rows, blockIdx.y * 32 + 32); r += 8)
    if (c < cols) tile[r - blockIdx.y * 32][threadIdx.x] = src[static_cast<size_t>(r) * cols + c];
  __syncthreads();
  const int r2 = blockIdx.y * 32 + threadIdx.x;
  for (int c2 = blockIdx.x * 32 + threadIdx.y; c2 < min(cols, blockIdx.x * 32 + 32); c2 += 8)
    if (r2 < rows) dst[static_cast<size_t>(c2) * rows + r2] = tile[threadIdx.x][c2 - blockIdx.x * 32];
}

void transpose(const float* src, int rows, int cols, float* dst, cudaStream_t s) {
  dim3 grid(cdiv(cols, 32), cdiv(rows, 32)), block(32, 8);
  transpose_kernel<<<grid, block, 0, s>>>(src, rows, cols, dst);
  NREM_CUDA_LAUNCHED("transpose_kernel");
}

}  // namespace

bool sleep_supported(const std::vector<NetView>& nets, const std::vector<SleepParams>& ps, std::string* why) {
  auto no = [why](const std::string& m) {
    if (why) *why = m;
    return false;
  };
  if (!status().available) return no(status().reason);
  if (nets.empty()) return no("no sleeps to run");
  if (nets.front().layers() > ML) return no("the CUDA sleep supports at most " + std::to_string(ML) + " layers");
  for (const auto& net : nets)
    if (net.sizes != nets.front().sizes) return no("the CUDA sleep batch needs networks of one shape");
  for (const auto& p : ps)
    if (p.raster_to > p.raster_from) return no("rasters are recorded by the CPU engine only");
  return true;
}

void sleep_batch(const std::vector<NetView>& nets, const std::vector<SleepParams>& ps, const SleepData& d,
                 std::vector<SleepStats>& stats, const SleepHooks& hooks) {
  const auto t_start = std::chrono::steady_clock::now();
  if (!begin_sleep_batch(nets, ps, d, stats, [&](std::string* why) { return sleep_supported(nets, ps, why); })) return;
  const size_t K = nets.size();
  const NetView& net0 = nets.front();
  Shape sh{};
  sh.L = net0.layers();
  for (int l = 0; l <= sh.L; ++l) sh.sizes[l] = net0.sizes[l];
  size_t wsz = 0;
  int vsz = 0, csz = 0, mw = 0;
  for (int l = 0; l <= sh.L; ++l) {
    sh.coff[l] = csz;
    csz += sh.sizes[l];
    sh.moff[l] = mw;
    mw += (sh.sizes[l] + 31) / 32;
    if (l >= 1) {
      sh.woff[l - 1] = wsz;
      wsz += net0.weight_count(l);
      sh.voff[l] = vsz;
      vsz += sh.sizes[l];
    }
  }
  sh.wsize = wsz;
  sh.vsize = vsz;
  sh.csize = csz;
  sh.mwords = mw;
  const size_t smem = sizeof(unsigned) * static_cast<size_t>(mw);
  require(smem <= 48 * 1024, "ERR_UNSUPPORTED", "layers too wide for the CUDA sleep's spike masks");

  // Parameters, computed exactly as sleep.cc computes them.
  std::vector<DevParams> hp(K);
  int64_t max_steps = 0, max_windows = 0;
  for (size_t k = 0; k < K; ++k) {
    const SleepParams& p = ps[k];
    DevParams& q = hp[k];
    std::memset(&q, 0, sizeof(q));
    q.steps = p.steps;
    q.rate_factor = 2.0f * p.dt * p.max_rate;
    q.dt = p.dt;
    q.inc = p.inc, q.dec = p.dec, q.decay = p.decay, q.inhibition = p.inhibition, q.dc = p.dc;
    q.gate = static_cast<int>(p.gate);
    q.gate_width = p.gate_width;
    q.key = sleep_input_key(p.seed);
    q.seed = p.seed;
    q.trace_every = p.trace_every;
    for (int l = 0; l < sh.L; ++l) {
      q.alpha[l] = p.alpha[l];
      q.thr[l] = p.threshold * p.beta[l];
    }
    max_steps = std::max(max_steps, p.steps);
    if (p.trace_every > 0) max_windows = std::max(max_windows, p.steps / p.trace_every);
  }
  const int64_t trace_stride = max_windows * (sh.L + 1);

  Stream stream;
  cudaStream_t s = stream.get();
  const int n0 = sh.sizes[0];

  // Input on the device: the rows the sequence will visit, or the mean (double, row order, like the CPU).
  DeviceBuffer<float> dx;
  DeviceBuffer<int32_t> droff, dridx;
  GInput in{};
  in.mode = static_cast<int>(d.mode);
  in.image_c = d.image_c;
  in.image_h = d.image_h;
  in.image_w = d.image_w;
  in.mask_size = ps.front().mask_size;
  for (const auto& p : ps)
    require(d.mode != SleepInputMode::MaskedMean || p.mask_size == in.mask_size, "ERR_UNSUPPORTED",
            "the CUDA sleep batch needs one maskSize for all sleeps");
  if (d.mode == SleepInputMode::Sequence) {
    const size_t rows = std::min<size_t>(d.n, static_cast<size_t>(max_steps));
    dx.upload(d.x, rows * n0, s);
    in.rows = static_cast<int64_t>(d.n);  // t mod n < rows for every t < steps
  } else if (d.mode == SleepInputMode::Mean || d.mode == SleepInputMode::MaskedMean) {
    SleepParams mean_only = ps.front();
    SleepData md = d;
    md.mode = SleepInputMode::Mean;
    SleepInputSource mean_src(mean_only, md, n0);
    dx.upload(mean_src.at(0), n0, s);
  } else {
    droff.upload(d.replay_offsets, static_cast<size_t>(max_steps) + 1, s);
    dridx.upload(d.replay_indices, std::max<size_t>(1, d.replay_count), s);
    in.roff = droff.get();
    in.ridx = dridx.get();
  }
  in.x = dx.get();

  // Weights: W_l uploaded, transposed on the device into Wᵀ_l.
  DeviceBuffer<float> dWT(K * wsz), dW(K * wsz), dv(K * static_cast<size_t>(vsz)),
      dscratch(K * static_cast<size_t>(vsz)), dtrace(std::max<int64_t>(1, K * trace_stride));
  DeviceBuffer<unsigned> dcounts(K * static_cast<size_t>(csz));
  DeviceBuffer<DevParams> dparams;
  DeviceBuffer<DevState> dstates(K);
  for (size_t k = 0; k < K; ++k)
    for (int l = 1; l <= sh.L; ++l) {
      NREM_CUDA_CHECK(cudaMemcpyAsync(dW.get() + k * wsz + sh.woff[l - 1], nets[k].W[l - 1],
                                      sizeof(float) * nets[k].weight_count(l), cudaMemcpyHostToDevice, s));
      transpose(dW.get() + k * wsz + sh.woff[l - 1], sh.sizes[l], sh.sizes[l - 1],
                dWT.get() + k * wsz + sh.woff[l - 1], s);
    }
  NREM_CUDA_CHECK(cudaMemsetAsync(dv.get(), 0, sizeof(float) * K * vsz, s));
  NREM_CUDA_CHECK(cudaMemsetAsync(dcounts.get(), 0, sizeof(unsigned) * K * csz, s));
  NREM_CUDA_CHECK(cudaMemsetAsync(dstates.get(), 0, sizeof(DevState) * K, s));
  dparams.upload(hp.data(), K, s);

  // The steps, in launches of kChunk.
  for (int64_t t0 = 0; t0 < max_steps; t0 += kChunk) {
    const int64_t t1 = std::min(max_steps, t0 + kChunk);
    sleep_kernel<<<static_cast<unsigned>(K), kThreads, smem, s>>>(sh, in, dparams.get(), dWT.get(), dv.get(),
                                                                  dcounts.get(), dstates.get(), dtrace.get(),
                                                                  trace_stride, dscratch.get(), t0, t1);
    NREM_CUDA_LAUNCHED("sleep_kernel");
    sleep_chunk_done(stream, hooks, ps, t1);
  }

  // Back to the host: weights (transposed back), membranes, counters, trace.
  for (size_t k = 0; k < K; ++k)
    for (int l = 1; l <= sh.L; ++l)
      transpose(dWT.get() + k * wsz + sh.woff[l - 1], sh.sizes[l - 1], sh.sizes[l], dW.get() + k * wsz + sh.woff[l - 1], s);
  std::vector<float> hW(wsz), hv(static_cast<size_t>(vsz) * K), htrace(std::max<int64_t>(1, K * trace_stride));
  std::vector<unsigned> hcounts(static_cast<size_t>(csz) * K);
  std::vector<DevState> hstates(K);
  dv.download(hv.data(), hv.size(), s);
  dcounts.download(hcounts.data(), hcounts.size(), s);
  dstates.download(hstates.data(), K, s);
  dtrace.download(htrace.data(), htrace.size(), s);
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t_start).count();
  for (size_t k = 0; k < K; ++k) {
    NREM_CUDA_CHECK(cudaMemcpyAsync(hW.data(), dW.get() + k * wsz, sizeof(float) * wsz, cudaMemcpyDeviceToHost, s));
    stream.sync();
    SleepStats& st = stats[k];
    const SleepParams& p = ps[k];
    const DevState& ds = hstates[k];
    st.steps = p.steps;
    st.spikes.assign(ds.spikes, ds.spikes + sh.L + 1);
    st.potentiation.assign(ds.pot, ds.pot + sh.L);
    st.depression.assign(ds.dep, ds.dep + sh.L);
    st.changed.assign(sh.L, 0);
    st.abs_change.assign(sh.L, 0.0);
    st.neuron_spikes.resize(sh.L + 1);
    st.membranes.assign(sh.L + 1, {});
    for (int l = 0; l <= sh.L; ++l) {
      const unsigned* c = hcounts.data() + k * csz + sh.coff[l];
      st.neuron_spikes[l].assign(c, c + sh.sizes[l]);
      if (l >= 1) {
        const float* v = hv.data() + k * vsz + sh.voff[l];
        st.membranes[l].assign(v, v + sh.sizes[l]);
      }
    }
    if (p.trace_every > 0) {
      const float* tr = htrace.data() + k * trace_stride;
      st.trace.assign(tr, tr + (p.steps / p.trace_every) * (sh.L + 1));
    }
    // Changed weights, then the caller's W takes the result.
    for (int l = 1; l <= sh.L; ++l) {
      float* W = nets[k].W[l - 1];
      const float* Wn = hW.data() + sh.woff[l - 1];
      const size_t cnt = nets[k].weight_count(l);
      for (size_t i = 0; i < cnt; ++i)
        if (Wn[i] != W[i]) {
          st.changed[l - 1]++;
          st.abs_change[l - 1] += std::fabs(static_cast<double>(Wn[i]) - W[i]);
        }
      std::memcpy(W, Wn, sizeof(float) * cnt);
    }
    st.seconds = seconds;
  }
}

}  // namespace nrem::cuda
