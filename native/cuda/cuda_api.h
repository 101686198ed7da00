// The CUDA backend as the rest of nrem sees it: plain C++17, no CUDA headers, so the addon
// and the core include it whether or not CUDA was compiled in. Implemented by
// native/cuda/*.cu when the build defines NREM_HAVE_CUDA, else by native/core/cuda_stub.cc
// (status() says why, every kernel entry point throws ERR_BACKEND).
//
// Every function throws nrem::Error: ERR_BACKEND for an unavailable device or a CUDA
// failure (the message names the CUDA call and its status), ERR_SHAPE / ERR_VALUE for bad
// arguments. No function aborts or exits the process.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "../core/common.h"

namespace nrem {
struct NetView;
}

namespace nrem::cuda {

struct DeviceInfo {
  int index = 0;
  std::string name;
  int major = 0, minor = 0;        // compute capability
  uint64_t memory_bytes = 0;
  int multiprocessors = 0;
  bool usable = false;             // compute capability >= 8.0 (the build targets sm_80, sm_90)
};

struct Status {
  bool compiled = false;           // NREM_HAVE_CUDA
  bool available = false;          // compiled and at least one usable device
  std::string reason;              // why not available (empty when available)
  int runtime_version = 0;         // e.g. 13000
  int driver_version = 0;          // 0 without a driver
  std::vector<DeviceInfo> devices;
};

// Queried once per process (thread-safe); a machine without a GPU or driver gives
// available = false with the CUDA runtime's reason, never an error.
const Status& status();

// Throws ERR_BACKEND with status().reason unless available.
void require_available();

}  // namespace nrem::cuda
