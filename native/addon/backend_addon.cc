// Bindings: CUDA device status and backend resolution (native/core/backend.h).
#include "backend_addon.h"

#include "../cuda/cuda_api.h"
#include "convert.h"
#include "registry.h"

namespace nrem_addon {

Napi::Object cuda_info(Napi::Env env) {
  const nrem::cuda::Status& s = nrem::cuda::status();
  Napi::Object o = Napi::Object::New(env);
  o.Set("compiled", s.compiled);
  o.Set("available", s.available);
  if (!s.available) o.Set("reason", s.reason);
  o.Set("runtimeVersion", s.runtime_version);
  o.Set("driverVersion", s.driver_version);
  Napi::Array devs = Napi::Array::New(env, s.devices.size());
  for (size_t i = 0; i < s.devices.size(); ++i) {
    const auto& d = s.devices[i];
    Napi::Object x = Napi::Object::New(env);
    x.Set("index", d.index);
    x.Set("name", d.name);
    x.Set("computeCapability", std::to_string(d.major) + "." + std::to_string(d.minor));
    x.Set("memoryBytes", static_cast<double>(d.memory_bytes));
    x.Set("multiprocessors", d.multiprocessors);
    x.Set("usable", d.usable);
    devs.Set(static_cast<uint32_t>(i), x);
  }
  o.Set("devices", devs);
  return o;
}

nrem::BackendChoice get_backend(const Napi::Object& opts, const std::string& where, nrem::Backend fallback) {
  nrem::Backend b = has_field(opts, "backend") ? nrem::parse_backend(get_string(opts, "backend", where)) : fallback;
  return nrem::resolve_backend(b);
}

namespace {

// resolveBackend(name) -> { backend: "cpu" | "cuda", reason? }
Napi::Value ResolveBackend(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return guarded(env, [&]() -> Napi::Value {
    nrem::require(info.Length() == 1 && info[0].IsString(), "ERR_ARGUMENT", "Expected a string for backend");
    nrem::BackendChoice c = nrem::resolve_backend(nrem::parse_backend(info[0].As<Napi::String>().Utf8Value()));
    Napi::Object o = Napi::Object::New(env);
    o.Set("backend", nrem::backend_name(c.backend));
    if (!c.reason.empty()) o.Set("reason", c.reason);
    return o;
  });
}

void Init(Napi::Env env, Napi::Object exports) {
  exports.Set("resolveBackend", Napi::Function::New(env, ResolveBackend));
}

}  // namespace
NREM_ADDON_MODULE(Init);
}  // namespace nrem_addon
