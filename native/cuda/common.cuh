// Shared by the .cu files: CUDA status -> nrem::Error (ERR_BACKEND, naming the call), an
// RAII device buffer, the stream a call runs on, and ceil-div.
#pragma once
#include <cuda_runtime.h>

#include <algorithm>
#include <string>
#include <vector>

#include "../core/common.h"
#include "../core/sleep.h"
#include "cuda_api.h"

namespace nrem::cuda {

inline void check(cudaError_t e, const char* what) {
  if (e != cudaSuccess)
    throw Error("ERR_BACKEND", std::string("CUDA failure in ") + what + ": " + cudaGetErrorName(e) + " (" +
                                   cudaGetErrorString(e) + ")");
}
#define NREM_CUDA_CHECK(call) ::nrem::cuda::check((call), #call)
// After a kernel launch: launch errors now, execution errors at the next synchronisation.
#define NREM_CUDA_LAUNCHED(name) ::nrem::cuda::check(cudaGetLastError(), "launch of " name)

inline unsigned cdiv(size_t a, size_t b) { return static_cast<unsigned>((a + b - 1) / b); }

// The start of a batch of sleeps on the GPU (sleep.cu, sleep_net.cu): the arguments checked as
// the CPU engine checks them, one SleepStats per sleep; ERR_BACKEND without a usable GPU,
// ERR_UNSUPPORTED with the kernel's reason (supported(why)). False for an empty batch.
template <class Net, class Supported>
bool begin_sleep_batch(const std::vector<Net>& nets, const std::vector<SleepParams>& ps, const SleepData& d,
                       std::vector<SleepStats>& stats, Supported&& supported) {
  require(nets.size() == ps.size(), "ERR_SHAPE", "one network copy per parameter set");
  for (size_t k = 0; k < nets.size(); ++k) sleep_validate(nets[k], ps[k], d);
  stats.assign(nets.size(), SleepStats{});
  if (nets.empty()) return false;
  std::string why;
  if (!supported(&why)) {
    require(status().available, "ERR_BACKEND", "CUDA backend unavailable: " + why);
    throw Error("ERR_UNSUPPORTED", why);
  }
  return true;
}

template <typename T>
class DeviceBuffer {
 public:
  DeviceBuffer() = default;
  explicit DeviceBuffer(size_t n) { resize(n); }
  ~DeviceBuffer() {
    if (p_) cudaFree(p_);
  }
  DeviceBuffer(const DeviceBuffer&) = delete;
  DeviceBuffer& operator=(const DeviceBuffer&) = delete;
  DeviceBuffer(DeviceBuffer&& o) noexcept : p_(o.p_), n_(o.n_) { o.p_ = nullptr, o.n_ = 0; }

  void resize(size_t n) {
    if (n <= n_) return;
    if (p_) cudaFree(p_);
    p_ = nullptr;
    n_ = 0;
    NREM_CUDA_CHECK(cudaMalloc(&p_, (n ? n : 1) * sizeof(T)));
    n_ = n;
  }
  void upload(const T* host, size_t n, cudaStream_t s) {
    resize(n);
    if (n) NREM_CUDA_CHECK(cudaMemcpyAsync(p_, host, n * sizeof(T), cudaMemcpyHostToDevice, s));
  }
  void download(T* host, size_t n, cudaStream_t s) const {
    if (n) NREM_CUDA_CHECK(cudaMemcpyAsync(host, p_, n * sizeof(T), cudaMemcpyDeviceToHost, s));
  }
  T* get() const { return p_; }
  size_t size() const { return n_; }

 private:
  T* p_ = nullptr;
  size_t n_ = 0;
};

// One non-blocking stream per call, on the first usable device (selected for this thread).
class Stream {
 public:
  Stream();
  ~Stream() {
    if (s_) cudaStreamDestroy(s_);
  }
  Stream(const Stream&) = delete;
  Stream& operator=(const Stream&) = delete;
  cudaStream_t get() const { return s_; }
  void sync() const { NREM_CUDA_CHECK(cudaStreamSynchronize(s_)); }

 private:
  cudaStream_t s_ = nullptr;
};

// After a launch of the steps before t1 of a batch of sleeps: waits for it, then checks
// cancellation (ERR_ABORTED) and reports progress (the steps done, summed over the sleeps).
inline void sleep_chunk_done(const Stream& stream, const SleepHooks& hooks, const std::vector<SleepParams>& ps, int64_t t1) {
  stream.sync();
  if (hooks.cancelled && hooks.cancelled()) throw Error("ERR_ABORTED", "The operation was aborted");
  if (hooks.progress) {
    int64_t done = 0;
    for (const auto& p : ps) done += std::min(p.steps, t1);
    hooks.progress(done);
  }
}

}  // namespace nrem::cuda
