#include "backend.h"

#include "../cuda/cuda_api.h"

namespace nrem {

Backend parse_backend(const std::string& name) {
  if (name == "cpu") return Backend::Cpu;
  if (name == "cuda") return Backend::Cuda;
  if (name == "auto") return Backend::Auto;
  throw Error("ERR_VALUE", "Unknown backend '" + name + "' (expected cpu, cuda or auto)");
}

const char* backend_name(Backend b) {
  switch (b) {
    case Backend::Cpu: return "cpu";
    case Backend::Cuda: return "cuda";
    default: return "auto";
  }
}

BackendChoice resolve_backend(Backend requested) {
  BackendChoice c;
  if (requested == Backend::Cpu) return c;
  const cuda::Status& s = cuda::status();
  if (s.available) {
    c.backend = Backend::Cuda;
  } else if (requested == Backend::Cuda) {
    throw Error("ERR_BACKEND", "CUDA backend unavailable: " + s.reason);
  } else {
    c.reason = s.reason;
  }
  return c;
}

}  // namespace nrem
