// The CUDA sleep of any SleepNet chain (conv, pooling, dense; sleep_net.cuh has the maths and
// the step, sleep_net_plan.h the layout): one persistent thread block per sleep, looping over
// the steps; K sleeps of one batch run at once as K blocks. Each phase of a step is a
// block-stride loop over its items ended by __syncthreads (DeviceExec); the steps run in
// launches of kNetChunk steps (the state stays on the device), so that progress and
// cancellation are checked between launches. Compiled with --fmad=false (CMakeLists.txt,
// sleep*.cu) like the CPU core's -ffp-contract=off, so every float operation rounds as the
// CPU engine's; the STDP gate's expf is glibc's algorithm (exact_expf.cuh).
#include <chrono>
#include <cstring>
#include <string>

#include "common.cuh"
#include "sleep_cuda.h"
#include "sleep_net_plan.h"

namespace nrem::cuda {
namespace {

using namespace net;

constexpr int kNetThreads = 512;
constexpr int64_t kNetChunk = 1024;

// The block as sleep_step's executor: each item of a phase on the thread tid + m·blockDim.
struct DeviceExec {
  template <class F>
  __device__ void each(int n, F&& f) const {
    for (int i = static_cast<int>(threadIdx.x); i < n; i += static_cast<int>(blockDim.x)) f(i);
    __syncthreads();
  }
  template <class F>
  __device__ void one(F&& f) const {
    if (threadIdx.x == 0) f();
    __syncthreads();
  }
  __device__ unsigned add(unsigned* p, unsigned v) const { return atomicAdd(p, v); }
  __device__ void add64(unsigned long long* p, unsigned long long v) const { atomicAdd(p, v); }
};

struct Buffers {  // all sleeps' buffers, sleep k at k × the per-sleep size
  float* W;
  float* v;
  uint8_t* s;
  unsigned* cnt;
  int64_t* first;
  unsigned* stepc;
  int32_t* list;
  float* cur;
  const float* cb;
  GState* st;
  float* trace;
  int64_t trace_stride;
};

__global__ void __launch_bounds__(kNetThreads)
    sleep_net_kernel(const GNet* __restrict__ gp, const GParams* __restrict__ params, Buffers b, GInput in, int64_t t0,
                     int64_t t1) {
  const GNet& g = *gp;
  const size_t k = blockIdx.x;
  const GParams& p = params[k];
  const GView s{b.W + k * g.wsize,         b.v + k * g.vsize,          b.s + k * g.ssize,
                b.cnt + k * g.csize,       b.first + k * g.fsize,      b.stepc + k * g.stepc_size,
                b.list + k * g.lsize,      b.cur + k * g.cursize,      b.cb + k * g.cbsize,
                b.st + k,                  b.trace + k * b.trace_stride};
  DeviceExec ex;
  const int64_t end = t1 < p.steps ? t1 : p.steps;
  for (int64_t t = t0; t < end; ++t) sleep_step(ex, g, p, s, in, t);
}

}  // namespace

bool sleep_net_supported(const std::vector<SleepNet>& nets, const std::vector<SleepParams>& ps, std::string* why) {
  const std::string r = status().available ? refusal(nets, ps) : status().reason;
  if (why) *why = r;
  return r.empty();
}

void sleep_batch_net(const std::vector<SleepNet>& nets, const std::vector<SleepParams>& ps, const SleepData& d,
                     std::vector<SleepStats>& stats, const SleepHooks& hooks) {
  const auto t_start = std::chrono::steady_clock::now();
  if (!begin_sleep_batch(nets, ps, d, stats, [&](std::string* why) { return sleep_net_supported(nets, ps, why); })) return;
  const Plan pl = make_plan(nets, ps, d);
  const GNet& g = pl.g;
  const size_t K = nets.size();

  Stream stream;
  cudaStream_t st = stream.get();
  DeviceBuffer<GNet> dg;
  DeviceBuffer<GParams> dparams;
  DeviceBuffer<float> dW, dv(K * g.vsize + 1), dcur(K * g.cursize + 1), dcb, dtrace(K * pl.trace_stride + 1), dx;
  DeviceBuffer<uint8_t> ds(K * g.ssize + 1);
  DeviceBuffer<unsigned> dcnt(K * g.csize + 1), dstepc(K * g.stepc_size + 1);
  DeviceBuffer<int64_t> dfirst(K * g.fsize + 1);
  DeviceBuffer<int32_t> dlist(K * g.lsize + 1), droff, dridx;  // (+1: never empty)
  DeviceBuffer<GState> dstate;
  dg.upload(&g, 1, st);
  dparams.upload(pl.params.data(), K, st);
  dW.upload(pl.W.data(), pl.W.size(), st);
  dcb.upload(pl.cb.data(), pl.cb.size(), st);
  const std::vector<GState> init(K, initial_state());
  dstate.upload(init.data(), K, st);
  NREM_CUDA_CHECK(cudaMemsetAsync(dv.get(), 0, sizeof(float) * K * g.vsize, st));
  NREM_CUDA_CHECK(cudaMemsetAsync(ds.get(), 0, K * g.ssize, st));
  NREM_CUDA_CHECK(cudaMemsetAsync(dcnt.get(), 0, sizeof(unsigned) * K * g.csize, st));
  NREM_CUDA_CHECK(cudaMemsetAsync(dfirst.get(), 0xff, sizeof(int64_t) * K * g.fsize, st));  // -1: no update yet
  NREM_CUDA_CHECK(cudaMemsetAsync(dtrace.get(), 0, sizeof(float) * (K * pl.trace_stride + 1), st));

  GInput in = pl.in;
  if (d.mode == SleepInputMode::Sequence) {
    dx.upload(d.x, pl.seq_rows * g.n0, st);
  } else if (d.mode == SleepInputMode::Replay) {
    droff.upload(d.replay_offsets, static_cast<size_t>(pl.max_steps) + 1, st);
    dridx.upload(d.replay_indices, std::max<size_t>(1, d.replay_count), st);
    in.roff = droff.get();
    in.ridx = dridx.get();
  } else {
    dx.upload(pl.mean.data(), pl.mean.size(), st);
  }
  in.x = dx.get();

  const Buffers b{dW.get(),    dv.get(),   ds.get(), dcnt.get(),   dfirst.get(),  dstepc.get(),
                  dlist.get(), dcur.get(), dcb.get(), dstate.get(), dtrace.get(), pl.trace_stride};
  for (int64_t t0 = 0; t0 < pl.max_steps; t0 += kNetChunk) {
    const int64_t t1 = std::min(pl.max_steps, t0 + kNetChunk);
    sleep_net_kernel<<<static_cast<unsigned>(K), kNetThreads, 0, st>>>(dg.get(), dparams.get(), b, in, t0, t1);
    NREM_CUDA_LAUNCHED("sleep_net_kernel");
    sleep_chunk_done(stream, hooks, ps, t1);
  }

  std::vector<float> hW(pl.W.size()), hv(K * g.vsize), htrace(K * pl.trace_stride + 1);
  std::vector<unsigned> hcnt(K * g.csize);
  std::vector<int64_t> hfirst(K * g.fsize);
  std::vector<GState> hstate(K);
  dW.download(hW.data(), hW.size(), st);
  dv.download(hv.data(), hv.size(), st);
  dtrace.download(htrace.data(), htrace.size(), st);
  dcnt.download(hcnt.data(), hcnt.size(), st);
  dfirst.download(hfirst.data(), hfirst.size(), st);
  dstate.download(hstate.data(), K, st);
  stream.sync();
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t_start).count();
  for (size_t k = 0; k < K; ++k) {
    const Result r{hW.data() + k * g.wsize, hv.data() + k * g.vsize,  hcnt.data() + k * g.csize, hfirst.data() + k * g.fsize,
                   &hstate[k],              htrace.data() + k * pl.trace_stride};
    finish(pl, nets[k], ps[k], r, stats[k]);
    stats[k].seconds = seconds;
  }
}

}  // namespace nrem::cuda
