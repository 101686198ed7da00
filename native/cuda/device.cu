// Device discovery. The addon links the CUDA runtime statically, so it loads on a machine
// without a GPU or driver: cudaGetDeviceCount then fails (cudaErrorInsufficientDriver,
// cudaErrorNoDevice, ...) and status() reports that failure as the reason instead of
// raising. The kernels are built for sm_80 and sm_90 (plus PTX for compute_90, which newer
// GPUs JIT-compile), so devices below compute capability 8.0 are listed but unusable.
#include "common.cuh"

namespace nrem::cuda {

namespace {
Status query() {
  Status s;
  s.compiled = true;
  cudaRuntimeGetVersion(&s.runtime_version);
  if (cudaDriverGetVersion(&s.driver_version) != cudaSuccess) s.driver_version = 0;
  int count = 0;
  cudaError_t e = cudaGetDeviceCount(&count);
  if (e != cudaSuccess) {
    s.reason = std::string("cudaGetDeviceCount failed: ") + cudaGetErrorName(e) + " (" + cudaGetErrorString(e) + ")";
    cudaGetLastError();  // clear the sticky-free error so later calls start clean
    return s;
  }
  for (int i = 0; i < count; ++i) {
    cudaDeviceProp p{};
    if (cudaGetDeviceProperties(&p, i) != cudaSuccess) continue;
    DeviceInfo d;
    d.index = i;
    d.name = p.name;
    d.major = p.major;
    d.minor = p.minor;
    d.memory_bytes = p.totalGlobalMem;
    d.multiprocessors = p.multiProcessorCount;
    d.usable = p.major >= 8;
    s.devices.push_back(d);
  }
  for (auto& d : s.devices) s.available = s.available || d.usable;
  if (count == 0)
    s.reason = "no CUDA device found";
  else if (!s.available)
    s.reason = "no device of compute capability 8.0 or newer (the kernels are built for sm_80 and sm_90)";
  return s;
}
}  // namespace

const Status& status() {
  static const Status s = query();
  return s;
}

void require_available() {
  if (!status().available) throw Error("ERR_BACKEND", "CUDA backend unavailable: " + status().reason);
}

Stream::Stream() {
  require_available();
  for (auto& d : status().devices)
    if (d.usable) {
      NREM_CUDA_CHECK(cudaSetDevice(d.index));
      break;
    }
  NREM_CUDA_CHECK(cudaStreamCreateWithFlags(&s_, cudaStreamNonBlocking));
}

}  // namespace nrem::cuda
