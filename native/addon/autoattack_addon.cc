// Bindings: the pieces of APGD and FAB that tests check against hand computations
// (native/core/apgd.h, fab.h). Synchronous: each is a few microseconds of work.
//   apgdSchedule(iterations) → { h0, hMin, hDecr, checkpoints: number[], lengths: number[] }
//   apgdShouldHalve(steps: Float32Array (N), k, h, rho, reducedLast, bestLast, best) → boolean
//   apgdLoss(kind, Z (n × K), n, K, y: Int32Array, t: Int32Array | null, loss (n), G (n × K))
//   fabProject(norm: "linf" | "l2", t, w, b, delta): all Float32Array (d) except b
//   squareSides(pInit, Q, rescale, h, w, l2?) → Int32Array (Q): the window side at each iteration (square.h)
//   squareEta(s, flip) → Float32Array (s × s): the L2 proposal shape
#include "../core/apgd.h"
#include "../core/fab.h"
#include "../core/square.h"
#include "convert.h"
#include "registry.h"

namespace nrem_addon {
namespace {

using nrem::require;

double num(const Napi::Value& v, const char* name) {
  require(v.IsNumber(), "ERR_ARGUMENT", std::string("Expected a number for ") + name);
  return v.As<Napi::Number>().DoubleValue();
}

Napi::Value ApgdSchedule(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return guarded(env, [&]() -> Napi::Value {
    const int N = static_cast<int>(num(info[0], "iterations"));
    require(N >= 1, "ERR_VALUE", "iterations must be >= 1");
    const auto s = nrem::apgd_schedule(N);
    auto o = Napi::Object::New(env);
    o.Set("h0", s.h0);
    o.Set("hMin", s.h_min);
    o.Set("hDecr", s.h_decr);
    auto cp = Napi::Array::New(env, s.checkpoints.size()), ln = Napi::Array::New(env, s.lengths.size());
    for (size_t i = 0; i < s.checkpoints.size(); ++i) {
      cp.Set(static_cast<uint32_t>(i), s.checkpoints[i]);
      ln.Set(static_cast<uint32_t>(i), s.lengths[i]);
    }
    o.Set("checkpoints", cp);
    o.Set("lengths", ln);
    return o;
  });
}

Napi::Value ApgdShouldHalve(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return guarded(env, [&]() -> Napi::Value {
    F32 steps = get_f32(info[0], "steps");
    const int N = static_cast<int>(steps.length), k = static_cast<int>(num(info[1], "k")),
              h = static_cast<int>(num(info[2], "h"));
    require(k >= 0 && k < N && h >= 1 && h <= k + 1, "ERR_VALUE", "Expected 1 <= h <= k + 1 and k < steps.length");
    require(info[4].IsBoolean(), "ERR_ARGUMENT", "Expected a boolean for reducedLast");
    const bool halve = nrem::apgd_should_halve(steps.data, N, k, h, static_cast<float>(num(info[3], "rho")),
                                               info[4].As<Napi::Boolean>().Value(),
                                               static_cast<float>(num(info[5], "bestLast")),
                                               static_cast<float>(num(info[6], "best")));
    return Napi::Boolean::New(env, halve);
  });
}

Napi::Value ApgdLoss(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return guarded(env, [&]() -> Napi::Value {
    require(info[0].IsString(), "ERR_ARGUMENT", "Expected a string for kind");
    const auto kind = nrem::parse_apgd_loss(info[0].As<Napi::String>().Utf8Value());
    const int64_t n = static_cast<int64_t>(num(info[2], "n")), K = static_cast<int64_t>(num(info[3], "K"));
    const int64_t k_min = kind == nrem::ApgdLoss::DlrTargeted ? 4 : kind == nrem::ApgdLoss::Dlr ? 3 : 1;
    require(n >= 0 && K >= k_min, "ERR_VALUE", "Expected n >= 0 and K >= " + std::to_string(k_min));
    F32 z = get_f32(info[1], "Z", n * K);
    I32 y = get_i32(info[4], "y", n);
    const int32_t* t = nullptr;
    if (kind == nrem::ApgdLoss::DlrTargeted) t = get_i32(info[5], "t", n).data;
    F32 loss = get_f32(info[6], "loss", n);
    F32 g = get_f32(info[7], "G", n * K);
    for (int64_t r = 0; r < n; ++r) {
      require(y.data[r] >= 0 && y.data[r] < K, "ERR_VALUE", "label out of range");
      if (t) require(t[r] >= 0 && t[r] < K, "ERR_VALUE", "target out of range");
    }
    nrem::apgd_loss_grad(kind, z.data, static_cast<size_t>(n), static_cast<int>(K), y.data, t, loss.data, g.data);
    return env.Undefined();
  });
}

Napi::Value FabProject(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return guarded(env, [&]() -> Napi::Value {
    require(info[0].IsString(), "ERR_ARGUMENT", "Expected a string for norm");
    const std::string norm = info[0].As<Napi::String>().Utf8Value();
    require(norm == "linf" || norm == "l2", "ERR_VALUE", "norm must be 'linf' or 'l2'");
    F32 t = get_f32(info[1], "t");
    require(t.length >= 1, "ERR_SHAPE", "Expected a non-empty t");
    F32 w = get_f32(info[2], "w", static_cast<long>(t.length));
    const float b = static_cast<float>(num(info[3], "b"));
    F32 delta = get_f32(info[4], "delta", static_cast<long>(t.length));
    const int d = static_cast<int>(t.length);
    if (norm == "linf") nrem::fab_project_linf(t.data, w.data, b, d, delta.data);
    else nrem::fab_project_l2(t.data, w.data, b, d, delta.data);
    return env.Undefined();
  });
}

Napi::Value SquareSides(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return guarded(env, [&]() -> Napi::Value {
    const float p_init = static_cast<float>(num(info[0], "pInit"));
    const int Q = static_cast<int>(num(info[1], "Q")), h = static_cast<int>(num(info[3], "h")),
              w = static_cast<int>(num(info[4], "w"));
    require(Q >= 1 && Q <= 10000000 && h >= 1 && w >= 1, "ERR_VALUE", "Expected Q, h, w >= 1");
    require(info[2].IsBoolean(), "ERR_ARGUMENT", "Expected a boolean for rescale");
    const bool rescale = info[2].As<Napi::Boolean>().Value();
    const bool l2 = info.Length() > 5 && info[5].IsBoolean() && info[5].As<Napi::Boolean>().Value();
    auto out = Napi::Int32Array::New(env, static_cast<size_t>(Q));
    for (int i = 0; i < Q; ++i) out[static_cast<size_t>(i)] = nrem::square_side(p_init, i, Q, rescale, h, w, l2);
    return out;
  });
}

Napi::Value SquareEta(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return guarded(env, [&]() -> Napi::Value {
    require(info[1].IsBoolean(), "ERR_ARGUMENT", "Expected a boolean for flip");
    const auto e = nrem::square_eta(static_cast<int>(num(info[0], "s")), info[1].As<Napi::Boolean>().Value());
    auto out = Napi::Float32Array::New(env, e.size());
    for (size_t i = 0; i < e.size(); ++i) out[i] = e[i];
    return out;
  });
}

void Init(Napi::Env env, Napi::Object exports) {
  exports.Set("squareEta", Napi::Function::New(env, SquareEta));
  exports.Set("squareSides", Napi::Function::New(env, SquareSides));
  exports.Set("apgdSchedule", Napi::Function::New(env, ApgdSchedule));
  exports.Set("apgdShouldHalve", Napi::Function::New(env, ApgdShouldHalve));
  exports.Set("apgdLoss", Napi::Function::New(env, ApgdLoss));
  exports.Set("fabProject", Napi::Function::New(env, FabProject));
}

}  // namespace
NREM_ADDON_MODULE(Init);
}  // namespace nrem_addon
