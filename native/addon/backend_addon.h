// Backend facts for the info binding, and reading a `backend` option.
#pragma once
#include <napi.h>

#include "../core/backend.h"

namespace nrem_addon {

// { compiled, available, reason?, runtimeVersion, driverVersion, devices: [...] }
Napi::Object cuda_info(Napi::Env env);

// opts.backend: "cpu" | "cuda" | "auto" (default `fallback`), resolved: ERR_BACKEND when
// "cuda" is asked for and unavailable.
nrem::BackendChoice get_backend(const Napi::Object& opts, const std::string& where,
                                nrem::Backend fallback = nrem::Backend::Cpu);

}  // namespace nrem_addon
