// Bindings: runtime info and settings, batched forward pass.
#include <memory>

#include "../core/cpu.h"
#include "../core/gemm.h"
#include "../core/forward.h"
#include "../core/thread_pool.h"
#include "backend_addon.h"
#include "convert.h"
#include "model_handle.h"
#include "registry.h"
#include "task.h"

namespace nrem_addon {
namespace {

Napi::Array strings(Napi::Env env, const std::vector<std::string>& v) {
  Napi::Array a = Napi::Array::New(env, v.size());
  for (uint32_t i = 0; i < v.size(); ++i) a.Set(i, v[i]);
  return a;
}

// { name, reason, cpu, vendor, family, flags, missing, compiled, supported, gemmKernel, gemmKernelReason }
Napi::Object isa_info(Napi::Env env) {
  const nrem::CpuFeatures& f = nrem::cpu_features();
  Napi::Object o = Napi::Object::New(env);
  o.Set("name", nrem::isa_name(nrem::current_isa()));
  o.Set("reason", nrem::isa_reason());
  o.Set("cpu", f.model);
  o.Set("vendor", f.vendor);
  o.Set("family", f.family);
  o.Set("flags", strings(env, f.flags));
  o.Set("missing", strings(env, f.missing_avx512));
  std::vector<std::string> compiled, supported;
  for (nrem::Isa i : {nrem::Isa::Generic, nrem::Isa::Avx2, nrem::Isa::Avx512}) {
    if (nrem::isa_compiled(i)) compiled.push_back(nrem::isa_name(i));
    if (nrem::isa_supported(i)) supported.push_back(nrem::isa_name(i));
  }
  o.Set("compiled", strings(env, compiled));
  o.Set("supported", strings(env, supported));
  o.Set("gemmKernel", nrem::kernels().gemm.name);
  o.Set("gemmKernelReason", nrem::gemm_kernel_reason());
  return o;
}

Napi::Value Info(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Object o = Napi::Object::New(env);
  o.Set("threads", nrem::get_threads());
  o.Set("gemm", nrem::gemm_backend_name());
  o.Set("openblas", nrem::have_openblas());
  o.Set("isa", isa_info(env));
#ifdef NREM_HAVE_CUDA
  o.Set("cudaCompiled", true);
#else
  o.Set("cudaCompiled", false);
#endif
  o.Set("cuda", cuda_info(env));
  return o;
}

Napi::Value SetThreads(const Napi::CallbackInfo& info) {
  return guarded(info.Env(), [&]() -> Napi::Value {
    nrem::require(info.Length() == 1 && info[0].IsNumber(), "ERR_ARGUMENT", "Expected a number for threads");
    nrem::set_threads(info[0].As<Napi::Number>().Int32Value());
    return info.Env().Undefined();
  });
}

Napi::Value SetIsa(const Napi::CallbackInfo& info) {
  return guarded(info.Env(), [&]() -> Napi::Value {
    nrem::require(info.Length() == 1 && info[0].IsString(), "ERR_ARGUMENT", "Expected a string for isa");
    nrem::set_isa(nrem::parse_isa(info[0].As<Napi::String>().Utf8Value()));
    return info.Env().Undefined();
  });
}

Napi::Value SetGemmKernel(const Napi::CallbackInfo& info) {
  return guarded(info.Env(), [&]() -> Napi::Value {
    nrem::require(info.Length() == 1 && info[0].IsString(), "ERR_ARGUMENT", "Expected a string for gemmKernel");
    nrem::set_gemm_kernel(info[0].As<Napi::String>().Utf8Value());
    return info.Env().Undefined();
  });
}

Napi::Value SetGemm(const Napi::CallbackInfo& info) {
  return guarded(info.Env(), [&]() -> Napi::Value {
    nrem::require(info.Length() == 1 && info[0].IsString(), "ERR_ARGUMENT", "Expected a string for gemm backend");
    std::string name = info[0].As<Napi::String>().Utf8Value();
    if (name == "native")
      nrem::set_gemm_backend(nrem::GemmBackend::Native);
    else if (name == "openblas")
      nrem::set_gemm_backend(nrem::GemmBackend::OpenBlas);
    else
      throw nrem::Error("ERR_VALUE", "Unknown gemm backend '" + name + "' (expected native or openblas)");
    return info.Env().Undefined();
  });
}

// forward(net, x: Float32Array (n × inputs), n, out: Float32Array (n × outputs), layerOuts?: (Float32Array|null)[] (one per
// layer, n × that layer's output), control?) → Promise<void>; test mode, cancellable between chunks of rows.
Napi::Value Forward(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return guarded(env, [&]() -> Napi::Value {
    auto lease = lease_model(info[0], "net", false, "forward");
    const nrem::Model& m = lease->model();
    nrem::require(info[2].IsNumber(), "ERR_ARGUMENT", "Expected a number for n");
    int64_t n = info[2].As<Napi::Number>().Int64Value();
    nrem::require(n >= 0, "ERR_VALUE", "n must be >= 0");
    F32 x = get_f32(info[1], "x", n * m.inputs());
    F32 y = get_f32(info[3], "out", n * m.outputs());
    auto layer_out = std::make_shared<std::vector<float*>>();
    std::vector<Napi::Value> keep{info[0], info[1], info[3]};
    if (info.Length() > 4 && info[4].IsArray()) {
      auto arr = info[4].As<Napi::Array>();
      nrem::require(arr.Length() == m.layers.size(), "ERR_SHAPE", "layerOuts must have one entry per layer");
      for (uint32_t l = 0; l < arr.Length(); ++l) {
        Napi::Value v = arr.Get(l);
        if (v.IsNull() || v.IsUndefined()) {
          layer_out->push_back(nullptr);
        } else {
          layer_out->push_back(
              get_f32(v, "layerOuts[" + std::to_string(l) + "]", n * static_cast<int64_t>(m.layers[l].out.size())).data);
          keep.push_back(v);
        }
      }
    }
    float* xd = x.data;
    float* yd = y.data;
    size_t rows = static_cast<size_t>(n);
    return start_task(
        env,
        [lease, xd, yd, rows, layer_out](const ProgressFn&, const Cancel& cancel) {
          nrem::Check check = [&cancel] { cancel.check(); };
          nrem::ForwardOptions o;
          o.layer_out = layer_out->empty() ? nullptr : layer_out->data();
          o.check = &check;
          nrem::forward(lease->model(), xd, rows, yd, o);
        },
        [](Napi::Env e) { return e.Undefined(); }, keep, info.Length() > 5 ? info[5] : env.Undefined());
  });
}

void Init(Napi::Env env, Napi::Object exports) {
  exports.Set("info", Napi::Function::New(env, Info));
  exports.Set("setThreads", Napi::Function::New(env, SetThreads));
  exports.Set("setGemm", Napi::Function::New(env, SetGemm));
  exports.Set("setIsa", Napi::Function::New(env, SetIsa));
  exports.Set("setGemmKernel", Napi::Function::New(env, SetGemmKernel));
  exports.Set("forward", Napi::Function::New(env, Forward));
}

}  // namespace
NREM_ADDON_MODULE(Init);
}  // namespace nrem_addon
