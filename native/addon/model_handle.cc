// The native model handle (model_handle.h): createModel(desc) and the methods of its objects.
//   createModel({ input: [c, h, w], inputOps?: [{ op: "add"|"sub"|"mul"|"div", value: Float32Array }],
//                 layers: [{ kind: "dense"|"conv"|"maxpool"|"avgpool", units?, window?: [kh, kw, sh, sw, pt, pl, pb, pr],
//                            countIncludePad?, relu, pre?, post?, dropout?, weights?: Float32Array,
//                            bias?: Float32Array | true | null }],
//                 output: "relu"|"linear"|"softmax"|"logsoftmax", temperature?, hiddenScale? }) → handle
//   handle.describe() → { input, layers: [{ kind, in, out, weights, bias }], output, temperature, hiddenScale, parameters }
//   handle.getWeights(k) / getBias(k) → Float32Array copy (k-th weight layer) | null
//   handle.setWeights(k, a) / setBias(k, a); setOutput(name, temperature); setHiddenScale(s)
//   handle.clone() → handle;  handle.dispose();  handle.state → "idle" | "reading" | "writing: <op>" | "disposed"
//   handle.firstNonFinite() → null | { layer, tensor: "weights"|"bias"|"input op", index, value }
#include "model_handle.h"

#include <unistd.h>

#include <cmath>

#include "convert.h"
#include "registry.h"

namespace nrem_addon {

using nrem::require;

std::shared_ptr<nrem::cuda::DeviceModel> ModelState::device_model() {
  std::lock_guard<std::mutex> lk(device_mu);
  if (!device || device_version != version) {
    device.reset();
    device = std::make_shared<nrem::cuda::DeviceModel>(model->dense_view());
    device_version = version;
  }
  return device;
}

Lease::Lease(std::shared_ptr<ModelState> s, bool write, std::string op) : state_(std::move(s)), write_(write) {
  require(state_->model != nullptr, "ERR_DISPOSED", "the network was disposed");
  if (state_->writer)
    throw nrem::Error("ERR_BUSY", "the network is busy: " + state_->holder +
                                      " is changing it; wait for it to finish (or use a copy: net.clone())");
  if (write && state_->readers > 0)
    throw nrem::Error("ERR_BUSY", op + " would change the network while " + std::to_string(state_->readers) +
                                      " running call(s) read it; wait for them (or use a copy: net.clone())");
  model_ = state_->model;
  if (write) {
    state_->writer = true;
    state_->holder = op;
  } else {
    state_->readers++;
  }
}

Lease::~Lease() {
  if (write_) {
    state_->writer = false;
    state_->holder.clear();
    state_->version++;
  } else {
    state_->readers--;
  }
}

namespace {

class NativeModel : public Napi::ObjectWrap<NativeModel> {
 public:
  static Napi::Function Define(Napi::Env env) {
    return DefineClass(env, "NativeModel",
                       {InstanceMethod("describe", &NativeModel::Describe),
                        InstanceMethod("getWeights", &NativeModel::GetWeights),
                        InstanceMethod("getBias", &NativeModel::GetBias),
                        InstanceMethod("setWeights", &NativeModel::SetWeights),
                        InstanceMethod("setBias", &NativeModel::SetBias),
                        InstanceMethod("setOutput", &NativeModel::SetOutput),
                        InstanceMethod("setHiddenScale", &NativeModel::SetHiddenScale),
                        InstanceMethod("clone", &NativeModel::Clone),
                        InstanceMethod("dispose", &NativeModel::Dispose),
                        InstanceMethod("firstNonFinite", &NativeModel::FirstNonFinite),
                        InstanceAccessor("state", &NativeModel::State, nullptr)});
  }

  explicit NativeModel(const Napi::CallbackInfo& info) : Napi::ObjectWrap<NativeModel>(info) {
    state_ = std::make_shared<ModelState>();
  }

  const std::shared_ptr<ModelState>& state() const { return state_; }

 private:
  nrem::Model& read_model() {
    require(state_->model != nullptr, "ERR_DISPOSED", "the network was disposed");
    return *state_->model;
  }
  nrem::Layer& weight_layer(const Napi::CallbackInfo& info) {
    nrem::Model& m = read_model();
    require(info.Length() > 0 && info[0].IsNumber(), "ERR_ARGUMENT", "Expected a weight-layer index");
    const int k = info[0].As<Napi::Number>().Int32Value();
    require(k >= 0 && k < m.weighted_layers(), "ERR_ARGUMENT",
            "Expected a weight-layer index in 0.." + std::to_string(m.weighted_layers() - 1) + " but received " +
                std::to_string(k));
    return m.layers[m.weighted_index(k)];
  }

  Napi::Value Describe(const Napi::CallbackInfo& info);
  Napi::Value GetWeights(const Napi::CallbackInfo& info) {
    return guarded(info.Env(), [&]() -> Napi::Value {
      Lease lease(state_, false, "getWeights");
      const nrem::Layer& l = weight_layer(info);
      auto a = Napi::Float32Array::New(info.Env(), l.W.size());
      std::copy(l.W.begin(), l.W.end(), a.Data());
      return a;
    });
  }
  Napi::Value GetBias(const Napi::CallbackInfo& info) {
    return guarded(info.Env(), [&]() -> Napi::Value {
      Lease lease(state_, false, "getBias");
      const nrem::Layer& l = weight_layer(info);
      if (!l.has_bias()) return info.Env().Null();
      auto a = Napi::Float32Array::New(info.Env(), l.b.size());
      std::copy(l.b.begin(), l.b.end(), a.Data());
      return a;
    });
  }
  Napi::Value SetWeights(const Napi::CallbackInfo& info) {
    return guarded(info.Env(), [&]() -> Napi::Value {
      Lease lease(state_, true, "setWeights");
      nrem::Layer& l = weight_layer(info);
      F32 w = get_f32(info[1], "weights", static_cast<long>(l.W.size()));
      std::copy(w.data, w.data + w.length, l.W.begin());
      return info.Env().Undefined();
    });
  }
  Napi::Value SetBias(const Napi::CallbackInfo& info) {
    return guarded(info.Env(), [&]() -> Napi::Value {
      Lease lease(state_, true, "setBias");
      nrem::Layer& l = weight_layer(info);
      require(l.has_bias(), "ERR_ARGUMENT", "this layer has no bias");
      F32 b = get_f32(info[1], "bias", static_cast<long>(l.b.size()));
      std::copy(b.data, b.data + b.length, l.b.begin());
      return info.Env().Undefined();
    });
  }
  Napi::Value SetOutput(const Napi::CallbackInfo& info);
  Napi::Value SetHiddenScale(const Napi::CallbackInfo& info) {
    return guarded(info.Env(), [&]() -> Napi::Value {
      Lease lease(state_, true, "setHiddenScale");
      require(info[0].IsNumber(), "ERR_ARGUMENT", "Expected a number for hiddenScale");
      const double s = info[0].As<Napi::Number>().DoubleValue();
      require(std::isfinite(s) && s > 0, "ERR_VALUE", "hiddenScale must be a positive number");
      lease.model().hidden_scale = static_cast<float>(s);
      return info.Env().Undefined();
    });
  }
  Napi::Value Clone(const Napi::CallbackInfo& info);
  Napi::Value Dispose(const Napi::CallbackInfo& info) {
    return guarded(info.Env(), [&]() -> Napi::Value {
      if (!state_->model) return info.Env().Undefined();
      { Lease lease(state_, true, "dispose"); }  // ERR_BUSY while a call runs
      state_->model.reset();
      std::lock_guard<std::mutex> lk(state_->device_mu);
      state_->device.reset();
      return info.Env().Undefined();
    });
  }
  Napi::Value FirstNonFinite(const Napi::CallbackInfo& info);
  Napi::Value State(const Napi::CallbackInfo& info) {
    if (!state_->model) return Napi::String::New(info.Env(), "disposed");
    if (state_->writer) return Napi::String::New(info.Env(), "writing: " + state_->holder);
    return Napi::String::New(info.Env(), state_->readers > 0 ? "reading" : "idle");
  }

  std::shared_ptr<ModelState> state_;
};

Napi::FunctionReference& constructor(Napi::Env env) { return *env.GetInstanceData<Napi::FunctionReference>(); }

Napi::Array shape_js(Napi::Env env, const nrem::Shape& s) {
  Napi::Array a = Napi::Array::New(env, 3);
  a.Set(0u, s.c);
  a.Set(1u, s.h);
  a.Set(2u, s.w);
  return a;
}

const char* output_name(nrem::OutputAct a) {
  switch (a) {
    case nrem::OutputAct::Relu: return "relu";
    case nrem::OutputAct::Linear: return "linear";
    case nrem::OutputAct::Softmax: return "softmax";
    default: return "logsoftmax";
  }
}

nrem::OutputAct parse_output(const std::string& s) {
  if (s == "relu") return nrem::OutputAct::Relu;
  if (s == "linear") return nrem::OutputAct::Linear;
  if (s == "softmax") return nrem::OutputAct::Softmax;
  if (s == "logsoftmax") return nrem::OutputAct::LogSoftmax;
  throw nrem::Error("ERR_VALUE", "Unknown output activation '" + s + "' (expected relu, linear, softmax or logsoftmax)");
}

nrem::Shape get_shape(const Napi::Object& o, const char* key, const std::string& where) {
  std::vector<int> v = get_int_array(o, key, where);
  require(v.size() == 3 && v[0] > 0 && v[1] > 0 && v[2] > 0, "ERR_SHAPE", where + "." + key + " must be [c, h, w] > 0");
  return nrem::Shape{v[0], v[1], v[2]};
}

// Refuses parameters that cannot fit in this machine's memory before allocating them.
void check_memory(double floats, const std::string& what) {
  const double bytes = floats * 4.0;
  const long pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGE_SIZE);
  const double mem = pages > 0 && page > 0 ? static_cast<double>(pages) * page : 0.0;
  auto gb = [](double b) { return std::to_string(std::round(b / 1e8) / 10).substr(0, 6) + " GB"; };
  require(floats < 4.0e9 && (mem <= 0 || bytes <= 0.8 * mem), "ERR_MEMORY",
          what + " needs " + gb(bytes) + " but this machine has " + gb(mem) + " of memory");
}

std::vector<float> copy_f32(const Napi::Value& v, const std::string& name, size_t expected) {
  F32 a = get_f32(v, name, static_cast<long>(expected));
  return std::vector<float>(a.data, a.data + a.length);
}

std::shared_ptr<nrem::Model> parse_model(const Napi::Value& v) {
  require(v.IsObject(), "ERR_ARGUMENT", "Expected a model description object");
  auto o = v.As<Napi::Object>();
  auto m = std::make_shared<nrem::Model>();
  m->input = get_shape(o, "input", "model");
  m->out = parse_output(get_string(o, "output", "model"));
  m->temperature = static_cast<float>(get_number_or(o, "temperature", 1.0, "model"));
  m->hidden_scale = static_cast<float>(get_number_or(o, "hiddenScale", 1.0, "model"));
  if (has_field(o, "inputOps")) {
    auto ops = get_field(o, "inputOps", "model");
    require(ops.IsArray(), "ERR_ARGUMENT", "Expected an array for model.inputOps");
    auto arr = ops.As<Napi::Array>();
    for (uint32_t i = 0; i < arr.Length(); ++i) {
      const std::string where = "model.inputOps[" + std::to_string(i) + "]";
      require(arr.Get(i).IsObject(), "ERR_ARGUMENT", "Expected an object for " + where);
      auto e = arr.Get(i).As<Napi::Object>();
      const std::string op = get_string(e, "op", where);
      nrem::InputOp io;
      if (op == "add") io.kind = nrem::InputOpKind::Add;
      else if (op == "sub") io.kind = nrem::InputOpKind::Sub;
      else if (op == "mul") io.kind = nrem::InputOpKind::Mul;
      else if (op == "div") io.kind = nrem::InputOpKind::Div;
      else throw nrem::Error("ERR_VALUE", "Unknown " + where + ".op '" + op + "' (expected add, sub, mul or div)");
      io.value = copy_f32(get_field(e, "value", where), where + ".value", m->input.size());
      m->input_ops.push_back(std::move(io));
    }
  }
  auto lv = get_field(o, "layers", "model");
  require(lv.IsArray() && lv.As<Napi::Array>().Length() > 0, "ERR_SHAPE", "Expected a non-empty array for model.layers");
  auto layers = lv.As<Napi::Array>();
  // Shapes and sizes first (no allocation), then the memory check, then the parameters.
  nrem::Shape cur = m->input;
  double floats = 0;
  for (uint32_t i = 0; i < layers.Length(); ++i) {
    const std::string where = "model.layers[" + std::to_string(i) + "]";
    require(layers.Get(i).IsObject(), "ERR_ARGUMENT", "Expected an object for " + where);
    auto e = layers.Get(i).As<Napi::Object>();
    nrem::Layer l;
    const std::string kind = get_string(e, "kind", where);
    if (kind == "dense") l.kind = nrem::LayerKind::Dense;
    else if (kind == "conv") l.kind = nrem::LayerKind::Conv;
    else if (kind == "maxpool") l.kind = nrem::LayerKind::MaxPool;
    else if (kind == "avgpool") l.kind = nrem::LayerKind::AvgPool;
    else throw nrem::Error("ERR_VALUE", "Unknown " + where + ".kind '" + kind + "' (expected dense, conv, maxpool or avgpool)");
    int units = 0;
    if (l.weighted()) {
      const int64_t u = get_int(e, "units", where);
      require(u > 0 && u <= (1 << 24), "ERR_SHAPE", where + ".units must be in 1..2^24");
      units = static_cast<int>(u);
    }
    if (l.kind != nrem::LayerKind::Dense) {
      std::vector<int> w = get_int_array(e, "window", where);
      require(w.size() == 8, "ERR_SHAPE", where + ".window must be [kh, kw, sh, sw, pt, pl, pb, pr]");
      l.win = nrem::Window{w[0], w[1], w[2], w[3], w[4], w[5], w[6], w[7]};
    }
    l.count_include_pad = get_bool_or(e, "countIncludePad", false, where);
    l.in = cur;
    l.out = nrem::layer_output_shape(l.kind, cur, l.win, units, where + " (" + kind + ")");
    floats += static_cast<double>(l.weighted() ? static_cast<double>(l.weight_count()) + l.out.c : 0);
    floats += static_cast<double>(l.out.size());  // bounds absurd activations too
    l.act.relu = get_bool_or(e, "relu", false, where);
    l.act.pre = static_cast<float>(get_number_or(e, "pre", 1.0, where));
    l.act.post = static_cast<float>(get_number_or(e, "post", 1.0, where));
    l.act.dropout = get_bool_or(e, "dropout", false, where);
    cur = l.out;
    m->layers.push_back(std::move(l));
  }
  check_memory(floats, "this network's parameters");
  for (uint32_t i = 0; i < layers.Length(); ++i) {
    const std::string where = "model.layers[" + std::to_string(i) + "]";
    auto e = layers.Get(i).As<Napi::Object>();
    nrem::Layer& l = m->layers[i];
    if (!l.weighted()) {
      require(!has_field(e, "weights") && !has_field(e, "bias"), "ERR_ARGUMENT", where + ": a pooling layer has no parameters");
      continue;
    }
    if (has_field(e, "weights"))
      l.W = copy_f32(e.Get("weights"), where + ".weights", l.weight_count());
    else
      l.W.assign(l.weight_count(), 0.0f);
    if (has_field(e, "bias")) {
      Napi::Value b = e.Get("bias");
      if (b.IsBoolean())
        l.b.assign(b.As<Napi::Boolean>().Value() ? static_cast<size_t>(l.out.c) : 0, 0.0f);
      else
        l.b = copy_f32(b, where + ".bias", static_cast<size_t>(l.out.c));
    }
  }
  m->validate();
  return m;
}

Napi::Value make_handle(Napi::Env env, std::shared_ptr<nrem::Model> m) {
  Napi::Object obj = constructor(env).New({});
  NativeModel::Unwrap(obj)->state()->model = std::move(m);
  return obj;
}

Napi::Value NativeModel::Describe(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return guarded(env, [&]() -> Napi::Value {
    const nrem::Model& m = read_model();
    Napi::Object o = Napi::Object::New(env);
    o.Set("input", shape_js(env, m.input));
    Napi::Array ls = Napi::Array::New(env, m.layers.size());
    double params = 0;
    for (size_t i = 0; i < m.layers.size(); ++i) {
      const nrem::Layer& l = m.layers[i];
      Napi::Object e = Napi::Object::New(env);
      e.Set("kind", nrem::layer_kind_name(l.kind));
      e.Set("in", shape_js(env, l.in));
      e.Set("out", shape_js(env, l.out));
      e.Set("weights", static_cast<double>(l.W.size()));
      e.Set("bias", l.has_bias());
      params += static_cast<double>(l.W.size() + l.b.size());
      ls.Set(static_cast<uint32_t>(i), e);
    }
    o.Set("layers", ls);
    o.Set("output", output_name(m.out));
    o.Set("temperature", m.temperature);
    o.Set("hiddenScale", m.hidden_scale);
    o.Set("parameters", params);
    return o;
  });
}

Napi::Value NativeModel::SetOutput(const Napi::CallbackInfo& info) {
  return guarded(info.Env(), [&]() -> Napi::Value {
    Lease lease(state_, true, "setOutput");
    require(info[0].IsString() && info[1].IsNumber(), "ERR_ARGUMENT", "Expected an output name and a temperature");
    const nrem::OutputAct out = parse_output(info[0].As<Napi::String>().Utf8Value());
    const double t = info[1].As<Napi::Number>().DoubleValue();
    require(std::isfinite(t) && t > 0, "ERR_VALUE", "temperature must be a positive number");
    lease.model().out = out;
    lease.model().temperature = static_cast<float>(t);
    return info.Env().Undefined();
  });
}

Napi::Value NativeModel::Clone(const Napi::CallbackInfo& info) {
  return guarded(info.Env(), [&]() -> Napi::Value {
    Lease lease(state_, false, "clone");
    return make_handle(info.Env(), std::make_shared<nrem::Model>(lease.model()));
  });
}

Napi::Value NativeModel::FirstNonFinite(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return guarded(env, [&]() -> Napi::Value {
    Lease lease(state_, false, "firstNonFinite");
    const nrem::Model& m = lease.model();
    auto hit = [&](double layer, const char* tensor, size_t index, float value) {
      Napi::Object o = Napi::Object::New(env);
      o.Set("layer", layer);
      o.Set("tensor", tensor);
      o.Set("index", static_cast<double>(index));
      o.Set("value", value);
      return o;
    };
    for (size_t k = 0; k < m.input_ops.size(); ++k)
      for (size_t i = 0; i < m.input_ops[k].value.size(); ++i)
        if (!std::isfinite(m.input_ops[k].value[i])) return hit(static_cast<double>(k), "input op", i, m.input_ops[k].value[i]);
    int w = 0;
    for (const nrem::Layer& l : m.layers) {
      if (!l.weighted()) continue;
      for (size_t i = 0; i < l.W.size(); ++i)
        if (!std::isfinite(l.W[i])) return hit(w, "weights", i, l.W[i]);
      for (size_t i = 0; i < l.b.size(); ++i)
        if (!std::isfinite(l.b[i])) return hit(w, "bias", i, l.b[i]);
      ++w;
    }
    return env.Null();
  });
}

Napi::Value CreateModel(const Napi::CallbackInfo& info) {
  return guarded(info.Env(), [&]() -> Napi::Value { return make_handle(info.Env(), parse_model(info[0])); });
}

void Init(Napi::Env env, Napi::Object exports) {
  Napi::Function cls = NativeModel::Define(env);
  env.SetInstanceData(new Napi::FunctionReference(Napi::Persistent(cls)));
  exports.Set("createModel", Napi::Function::New(env, CreateModel));
}

}  // namespace

std::shared_ptr<Lease> lease_model(const Napi::Value& v, const std::string& name, bool write, const std::string& op) {
  require(v.IsObject() && v.As<Napi::Object>().InstanceOf(constructor(v.Env()).Value()), "ERR_ARGUMENT",
          "Expected a network (a native model handle) for " + name);
  NativeModel* h = NativeModel::Unwrap(v.As<Napi::Object>());
  return std::make_shared<Lease>(h->state(), write, op);
}

NREM_ADDON_MODULE(Init);

}  // namespace nrem_addon
