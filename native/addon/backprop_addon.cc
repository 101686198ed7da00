// Bindings: loss and gradients of a batch (test mode or a fixed-seed train-mode pass).
//   gradients(net, x (n × n0), n, targets (n × nL), opts, out, control?) → Promise<number>
//     opts: { loss: "mse"|"cross-entropy", reduction?: "sum"|"mean" (default sum),
//             train?: boolean, dropout?: number, inverted?: boolean, seed?: number, step?: number }
//     out:  { x?: Float32Array (n × inputs), weights?: (Float32Array|null)[], biases?: (Float32Array|null)[] }
//           (one entry per weight-carrying layer, in chain order)
//   Resolves with the reduced loss; writes the requested gradients.
#include <memory>

#include "../core/backprop.h"
#include "../core/loss.h"
#include "convert.h"
#include "model_handle.h"
#include "registry.h"
#include "task.h"

namespace nrem_addon {
namespace {

struct GradJob {
  std::shared_ptr<Lease> lease;
  const float* x = nullptr;
  const float* y = nullptr;
  size_t n = 0;
  nrem::LossKind loss = nrem::LossKind::SquaredError;
  nrem::Reduction reduction = nrem::Reduction::Sum;
  bool train = false;
  nrem::DropoutSpec dropout;
  float* dx = nullptr;
  std::vector<float*> dW, db;
  double value = 0.0;
};

void read_grad_list(const Napi::Object& out, const char* key, const nrem::Model& net, bool bias,
                    std::vector<float*>& dst, std::vector<Napi::Value>& keep) {
  if (!has_field(out, key)) return;
  auto v = out.Get(key);
  const int L = net.weighted_layers();
  nrem::require(v.IsArray() && v.As<Napi::Array>().Length() == static_cast<uint32_t>(L), "ERR_SHAPE",
                std::string("Expected out.") + key + " to be an array of " + std::to_string(L) + " entries");
  dst.assign(L, nullptr);
  for (int l = 0; l < L; ++l) {
    Napi::Value e = v.As<Napi::Array>().Get(static_cast<uint32_t>(l));
    if (e.IsNull() || e.IsUndefined()) continue;
    const nrem::Layer& ly = net.layers[net.weighted_index(l)];
    nrem::require(!bias || ly.has_bias(), "ERR_ARGUMENT",
                  "out.biases[" + std::to_string(l) + "] given but weight layer " + std::to_string(l) + " has no bias");
    long len = static_cast<long>(bias ? ly.b.size() : ly.W.size());
    dst[l] = get_f32(e, std::string("out.") + key + "[" + std::to_string(l) + "]", len).data;
    keep.push_back(e);
  }
}

Napi::Value Gradients(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return guarded(env, [&]() -> Napi::Value {
    auto job = std::make_shared<GradJob>();
    job->lease = lease_model(info[0], "net", false, "gradients");
    const nrem::Model& net = job->lease->model();
    nrem::require(info[2].IsNumber(), "ERR_ARGUMENT", "Expected a number for n");
    int64_t n = info[2].As<Napi::Number>().Int64Value();
    nrem::require(n >= 0, "ERR_VALUE", "n must be >= 0");
    job->n = static_cast<size_t>(n);
    job->x = get_f32(info[1], "x", n * net.inputs()).data;
    job->y = get_f32(info[3], "targets", n * net.outputs()).data;
    nrem::require(info[4].IsObject(), "ERR_ARGUMENT", "Expected an options object");
    auto o = info[4].As<Napi::Object>();
    job->loss = nrem::parse_loss(get_string(o, "loss", "opts"));
    std::string red = has_field(o, "reduction") ? get_string(o, "reduction", "opts") : "sum";
    nrem::require(red == "sum" || red == "mean", "ERR_VALUE", "opts.reduction must be sum or mean");
    job->reduction = red == "sum" ? nrem::Reduction::Sum : nrem::Reduction::Mean;
    job->train = get_bool_or(o, "train", false, "opts");
    job->dropout.p = static_cast<float>(get_number_or(o, "dropout", 0.0, "opts"));
    nrem::require(job->dropout.p >= 0 && job->dropout.p < 1, "ERR_VALUE", "opts.dropout must be in [0, 1)");
    job->dropout.inverted = get_bool_or(o, "inverted", false, "opts");
    job->dropout.seed = has_field(o, "seed") ? get_seed(o, "seed", "opts") : 0;
    job->dropout.step = static_cast<uint64_t>(get_int_or(o, "step", 0, "opts"));
    std::vector<Napi::Value> keep{info[0], info[1], info[3]};
    if (info.Length() > 5 && info[5].IsObject()) {
      auto out = info[5].As<Napi::Object>();
      if (has_field(out, "x")) {
        job->dx = get_f32(out.Get("x"), "out.x", n * net.inputs()).data;
        keep.push_back(out.Get("x"));
      }
      read_grad_list(out, "weights", net, false, job->dW, keep);
      read_grad_list(out, "biases", net, true, job->db, keep);
    }
    return start_task(
        env,
        [job](const ProgressFn&, const Cancel& cancel) {
          const nrem::Model& net = job->lease->model();
          nrem::ForwardCache cache;
          nrem::forward_cached(net, job->x, job->n, job->train, job->dropout, cache);
          cancel.check();
          std::vector<float> g(job->n * static_cast<size_t>(net.outputs()));
          job->value = nrem::loss_grad(net, cache, job->loss, job->y, g.data(), job->reduction);
          if (job->dx || !job->dW.empty() || !job->db.empty())
            nrem::backward(net, cache, g.data(), job->dW.empty() ? nullptr : job->dW.data(),
                           job->db.empty() ? nullptr : job->db.data(), job->dx);
        },
        [job](Napi::Env e) -> Napi::Value { return Napi::Number::New(e, job->value); }, keep,
        info.Length() > 6 ? info[6] : env.Undefined());
  });
}

void Init(Napi::Env env, Napi::Object exports) { exports.Set("gradients", Napi::Function::New(env, Gradients)); }

}  // namespace
NREM_ADDON_MODULE(Init);
}  // namespace nrem_addon
