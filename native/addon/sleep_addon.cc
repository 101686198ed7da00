// Bindings of the sleep: sleepRun (one sleep, event or dense engine) and sleepBatch
// (K sleeps over the pool). Options are copied into C++ structs before the worker runs,
// which validates them (the data scan for NaN included) off the main thread;
// the network's weights are modified in place under a write lease (model_handle.h; the
// TypeScript side sleeps a copy unless asked to sleep in place).
#include <memory>

#include "../core/sleep.h"
#include "../cuda/sleep_cuda.h"
#include "backend_addon.h"
#include "convert.h"
#include "model_handle.h"
#include "registry.h"
#include "task.h"

namespace nrem_addon {
namespace {

using nrem::require;

nrem::SleepParams get_params(const Napi::Value& v, const std::string& where) {
  require(v.IsObject(), "ERR_ARGUMENT", "Expected an object for " + where);
  auto o = v.As<Napi::Object>();
  nrem::SleepParams p;
  p.steps = get_int(o, "steps", where);
  p.dt = static_cast<float>(get_number(o, "dt", where));
  p.max_rate = static_cast<float>(get_number(o, "maxRate", where));
  p.inc = static_cast<float>(get_number(o, "inc", where));
  p.dec = static_cast<float>(get_number(o, "dec", where));
  p.threshold = static_cast<float>(get_number(o, "threshold", where));
  p.decay = static_cast<float>(get_number(o, "decay", where));
  p.inhibition = static_cast<float>(get_number_or(o, "inhibition", 0, where));
  p.dc = static_cast<float>(get_number_or(o, "dc", 0, where));
  for (double a : get_number_array(o, "alpha", where)) p.alpha.push_back(static_cast<float>(a));
  for (double b : get_number_array(o, "beta", where)) p.beta.push_back(static_cast<float>(b));
  std::string gate = get_string(o, "gate", where);
  if (gate == "release")
    p.gate = nrem::SleepGate::Release;
  else if (gate == "sigmoid")
    p.gate = nrem::SleepGate::Sigmoid;
  else if (gate == "none")
    p.gate = nrem::SleepGate::None;
  else
    throw nrem::Error("ERR_VALUE", "Unknown STDP gate '" + gate + "' (expected release, sigmoid or none)");
  p.gate_width = static_cast<float>(get_number_or(o, "gateWidth", 0.001, where));
  p.seed = get_seed(o, "seed", where);
  p.mask_size = static_cast<int>(get_int_or(o, "maskSize", 10, where));
  p.trace_every = get_int_or(o, "traceEvery", 0, where);
  p.raster_from = get_int_or(o, "rasterFrom", 0, where);
  p.raster_to = get_int_or(o, "rasterTo", 0, where);
  if (has_field(o, "plastic")) {
    for (double v : get_number_array(o, "plastic", where)) p.plastic.push_back(v != 0.0 ? 1 : 0);
  }
  const std::string bias = has_field(o, "bias") ? get_string(o, "bias", where) : "ignore";
  require(bias == "ignore" || bias == "current", "ERR_VALUE", "Unknown bias mode '" + bias + "' (expected ignore or current)");
  p.bias_current = bias == "current";
  const std::string conv = has_field(o, "convStdp") ? get_string(o, "convStdp", where) : "sum";
  require(conv == "sum" || conv == "mean", "ERR_VALUE", "Unknown convStdp '" + conv + "' (expected sum or mean)");
  p.conv_stdp_mean = conv == "mean";
  return p;
}

nrem::SleepData get_data(const Napi::Value& v, int n0, std::vector<Napi::Value>& keep) {
  require(v.IsObject(), "ERR_ARGUMENT", "Expected an object for data");
  auto o = v.As<Napi::Object>();
  nrem::SleepData d;
  std::string mode = get_string(o, "mode", "data");
  if (mode == "replay") {
    d.mode = nrem::SleepInputMode::Replay;
    I32 off = get_i32(get_field(o, "replayOffsets", "data"), "data.replayOffsets");
    I32 ind = get_i32(get_field(o, "replayIndices", "data"), "data.replayIndices");
    require(off.length >= 1, "ERR_SHAPE", "data.replayOffsets needs steps + 1 entries");
    d.replay_offsets = off.data;
    d.replay_steps = off.length - 1;
    d.replay_indices = ind.data;
    d.replay_count = ind.length;
    keep.push_back(o.Get("replayOffsets"));
    keep.push_back(o.Get("replayIndices"));
    return d;
  }
  if (mode == "sequence")
    d.mode = nrem::SleepInputMode::Sequence;
  else if (mode == "mean")
    d.mode = nrem::SleepInputMode::Mean;
  else if (mode == "masked-mean")
    d.mode = nrem::SleepInputMode::MaskedMean;
  else
    throw nrem::Error("ERR_VALUE", "Unknown sleep input '" + mode + "'");
  int64_t n = get_int(o, "n", "data");
  require(n > 0, "ERR_SHAPE", "the sleep input needs at least one row");
  F32 x = get_f32(get_field(o, "x", "data"), "data.x", n * n0);
  d.x = x.data;
  d.n = static_cast<size_t>(n);
  d.image_h = static_cast<int>(get_int_or(o, "imageH", 0, "data"));
  d.image_w = static_cast<int>(get_int_or(o, "imageW", 0, "data"));
  d.image_c = static_cast<int>(get_int_or(o, "imageC", 1, "data"));
  keep.push_back(o.Get("x"));
  return d;
}

Napi::Object stats_to_js(Napi::Env env, const nrem::SleepStats& st) {
  Napi::Object o = Napi::Object::New(env);
  o.Set("steps", static_cast<double>(st.steps));
  o.Set("seconds", st.seconds);
  auto arr = [&](const auto& vec) {
    Napi::Array a = Napi::Array::New(env, vec.size());
    for (size_t i = 0; i < vec.size(); ++i) a.Set(static_cast<uint32_t>(i), static_cast<double>(vec[i]));
    return a;
  };
  o.Set("spikes", arr(st.spikes));
  o.Set("potentiation", arr(st.potentiation));
  o.Set("depression", arr(st.depression));
  o.Set("changed", arr(st.changed));
  o.Set("absChange", arr(st.abs_change));
  Napi::Array per = Napi::Array::New(env, st.neuron_spikes.size());
  for (size_t l = 0; l < st.neuron_spikes.size(); ++l) {
    auto u = Napi::Uint32Array::New(env, st.neuron_spikes[l].size());
    std::copy(st.neuron_spikes[l].begin(), st.neuron_spikes[l].end(), u.Data());
    per.Set(static_cast<uint32_t>(l), u);
  }
  o.Set("neuronSpikes", per);
  Napi::Array mem = Napi::Array::New(env, st.membranes.size());
  for (size_t l = 0; l < st.membranes.size(); ++l) {
    auto f = Napi::Float32Array::New(env, st.membranes[l].size());
    std::copy(st.membranes[l].begin(), st.membranes[l].end(), f.Data());
    mem.Set(static_cast<uint32_t>(l), f);
  }
  o.Set("membranes", mem);
  auto tr = Napi::Float32Array::New(env, st.trace.size());
  std::copy(st.trace.begin(), st.trace.end(), tr.Data());
  o.Set("trace", tr);
  if (!st.raster_offsets.empty()) {
    Napi::Array offs = Napi::Array::New(env, st.raster_offsets.size());
    Napi::Array inds = Napi::Array::New(env, st.raster_indices.size());
    for (size_t l = 0; l < st.raster_offsets.size(); ++l) {
      auto a = Napi::Int32Array::New(env, st.raster_offsets[l].size());
      std::copy(st.raster_offsets[l].begin(), st.raster_offsets[l].end(), a.Data());
      offs.Set(static_cast<uint32_t>(l), a);
      auto b = Napi::Int32Array::New(env, st.raster_indices[l].size());
      std::copy(st.raster_indices[l].begin(), st.raster_indices[l].end(), b.Data());
      inds.Set(static_cast<uint32_t>(l), b);
    }
    o.Set("rasterOffsets", offs);
    o.Set("rasterIndices", inds);
  }
  return o;
}

nrem::SleepHooks make_hooks(const ProgressFn& progress, const Cancel& cancel, double total) {
  nrem::SleepHooks h;
  h.every = 1024;
  h.cancelled = [&cancel]() { return cancel.requested(); };
  h.progress = [&progress, total](int64_t done) {
    Progress p;
    p.phase = "sleep";
    p.done = static_cast<double>(done);
    p.total = total;
    progress(p);
  };
  return h;
}

// Backend of a sleep: the optional argument after control, "cpu" (default) | "cuda" | "auto".
// "auto" runs on the GPU when one is usable and the request is one the kernels support (no
// raster), else on the CPU; stats.backend says which ran, stats.backendReason why not CUDA.
// Of the two CUDA kernels, the fully connected one (native/cuda/sleep.cu) runs the paper's
// kind of sleep (dense chain without input ops, every layer plastic, no bias currents), the
// general one (sleep_net.cu) every other chain: conv, pooling, bias currents, `layers`.
struct SleepBackend {
  bool cuda = false;
  bool net = false;  // the general kernel
  std::string reason;
};
bool paper_sleep(const std::vector<nrem::Model*>& models, const std::vector<nrem::SleepParams>& ps) {
  for (const nrem::Model* m : models)
    if (!m->dense_chain()) return false;
  for (const nrem::SleepParams& p : ps) {
    if (p.bias_current) return false;
    for (uint8_t f : p.plastic)
      if (!f) return false;
  }
  return true;
}

SleepBackend sleep_backend(const Napi::CallbackInfo& info, size_t i, const std::vector<nrem::Model*>& models,
                           const std::vector<nrem::SleepParams>& ps) {
  nrem::Backend b = nrem::Backend::Cpu;
  if (info.Length() > i && !info[i].IsUndefined() && !info[i].IsNull()) {
    require(info[i].IsString(), "ERR_ARGUMENT", "Expected a string for backend");
    b = nrem::parse_backend(info[i].As<Napi::String>().Utf8Value());
  }
  SleepBackend r;
  if (b == nrem::Backend::Cpu) return r;
  nrem::BackendChoice c = nrem::resolve_backend(b);  // throws ERR_BACKEND for "cuda" without a GPU
  if (c.backend != nrem::Backend::Cuda) {
    r.reason = c.reason;
    return r;
  }
  std::string why;
  bool ok = false;
  if (paper_sleep(models, ps)) {
    std::vector<nrem::NetView> nets;
    for (nrem::Model* m : models) nets.push_back(m->dense_view());
    ok = nrem::cuda::sleep_supported(nets, ps, &why);
  }
  if (!ok) {  // every other chain, or a paper sleep the fully connected kernel cannot run (more layers)
    r.net = true;
    try {
      std::vector<std::unique_ptr<nrem::ModelSleep>> ms;
      std::vector<nrem::SleepNet> nets;
      for (nrem::Model* m : models) {
        ms.push_back(std::make_unique<nrem::ModelSleep>(*m));
        nets.push_back(ms.back()->net);
      }
      ok = nrem::cuda::sleep_net_supported(nets, ps, &why);
    } catch (const nrem::Error&) {
      ok = true;  // a network the sleep refuses: the task reports it, as on the CPU
    }
  }
  if (ok) {
    r.cuda = true;
  } else {
    require(b == nrem::Backend::Auto, "ERR_UNSUPPORTED", "CUDA sleep: " + why);
    r.reason = why;
  }
  return r;
}

Napi::Value with_backend(Napi::Env e, Napi::Value stats, const SleepBackend& b) {
  Napi::Object o = stats.As<Napi::Object>();
  o.Set("backend", b.cuda ? "cuda" : "cpu");
  if (!b.reason.empty()) o.Set("backendReason", b.reason);
  return o;
}

// sleepRun(net, data, params, engine: "event"|"dense", control?, backend?) → Promise<stats>
Napi::Value SleepRun(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return guarded(env, [&]() -> Napi::Value {
    auto lease = lease_model(info[0], "net", true, "sleep");
    nrem::Model* model = &lease->model();
    std::vector<Napi::Value> keep{info[0]};
    auto data = std::make_shared<nrem::SleepData>(get_data(info[1], model->inputs(), keep));
    auto params = std::make_shared<nrem::SleepParams>(get_params(info[2], "params"));
    require(info[3].IsString(), "ERR_ARGUMENT", "Expected a string for engine");
    const std::string engine = info[3].As<Napi::String>().Utf8Value();
    require(engine == "event" || engine == "dense", "ERR_VALUE", "engine must be event or dense");
    auto stats = std::make_shared<nrem::SleepStats>();
    const bool dense = engine == "dense";
    const SleepBackend be = sleep_backend(info, 5, {model}, {*params});
    require(!(be.cuda && dense), "ERR_VALUE", "the dense engine runs on the CPU only");
    return start_task(
        env,
        [lease, model, data, params, stats, dense, be](const ProgressFn& progress, const Cancel& cancel) {
          auto hooks = make_hooks(progress, cancel, static_cast<double>(params->steps));
          if (be.cuda && !be.net) {
            std::vector<nrem::SleepStats> st;
            nrem::cuda::sleep_batch({model->dense_view()}, {*params}, *data, st, hooks);
            *stats = std::move(st.front());
            return;
          }
          nrem::ModelSleep ms(*model);
          if (be.cuda) {
            std::vector<nrem::SleepStats> st;
            nrem::cuda::sleep_batch_net({ms.net}, {*params}, *data, st, hooks);
            ms.finish();
            *stats = std::move(st.front());
            return;
          }
          if (dense)
            nrem::sleep_run_dense(ms.net, *params, *data, *stats, hooks);
          else
            nrem::sleep_run(ms.net, *params, *data, *stats, hooks);
          ms.finish();
        },
        [stats, be](Napi::Env e) -> Napi::Value { return with_backend(e, stats_to_js(e, *stats), be); }, keep,
        info.Length() > 4 ? info[4] : env.Undefined());
  });
}

// sleepBatch(nets: net[], data, params: params[], control?) → Promise<stats[]>
Napi::Value SleepBatch(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return guarded(env, [&]() -> Napi::Value {
    require(info[0].IsArray() && info[2].IsArray(), "ERR_ARGUMENT", "Expected arrays of networks and parameters");
    auto na = info[0].As<Napi::Array>();
    auto pa = info[2].As<Napi::Array>();
    require(na.Length() == pa.Length() && na.Length() > 0, "ERR_SHAPE",
            "Expected as many networks as parameter sets (at least one)");
    auto models = std::make_shared<std::vector<nrem::Model*>>();
    auto params = std::make_shared<std::vector<nrem::SleepParams>>();
    auto leases = std::make_shared<std::vector<std::shared_ptr<Lease>>>();
    std::vector<Napi::Value> keep{info[0]};
    double total = 0;
    for (uint32_t k = 0; k < na.Length(); ++k) {
      leases->push_back(lease_model(na.Get(k), "nets[" + std::to_string(k) + "]", true, "sleepBatch"));
      models->push_back(&leases->back()->model());
      params->push_back(get_params(pa.Get(k), "params[" + std::to_string(k) + "]"));
      require(models->back()->inputs() == models->front()->inputs() && models->back()->layers.size() == models->front()->layers.size(),
              "ERR_SHAPE", "every network of a batch needs the same layers");
      total += static_cast<double>(params->back().steps);
    }
    auto data = std::make_shared<nrem::SleepData>(get_data(info[1], models->front()->inputs(), keep));
    auto stats = std::make_shared<std::vector<nrem::SleepStats>>();
    const SleepBackend be = sleep_backend(info, 4, *models, *params);
    return start_task(
        env,
        [leases, models, data, params, stats, total, be](const ProgressFn& progress, const Cancel& cancel) {
          auto hooks = make_hooks(progress, cancel, total);
          if (be.cuda && !be.net) {
            std::vector<nrem::NetView> nets;
            for (nrem::Model* m : *models) nets.push_back(m->dense_view());
            nrem::cuda::sleep_batch(nets, *params, *data, *stats, hooks);
            return;
          }
          std::vector<std::unique_ptr<nrem::ModelSleep>> ms;
          std::vector<nrem::SleepNet> nets;
          for (nrem::Model* m : *models) {
            ms.push_back(std::make_unique<nrem::ModelSleep>(*m));
            nets.push_back(ms.back()->net);
          }
          if (be.cuda)
            nrem::cuda::sleep_batch_net(nets, *params, *data, *stats, hooks);
          else
            nrem::sleep_batch(nets, *params, *data, *stats, hooks);
          for (auto& m : ms) m->finish();
        },
        [stats, be](Napi::Env e) -> Napi::Value {
          Napi::Array a = Napi::Array::New(e, stats->size());
          for (size_t k = 0; k < stats->size(); ++k)
            a.Set(static_cast<uint32_t>(k), with_backend(e, stats_to_js(e, (*stats)[k]), be));
          return a;
        },
        keep, info.Length() > 3 ? info[3] : env.Undefined());
  });
}

void Init(Napi::Env env, Napi::Object exports) {
  exports.Set("sleepRun", Napi::Function::New(env, SleepRun));
  exports.Set("sleepBatch", Napi::Function::New(env, SleepBatch));
}

}  // namespace
NREM_ADDON_MODULE(Init);
}  // namespace nrem_addon
