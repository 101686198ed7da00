// Bindings: whole-array passes (native/core/tensor_ops.h).
//   scanValues(x: Float32Array, lo, hi, control?) → Promise<{ min, max, firstNonFinite, firstOutside }>
//   u8ToF32(src: Uint8Array, divisor, dst: Float32Array)   (sync: data loading; dst = src / divisor)
#include <memory>

#include "../core/tensor_ops.h"
#include "../core/thread_pool.h"
#include "convert.h"
#include "registry.h"
#include "task.h"

namespace nrem_addon {
namespace {

using nrem::require;

Napi::Value ScanValues(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return guarded(env, [&]() -> Napi::Value {
    F32 x = get_f32(info[0], "x");
    require(info[1].IsNumber() && info[2].IsNumber(), "ERR_ARGUMENT", "Expected numbers for lo and hi");
    const double lo = info[1].As<Napi::Number>().DoubleValue(), hi = info[2].As<Napi::Number>().DoubleValue();
    auto out = std::make_shared<nrem::ValueScan>();
    const float* xd = x.data;
    const size_t count = x.length;
    return start_task(
        env,
        [=](const ProgressFn&, const Cancel& c) {
          c.check();
          *out = nrem::scan_values(xd, count, lo, hi);
        },
        [out](Napi::Env e) -> Napi::Value {
          Napi::Object o = Napi::Object::New(e);
          o.Set("min", out->min);
          o.Set("max", out->max);
          o.Set("firstNonFinite", static_cast<double>(out->first_nonfinite));
          o.Set("firstOutside", static_cast<double>(out->first_outside));
          return o;
        },
        {info[0]}, info.Length() > 3 ? info[3] : env.Undefined());
  });
}

Napi::Value U8ToF32(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return guarded(env, [&]() -> Napi::Value {
    require(info[0].IsTypedArray() && info[0].As<Napi::TypedArray>().TypedArrayType() == napi_uint8_array, "ERR_ARGUMENT",
            "Expected Uint8Array for src");
    auto src = info[0].As<Napi::Uint8Array>();
    require(info[1].IsNumber(), "ERR_ARGUMENT", "Expected a number for divisor");
    F32 dst = get_f32(info[2], "dst", static_cast<long>(src.ElementLength()));
    nrem::PoolLease lease;  // set_threads cannot free the pool under this call
    nrem::u8_to_f32(src.Data(), src.ElementLength(), info[1].As<Napi::Number>().DoubleValue(), dst.data);
    return env.Undefined();
  });
}

void Init(Napi::Env env, Napi::Object exports) {
  exports.Set("scanValues", Napi::Function::New(env, ScanValues));
  exports.Set("u8ToF32", Napi::Function::New(env, U8ToF32));
}

}  // namespace
NREM_ADDON_MODULE(Init);
}  // namespace nrem_addon
