// Bindings: attacks and distortions (native/core/{gradients,pgd,deepfool,jsma,cw,square,apgd,fab,distort}.h).
//   attackGradient(net, x, n, y, loss, dX, lossOut|null, control?) → Promise<void>
//   attackClassGrads(net, x, n, classes: number[], J, control?) → Promise<void>
//   attackLogits(net, x, n, Z, control?) → Promise<void>: Z (n × K) = z_L, what the attacks see
//   attackRun(kind, net, x, n, y, opts, out, aux|null, control?) → Promise<void>
//     kind: "pgd" | "deepfool" | "jsma" | "cw" | "square" | "apgd" | "fab"; out: (E ×) n × d;
//     aux (Int32Array): deepfool iterations (n), square queries (E × n), apgd / fab: bit 0
//     adversarial, bit 1 (apgd) zero gradient at the start (n); jsma: y is the target array,
//     in/out (−1 → second most likely class). apgd resolves with { rows, zeroGradient,
//     halvings } (native/core/apgd.h). apgd / fab opts.eps: a number or one per row.
//     opts.keys (square, apgd, fab): the random key of each row (default row0 + row);
//     square opts.rowEps: one eps per row in place of the epsilons list (out n × d).
//   fgsmSweep(net, x, n, y, eps: number[], loss, correct: Uint8Array (E × n), control?)
//   distort(kind, level, x, n, d, h, w, seed, row0, out, control?)
//   attackFinish(net, x, n, raw[], clipped[], norm, eps[], restrict: boolean[], y, targets|null,
//                predictions[], success[], l0[], l2[], linf[], control?)
//     per eps e: clipped[e] = restrict(raw[e]) when restrict[e] (else clipped[e] is raw[e]'s
//     array and is read as is), predictions[e] = argmax of the network on clipped[e],
//     success[e][i] = (targets ? pred == targets[i] : pred != y[i]), and the perturbation norms
//     of clipped[e] − x (native/core/tensor_ops.h): the bookkeeping of src/attacks/base.ts.
// Backend (native/core/backend.h): attackRun reads opts.backend; attackGradient,
// attackClassGrads and fgsmSweep take it as an optional last argument after control
// ("cpu" default | "cuda" | "auto"). On CUDA, unset batch sizes default to GPU-sized batches.
#include <cmath>
#include <memory>

#include "../core/apgd.h"
#include "../core/cw.h"
#include "../core/deepfool.h"
#include "../core/distort.h"
#include "../core/fab.h"
#include "../core/gradients.h"
#include "../core/jsma.h"
#include "../core/pgd.h"
#include "../core/square.h"
#include "../core/tensor_ops.h"
#include "backend_addon.h"
#include "convert.h"
#include "model_handle.h"
#include "registry.h"
#include "task.h"

namespace nrem_addon {
namespace {

using nrem::require;

int64_t get_n(const Napi::Value& v) {
  require(v.IsNumber(), "ERR_ARGUMENT", "Expected a number for n");
  int64_t n = v.As<Napi::Number>().Int64Value();
  require(n >= 0, "ERR_VALUE", "n must be >= 0");
  return n;
}

std::vector<float> get_floats(const Napi::Object& o, const char* key, const std::string& where) {
  std::vector<float> out;
  for (double d : get_number_array(o, key, where)) out.push_back(static_cast<float>(d));
  return out;
}

// A throttled progress + cancellation callback for the core's Tick.
nrem::Tick make_tick(const char* phase, const ProgressFn& progress, const Cancel& cancel) {
  auto last = std::make_shared<double>(-1.0);
  std::string ph(phase);
  return [ph, &progress, &cancel, last](double done, double total) {
    cancel.check();
    if (total <= 0) return;
    if (done - *last >= total / 200 || done >= total) {
      *last = done;
      Progress p;
      p.phase = ph;
      p.done = done;
      p.total = total;
      progress(p);
    }
  };
}

Napi::Value Undef(Napi::Env e) { return e.Undefined(); }

// opts.keys: one non-negative integer per row, or absent (empty).
std::vector<uint64_t> get_keys(const Napi::Object& o, const std::string& w, int64_t n) {
  std::vector<uint64_t> keys;
  if (!has_field(o, "keys")) return keys;
  for (double v : get_number_array(o, "keys", w)) {
    require(v >= 0 && v == std::floor(v) && v < 9007199254740992.0, "ERR_VALUE", "Expected non-negative integers in " + w + ".keys");
    keys.push_back(static_cast<uint64_t>(v));
  }
  require(static_cast<int64_t>(keys.size()) == n, "ERR_SHAPE", "Expected " + w + ".keys to hold one entry per row");
  return keys;
}

// The backend argument after control: undefined/null → cpu, else "cpu" | "cuda" | "auto".
nrem::Backend backend_arg(const Napi::CallbackInfo& info, size_t i) {
  if (info.Length() <= i || info[i].IsUndefined() || info[i].IsNull()) return nrem::Backend::Cpu;
  require(info[i].IsString(), "ERR_ARGUMENT", "Expected a string for backend");
  return nrem::parse_backend(info[i].As<Napi::String>().Utf8Value());
}

// The network an attack runs on: a read lease taken on the main thread, the backend decided
// there (CUDA for fully connected networks when asked for and available), and the
// AttackModel built on the worker thread (make), checking cancellation between chunks.
struct Target {
  std::shared_ptr<Lease> lease;
  bool gpu = false;
  const nrem::Model& net() const { return lease->model(); }
  std::unique_ptr<nrem::AttackModel> make(const Cancel& cancel) const {
    auto m = std::make_unique<nrem::AttackModel>(lease->model(), nrem::Backend::Cpu,
                                                 gpu ? lease->state()->device_model() : nullptr);
    m->set_check([&cancel] { cancel.check(); });
    return m;
  }
};

Target target(const Napi::Value& v, nrem::Backend backend, const char* op) {
  Target t{lease_model(v, "net", false, op)};
  if (backend == nrem::Backend::Cpu) return t;
  const nrem::BackendChoice c = nrem::resolve_backend(backend);  // ERR_BACKEND for "cuda" without a GPU
  if (c.backend != nrem::Backend::Cuda) return t;
  const bool dense = t.net().dense_chain() && t.net().out != nrem::OutputAct::LogSoftmax;
  require(dense || backend != nrem::Backend::Cuda, "ERR_BACKEND",
          "the CUDA model supports fully connected networks only (this one has conv, pooling or input ops)");
  t.gpu = dense;
  return t;
}

// Rows per batch: the option when given; else the CPU default, or a GPU-sized batch on CUDA.
size_t batch_opt(const Napi::Object& o, const std::string& w, const Target& t, int64_t cpu_default, int64_t gpu_default) {
  return static_cast<size_t>(get_int_or(o, "batch", t.gpu ? gpu_default : cpu_default, w));
}

Napi::Value AttackGradient(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return guarded(env, [&]() -> Napi::Value {
    const Target t = target(info[0], backend_arg(info, 8), "attackGradient");
    const int64_t n = get_n(info[2]);
    F32 x = get_f32(info[1], "x", n * t.net().inputs());
    I32 y = get_i32(info[3], "y", n);
    require(info[4].IsString(), "ERR_ARGUMENT", "Expected a string for loss");
    auto loss = nrem::parse_attack_loss(info[4].As<Napi::String>().Utf8Value());
    F32 dx = get_f32(info[5], "dX", n * t.net().inputs());
    float* lo = nullptr;
    std::vector<Napi::Value> keep{info[0], info[1], info[3], info[5]};
    if (!info[6].IsNull() && !info[6].IsUndefined()) {
      lo = get_f32(info[6], "lossOut", n).data;
      keep.push_back(info[6]);
    }
    const float* xd = x.data;
    const int32_t* yd = y.data;
    float* dxd = dx.data;
    return start_task(
        env,
        [=](const ProgressFn&, const Cancel& cancel) {
          cancel.check();
          nrem::input_gradient(*t.make(cancel), loss, xd, yd, static_cast<size_t>(n), dxd, lo);
        },
        Undef, keep, info.Length() > 7 ? info[7] : env.Undefined());
  });
}

Napi::Value AttackClassGrads(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return guarded(env, [&]() -> Napi::Value {
    const Target t = target(info[0], backend_arg(info, 6), "attackClassGrads");
    const int64_t n = get_n(info[2]);
    F32 x = get_f32(info[1], "x", n * t.net().inputs());
    require(info[3].IsArray(), "ERR_ARGUMENT", "Expected an array for classes");
    std::vector<int> classes;
    auto arr = info[3].As<Napi::Array>();
    for (uint32_t i = 0; i < arr.Length(); ++i) {
      Napi::Value v = arr.Get(i);
      require(v.IsNumber(), "ERR_ARGUMENT", "Expected numbers in classes");
      int k = v.As<Napi::Number>().Int32Value();
      require(k >= 0 && k < t.net().outputs(), "ERR_VALUE", "class " + std::to_string(k) + " is out of range");
      classes.push_back(k);
    }
    F32 J = get_f32(info[4], "J", n * static_cast<int64_t>(classes.size()) * t.net().inputs());
    const float* xd = x.data;
    float* jd = J.data;
    return start_task(
        env,
        [=](const ProgressFn&, const Cancel& cancel) { t.make(cancel)->class_grads(xd, static_cast<size_t>(n), classes, jd); },
        Undef, {info[0], info[1], info[4]}, info.Length() > 5 ? info[5] : env.Undefined());
  });
}

Napi::Value AttackLogits(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return guarded(env, [&]() -> Napi::Value {
    const Target t = target(info[0], backend_arg(info, 5), "attackLogits");
    const int64_t n = get_n(info[2]);
    F32 x = get_f32(info[1], "x", n * t.net().inputs());
    F32 z = get_f32(info[3], "Z", n * t.net().outputs());
    const float* xd = x.data;
    float* zd = z.data;
    return start_task(
        env,
        [=](const ProgressFn&, const Cancel& cancel) {
          cancel.check();
          t.make(cancel)->logits(xd, static_cast<size_t>(n), zd);
        },
        Undef, {info[0], info[1], info[3]}, info.Length() > 4 ? info[4] : env.Undefined());
  });
}

Napi::Value AttackRun(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return guarded(env, [&]() -> Napi::Value {
    require(info[0].IsString(), "ERR_ARGUMENT", "Expected a string for kind");
    const std::string kind = info[0].As<Napi::String>().Utf8Value();
    require(info[5].IsObject(), "ERR_ARGUMENT", "Expected an object for opts");
    auto o = info[5].As<Napi::Object>();
    const std::string w = "opts";
    const nrem::Backend backend =
        has_field(o, "backend") ? nrem::parse_backend(get_string(o, "backend", w)) : nrem::Backend::Cpu;
    const Target t = target(info[1], backend, "attackRun");
    const int64_t n = get_n(info[3]);
    const int64_t d = t.net().inputs();
    F32 x = get_f32(info[2], "x", n * d);
    I32 y = get_i32(info[4], "y", n);
    std::vector<Napi::Value> keep{info[1], info[2], info[4], info[6]};
    const float* xd = x.data;
    int32_t* yd = y.data;
    const size_t rows = static_cast<size_t>(n);
    auto aux_of = [&](long len) -> int32_t* {
      if (info[7].IsNull() || info[7].IsUndefined()) return nullptr;
      keep.push_back(info[7]);
      return get_i32(info[7], "aux", len).data;
    };
    ExecFn exec;
    if (kind == "pgd") {
      nrem::PgdOptions p;
      p.l2 = get_bool_or(o, "l2", false, w);
      p.eps = get_floats(o, "epsilons", w);
      p.step = static_cast<float>(get_number_or(o, "step", -1, w));
      p.rel_step = static_cast<float>(get_number_or(o, "relStep", 0.025, w));
      p.steps = static_cast<int>(get_int_or(o, "steps", 40, w));
      p.random_start = get_bool_or(o, "randomStart", true, w);
      p.restarts = static_cast<int>(get_int_or(o, "restarts", 1, w));
      p.early_stop = get_bool_or(o, "earlyStop", true, w);
      p.targeted = get_bool_or(o, "targeted", false, w);
      p.loss = nrem::parse_attack_loss(has_field(o, "loss") ? get_string(o, "loss", w) : "ce");
      p.seed = get_seed(o, "seed", w);
      p.row0 = static_cast<uint64_t>(get_int_or(o, "row0", 0, w));
      p.batch = batch_opt(o, w, t, 500, 16384);
      float* out = get_f32(info[6], "out", static_cast<long>(p.eps.size()) * n * d).data;
      exec = [=](const ProgressFn& pr, const Cancel& c) {
        nrem::pgd_attack(*t.make(c), xd, yd, rows, p, out, make_tick("pgd", pr, c));
      };
    } else if (kind == "deepfool") {
      nrem::DeepFoolOptions p;
      p.overshoot = static_cast<float>(get_number_or(o, "overshoot", 0.02, w));
      p.max_iter = static_cast<int>(get_int_or(o, "maxIterations", 100, w));
      p.candidates = static_cast<int>(get_int_or(o, "candidates", 0, w));
      p.batch = batch_opt(o, w, t, 256, 4096);
      float* out = get_f32(info[6], "out", n * d).data;
      int32_t* it = aux_of(static_cast<long>(n));
      exec = [=](const ProgressFn& pr, const Cancel& c) {
        nrem::deepfool_attack(*t.make(c), xd, yd, rows, p, out, it, make_tick("deepfool", pr, c));
      };
    } else if (kind == "jsma") {
      nrem::JsmaOptions p;
      p.theta = static_cast<float>(get_number_or(o, "theta", 0.1, w));
      p.max_changes = static_cast<int>(get_int_or(o, "maxChanges", 7, w));
      p.max_iter = static_cast<int>(get_int_or(o, "maxIterations", 500, w));
      p.pairs = get_bool_or(o, "pairs", true, w);
      p.batch = batch_opt(o, w, t, 128, 4096);
      require(p.max_changes <= 255, "ERR_VALUE", "maxChanges must be <= 255");
      float* out = get_f32(info[6], "out", n * d).data;
      exec = [=](const ProgressFn& pr, const Cancel& c) {
        nrem::jsma_attack(*t.make(c), xd, yd, rows, p, out, make_tick("jsma", pr, c));
      };
    } else if (kind == "cw") {
      nrem::CwOptions p;
      p.search_steps = static_cast<int>(get_int_or(o, "searchSteps", 5, w));
      p.max_iter = static_cast<int>(get_int_or(o, "maxIterations", 1000, w));
      p.lr = static_cast<float>(get_number_or(o, "lr", 5e-3, w));
      p.c0 = static_cast<float>(get_number_or(o, "initialConst", 0.01, w));
      p.kappa = static_cast<float>(get_number_or(o, "confidence", 0, w));
      p.batch = batch_opt(o, w, t, 256, 4096);
      float* out = get_f32(info[6], "out", n * d).data;
      exec = [=](const ProgressFn& pr, const Cancel& c) {
        nrem::cw_attack(*t.make(c), xd, yd, rows, p, out, make_tick("cw", pr, c));
      };
    } else if (kind == "square") {
      nrem::SquareOptions p;
      p.eps = has_field(o, "rowEps") && !has_field(o, "epsilons") ? std::vector<float>{} : get_floats(o, "epsilons", w);
      p.max_queries = static_cast<int>(get_int_or(o, "maxQueries", 1000, w));
      p.p_init = static_cast<float>(get_number_or(o, "pInit", 0.8, w));
      p.h = static_cast<int>(get_int_or(o, "h", 0, w));
      p.w = static_cast<int>(get_int_or(o, "w", 0, w));
      p.c = static_cast<int>(get_int_or(o, "c", 1, w));
      p.seed = get_seed(o, "seed", w);
      p.row0 = static_cast<uint64_t>(get_int_or(o, "row0", 0, w));
      p.rescale_schedule = get_bool_or(o, "rescaleSchedule", true, w);
      p.l2 = get_bool_or(o, "l2", false, w);
      p.incremental = get_bool_or(o, "incremental", true, w);
      p.keys = get_keys(o, w, n);
      if (has_field(o, "rowEps")) p.row_eps = get_floats(o, "rowEps", w);
      p.batch = batch_opt(o, w, t, 1000, 16384);
      const long E = p.row_eps.empty() ? static_cast<long>(p.eps.size()) : 1;
      float* out = get_f32(info[6], "out", E * n * d).data;
      int32_t* q = aux_of(E * n);
      exec = [=](const ProgressFn& pr, const Cancel& c) {
        nrem::square_attack(*t.make(c), xd, yd, rows, p, out, q, make_tick("square", pr, c));
      };
    } else if (kind == "apgd" || kind == "fab") {
      // Both fill `fooled` (uint8) and copy it into aux (Int32Array, n) when given: bit 0
      // adversarial, bit 1 (apgd) zero gradient at the first start point.
      auto fooled = std::make_shared<std::vector<uint8_t>>(rows), zero = std::make_shared<std::vector<uint8_t>>(rows);
      int32_t* flags = aux_of(static_cast<long>(n));
      float* out = get_f32(info[6], "out", n * d).data;
      const bool l2 = get_bool_or(o, "l2", false, w);
      // eps: one number, or one per row.
      float eps = 0.0f;
      std::vector<float> row_eps;
      require(has_field(o, "eps"), "ERR_ARGUMENT", "Expected " + w + ".eps");
      if (o.Get("eps").IsArray()) {
        row_eps = get_floats(o, "eps", w);
        require(static_cast<int64_t>(row_eps.size()) == n, "ERR_SHAPE", "Expected " + w + ".eps to hold one entry per row");
      } else {
        eps = static_cast<float>(get_number(o, "eps", w));
      }
      const int iterations = static_cast<int>(get_int_or(o, "iterations", 100, w));
      const int restarts = static_cast<int>(get_int_or(o, "restarts", 1, w));
      const int targets = static_cast<int>(get_int_or(o, "targetClasses", 9, w));
      const uint64_t seed = get_seed(o, "seed", w), row0 = static_cast<uint64_t>(get_int_or(o, "row0", 0, w));
      auto copy_flags = [fooled, zero, flags, rows]() {
        if (flags)
          for (size_t r = 0; r < rows; ++r) flags[r] = (*fooled)[r] | ((*zero)[r] << 1);
      };
      if (kind == "apgd") {
        nrem::ApgdOptions p;
        p.l2 = l2, p.eps = eps, p.row_eps = row_eps, p.iterations = iterations, p.restarts = restarts;
        p.target_classes = targets;
        p.loss = nrem::parse_apgd_loss(has_field(o, "loss") ? get_string(o, "loss", w) : "ce");
        p.rho = static_cast<float>(get_number_or(o, "rho", 0.75, w));
        p.early_stop = get_bool_or(o, "earlyStop", true, w);
        p.seed = seed, p.row0 = row0, p.keys = get_keys(o, w, n);
        p.batch = batch_opt(o, w, t, 1000, 16384);
        p.runs_per_pass = static_cast<int>(get_int_or(o, "runsPerPass", 0, w));
        auto stats = std::make_shared<nrem::ApgdStats>();
        exec = [=](const ProgressFn& pr, const Cancel& c) {
          nrem::apgd_attack(*t.make(c), xd, yd, rows, p, out, fooled->data(), zero->data(), stats.get(), make_tick("apgd", pr, c));
          copy_flags();
        };
        return start_task(
            env, exec,
            [stats](Napi::Env e) -> Napi::Value {
              auto r = Napi::Object::New(e);
              r.Set("rows", static_cast<double>(stats->rows));
              r.Set("zeroGradient", static_cast<double>(stats->zero_gradient));
              r.Set("halvings", static_cast<double>(stats->halvings));
              return r;
            },
            keep, info.Length() > 8 ? info[8] : env.Undefined());
      }
      nrem::FabOptions p;
      p.l2 = l2, p.eps = eps, p.row_eps = row_eps, p.iterations = iterations, p.restarts = restarts;
      p.target_classes = targets;
      p.targeted = get_bool_or(o, "targeted", true, w);
      p.alpha_max = static_cast<float>(get_number_or(o, "alphaMax", 0.1, w));
      p.eta = static_cast<float>(get_number_or(o, "eta", 1.05, w));
      p.beta = static_cast<float>(get_number_or(o, "beta", 0.9, w));
      p.stop_at_eps = get_bool_or(o, "stopAtEps", true, w);
      p.runs_per_pass = static_cast<int>(get_int_or(o, "runsPerPass", 0, w));
      p.seed = seed, p.row0 = row0, p.keys = get_keys(o, w, n);
      p.batch = batch_opt(o, w, t, 1000, 16384);
      exec = [=](const ProgressFn& pr, const Cancel& c) {
        nrem::fab_attack(*t.make(c), xd, yd, rows, p, out, fooled->data(), make_tick("fab", pr, c));
        copy_flags();
      };
    } else {
      throw nrem::Error("ERR_VALUE", "Unknown attack '" + kind + "'");
    }
    return start_task(env, exec, Undef, keep, info.Length() > 8 ? info[8] : env.Undefined());
  });
}

Napi::Value FgsmSweep(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return guarded(env, [&]() -> Napi::Value {
    const Target t = target(info[0], backend_arg(info, 8), "fgsmSweep");
    const int64_t n = get_n(info[2]);
    F32 x = get_f32(info[1], "x", n * t.net().inputs());
    I32 y = get_i32(info[3], "y", n);
    require(info[4].IsArray(), "ERR_ARGUMENT", "Expected an array for eps");
    std::vector<float> eps;
    auto arr = info[4].As<Napi::Array>();
    for (uint32_t i = 0; i < arr.Length(); ++i) {
      Napi::Value v = arr.Get(i);
      require(v.IsNumber(), "ERR_ARGUMENT", "Expected numbers in eps");
      eps.push_back(v.As<Napi::Number>().FloatValue());
    }
    require(info[5].IsString(), "ERR_ARGUMENT", "Expected a string for loss");
    auto loss = nrem::parse_attack_loss(info[5].As<Napi::String>().Utf8Value());
    require(info[6].IsTypedArray() && info[6].As<Napi::TypedArray>().TypedArrayType() == napi_uint8_array,
            "ERR_ARGUMENT", "Expected Uint8Array for correct");
    auto c = info[6].As<Napi::Uint8Array>();
    require(c.ElementLength() == eps.size() * static_cast<size_t>(n), "ERR_SHAPE", "correct must hold eps × n values");
    bool closed_form = true;
    if (info.Length() > 9 && !info[9].IsUndefined()) {
      require(info[9].IsString(), "ERR_ARGUMENT", "Expected a string for method");
      const std::string method = info[9].As<Napi::String>().Utf8Value();
      require(method == "closed-form" || method == "direct", "ERR_VALUE",
              "method must be 'closed-form' or 'direct', got '" + method + "'");
      closed_form = method == "closed-form";
    }
    const float* xd = x.data;
    const int32_t* yd = y.data;
    uint8_t* cd = c.Data();
    return start_task(
        env,
        [=](const ProgressFn& pr, const Cancel& cancel) {
          nrem::fgsm_sweep(*t.make(cancel), loss, xd, yd, static_cast<size_t>(n), eps, cd,
                           make_tick("fgsm-sweep", pr, cancel), t.gpu ? 16384 : 4096, closed_form);
        },
        Undef, {info[0], info[1], info[3], info[6]}, info.Length() > 7 ? info[7] : env.Undefined());
  });
}

Napi::Value Distort(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return guarded(env, [&]() -> Napi::Value {
    require(info[0].IsString(), "ERR_ARGUMENT", "Expected a string for kind");
    auto kind = nrem::parse_distortion(info[0].As<Napi::String>().Utf8Value());
    require(info[1].IsNumber(), "ERR_ARGUMENT", "Expected a number for level");
    const float level = info[1].As<Napi::Number>().FloatValue();
    const int64_t n = get_n(info[3]);
    for (int i = 4; i <= 8; ++i) require(info[i].IsNumber(), "ERR_ARGUMENT", "Expected numbers for d, h, w, seed, row0");
    const int d = info[4].As<Napi::Number>().Int32Value(), h = info[5].As<Napi::Number>().Int32Value(),
              wd = info[6].As<Napi::Number>().Int32Value();
    require(d > 0, "ERR_VALUE", "d must be > 0");
    const uint64_t seed = static_cast<uint64_t>(info[7].As<Napi::Number>().Int64Value());
    const uint64_t row0 = static_cast<uint64_t>(info[8].As<Napi::Number>().Int64Value());
    F32 x = get_f32(info[2], "x", n * d);
    F32 out = get_f32(info[9], "out", n * d);
    const float* xd = x.data;
    float* od = out.data;
    return start_task(
        env,
        [=](const ProgressFn& pr, const Cancel& c) {
          c.check();
          nrem::distort(kind, level, xd, static_cast<size_t>(n), d, h, wd, seed, row0, od, [&pr, n](size_t done) {
            Progress p;
            p.phase = "distort";
            p.done = static_cast<double>(done);
            p.total = static_cast<double>(n);
            pr(p);
          });
        },
        Undef, {info[2], info[9]}, info.Length() > 10 ? info[10] : env.Undefined());
  });
}

std::vector<float*> f32_list(const Napi::Value& v, const char* name, size_t count, size_t len, std::vector<Napi::Value>& keep) {
  require(v.IsArray(), "ERR_ARGUMENT", std::string("Expected an array of Float32Array for ") + name);
  auto a = v.As<Napi::Array>();
  require(a.Length() == count, "ERR_SHAPE", std::string("Expected ") + std::to_string(count) + " arrays in " + name);
  std::vector<float*> out;
  for (uint32_t i = 0; i < count; ++i) {
    keep.push_back(a.Get(i));
    out.push_back(get_f32(a.Get(i), std::string(name) + "[" + std::to_string(i) + "]", static_cast<long>(len)).data);
  }
  return out;
}

template <typename T, napi_typedarray_type kType>
std::vector<T*> typed_list(const Napi::Value& v, const char* name, size_t count, size_t len, std::vector<Napi::Value>& keep) {
  require(v.IsArray(), "ERR_ARGUMENT", std::string("Expected an array of typed arrays for ") + name);
  auto a = v.As<Napi::Array>();
  require(a.Length() == count, "ERR_SHAPE", std::string("Expected ") + std::to_string(count) + " arrays in " + name);
  std::vector<T*> out;
  for (uint32_t i = 0; i < count; ++i) {
    Napi::Value e = a.Get(i);
    require(e.IsTypedArray() && e.As<Napi::TypedArray>().TypedArrayType() == kType, "ERR_ARGUMENT",
            std::string("Expected typed arrays of the right type in ") + name);
    auto t = e.As<Napi::TypedArray>();
    require(t.ElementLength() == len, "ERR_SHAPE", std::string(name) + "[" + std::to_string(i) + "] must hold " + std::to_string(len) + " values");
    keep.push_back(e);
    out.push_back(reinterpret_cast<T*>(static_cast<uint8_t*>(t.ArrayBuffer().Data()) + t.ByteOffset()));
  }
  return out;
}

Napi::Value AttackFinish(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return guarded(env, [&]() -> Napi::Value {
    const Target t = target(info[0], nrem::Backend::Cpu, "attackFinish");
    const int64_t n = get_n(info[2]);
    const int d = t.net().inputs();
    const size_t nd = static_cast<size_t>(n) * d, rows = static_cast<size_t>(n);
    F32 x = get_f32(info[1], "x", static_cast<long>(nd));
    require(info[6].IsArray(), "ERR_ARGUMENT", "Expected an array for eps");
    std::vector<double> eps;
    auto ea = info[6].As<Napi::Array>();
    for (uint32_t i = 0; i < ea.Length(); ++i) {
      require(ea.Get(i).IsNumber(), "ERR_ARGUMENT", "Expected numbers in eps");
      eps.push_back(ea.Get(i).As<Napi::Number>().DoubleValue());
    }
    const size_t E = eps.size();
    std::vector<Napi::Value> keep{info[0], info[1]};
    require(info[5].IsString(), "ERR_ARGUMENT", "Expected a string for norm");
    const std::string ns = info[5].As<Napi::String>().Utf8Value();
    require(ns == "linf" || ns == "l2" || ns == "l0", "ERR_VALUE", "norm must be linf, l2 or l0");
    const nrem::Norm norm = ns == "linf" ? nrem::Norm::Linf : ns == "l2" ? nrem::Norm::L2 : nrem::Norm::L0;
    require(info[7].IsArray() && info[7].As<Napi::Array>().Length() == E, "ERR_SHAPE", "Expected one restrict flag per eps");
    std::vector<bool> restrict_e;
    for (uint32_t i = 0; i < E; ++i) restrict_e.push_back(info[7].As<Napi::Array>().Get(i).ToBoolean().Value());
    std::vector<float*> raw = f32_list(info[3], "raw", E, nd, keep);
    std::vector<float*> clipped = f32_list(info[4], "clipped", E, nd, keep);
    I32 y = get_i32(info[8], "y", n);
    keep.push_back(info[8]);
    int32_t* tg = nullptr;
    if (!info[9].IsNull() && !info[9].IsUndefined()) {
      tg = get_i32(info[9], "targets", n).data;
      keep.push_back(info[9]);
    }
    auto pred = typed_list<int32_t, napi_int32_array>(info[10], "predictions", E, rows, keep);
    auto succ = typed_list<uint8_t, napi_uint8_array>(info[11], "success", E, rows, keep);
    auto l0 = f32_list(info[12], "l0", E, rows, keep);
    auto l2 = f32_list(info[13], "l2", E, rows, keep);
    auto li = f32_list(info[14], "linf", E, rows, keep);
    const float* xd = x.data;
    const int32_t* yd = y.data;
    return start_task(
        env,
        [=](const ProgressFn& pr, const Cancel& c) {
          auto m = t.make(c);
          const size_t B = 2000;
          for (size_t e = 0; e < E; ++e) {
            c.check();
            if (restrict_e[e]) nrem::restrict_rows(xd, raw[e], rows, d, norm, eps[e], clipped[e]);
            for (size_t r0 = 0; r0 < rows; r0 += B) {
              c.check();
              const size_t b = std::min(B, rows - r0);
              m->predict(clipped[e] + r0 * d, b, pred[e] + r0);
            }
            for (size_t i = 0; i < rows; ++i) succ[e][i] = tg ? pred[e][i] == tg[i] : pred[e][i] != yd[i];
            nrem::perturbation_norms(xd, clipped[e], rows, d, l0[e], l2[e], li[e]);
            Progress p;
            p.phase = "evaluate";
            p.done = static_cast<double>(e + 1);
            p.total = static_cast<double>(E);
            pr(p);
          }
        },
        Undef, keep, info.Length() > 15 ? info[15] : env.Undefined());
  });
}

void Init(Napi::Env env, Napi::Object exports) {
  exports.Set("attackFinish", Napi::Function::New(env, AttackFinish));
  exports.Set("attackGradient", Napi::Function::New(env, AttackGradient));
  exports.Set("attackClassGrads", Napi::Function::New(env, AttackClassGrads));
  exports.Set("attackLogits", Napi::Function::New(env, AttackLogits));
  exports.Set("attackRun", Napi::Function::New(env, AttackRun));
  exports.Set("fgsmSweep", Napi::Function::New(env, FgsmSweep));
  exports.Set("distort", Napi::Function::New(env, Distort));
}

}  // namespace
NREM_ADDON_MODULE(Init);
}  // namespace nrem_addon
