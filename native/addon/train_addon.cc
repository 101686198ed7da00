// Bindings: weight initialisation and SGD training (native/core/train.h).
//   initWeights(net, kind: "uniform"|"he", scale, seed, rng?: "counter"|"octave") → undefined
//     (synchronous, fast)
//   train(net, x (n × n0), n, labels: Int32Array|null, targets: Float32Array|null (n × nL),
//         opts, control?) → Promise<{ epochLoss: number[], epochSeconds: number[], steps }>
//     opts: { epochs, batchSize, lr, momentum, lrDecay?, loss, dropout, inverted, seed, shuffle,
//             rng?: "counter"|"octave", temperature? (softmax temperature while training), progressEvery? }
//   Progress: { phase: "train", done, total (batches), epoch, batch, batches, loss }.
#include <cmath>
#include <memory>

#include "../core/train.h"
#include "convert.h"
#include "model_handle.h"
#include "registry.h"
#include "task.h"

namespace nrem_addon {
namespace {

nrem::RandomStreams parse_streams(const std::string& name) {
  nrem::require(name == "counter" || name == "octave", "ERR_VALUE",
                "Unknown rng '" + name + "' (expected counter or octave)");
  return name == "octave" ? nrem::RandomStreams::Octave : nrem::RandomStreams::Counter;
}

Napi::Value InitWeights(const Napi::CallbackInfo& info) {
  return guarded(info.Env(), [&]() -> Napi::Value {
    auto lease = lease_model(info[0], "net", true, "initWeights");
    nrem::Model& net = lease->model();
    nrem::require(info[1].IsString(), "ERR_ARGUMENT", "Expected a string for kind");
    std::string kind = info[1].As<Napi::String>().Utf8Value();
    nrem::require(kind == "uniform" || kind == "he", "ERR_VALUE",
                  "Unknown init '" + kind + "' (expected uniform or he)");
    nrem::require(info[2].IsNumber() && info[3].IsNumber(), "ERR_ARGUMENT", "Expected numbers for scale and seed");
    double scale = info[2].As<Napi::Number>().DoubleValue();
    double seed = info[3].As<Napi::Number>().DoubleValue();
    nrem::require(std::isfinite(scale) && scale >= 0, "ERR_VALUE", "scale must be a finite number >= 0");
    nrem::require(seed >= 0 && std::floor(seed) == seed, "ERR_VALUE", "seed must be a non-negative integer");
    nrem::RandomStreams streams = nrem::RandomStreams::Counter;
    if (info.Length() > 4 && !info[4].IsUndefined()) {
      nrem::require(info[4].IsString(), "ERR_ARGUMENT", "Expected a string for rng");
      streams = parse_streams(info[4].As<Napi::String>().Utf8Value());
    }
    nrem::init_weights(net, kind == "he" ? nrem::InitKind::He : nrem::InitKind::Uniform, scale,
                       static_cast<uint64_t>(seed), streams);
    return info.Env().Undefined();
  });
}

struct TrainJob {
  std::shared_ptr<Lease> lease;
  nrem::TrainData data;
  nrem::TrainConfig cfg;
  nrem::TrainResult result;
};

Napi::Value Train(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return guarded(env, [&]() -> Napi::Value {
    auto job = std::make_shared<TrainJob>();
    job->lease = lease_model(info[0], "net", true, "train");
    const nrem::Model& net = job->lease->model();
    nrem::require(info[2].IsNumber(), "ERR_ARGUMENT", "Expected a number for n");
    int64_t n = info[2].As<Napi::Number>().Int64Value();
    nrem::require(n > 0, "ERR_VALUE", "n must be > 0");
    job->data.n = static_cast<size_t>(n);
    job->data.x = get_f32(info[1], "x", n * net.inputs()).data;
    std::vector<Napi::Value> keep{info[0], info[1]};
    if (!info[3].IsNull() && !info[3].IsUndefined()) {
      job->data.labels = get_i32(info[3], "labels", n).data;
      keep.push_back(info[3]);
    }
    if (!info[4].IsNull() && !info[4].IsUndefined()) {
      job->data.targets = get_f32(info[4], "targets", n * net.outputs()).data;
      keep.push_back(info[4]);
    }
    nrem::require(info[5].IsObject(), "ERR_ARGUMENT", "Expected an options object");
    auto o = info[5].As<Napi::Object>();
    auto& c = job->cfg;
    c.epochs = static_cast<int>(get_int(o, "epochs", "opts"));
    int64_t bs = get_int(o, "batchSize", "opts");
    nrem::require(bs >= 1, "ERR_VALUE", "opts.batchSize must be >= 1");
    c.batch = static_cast<size_t>(bs);
    c.lr = static_cast<float>(get_number(o, "lr", "opts"));
    c.momentum = static_cast<float>(get_number_or(o, "momentum", 0.0, "opts"));
    c.lr_decay = static_cast<float>(get_number_or(o, "lrDecay", 1.0, "opts"));
    c.loss = nrem::parse_loss(get_string(o, "loss", "opts"));
    c.dropout = get_number_or(o, "dropout", 0.0, "opts");
    c.inverted = get_bool_or(o, "inverted", false, "opts");
    c.seed = get_seed(o, "seed", "opts");
    c.shuffle = get_bool_or(o, "shuffle", true, "opts");
    if (has_field(o, "rng")) c.streams = parse_streams(get_string(o, "rng", "opts"));
    c.progress_every = static_cast<int>(get_int_or(o, "progressEvery", 10, "opts"));
    c.temperature = static_cast<float>(get_number_or(o, "temperature", 0.0, "opts"));
    return start_task(
        env,
        [job](const ProgressFn& report, const Cancel& cancel) {
          uint64_t done = 0;
          const uint64_t per_epoch = (job->data.n + std::min(job->cfg.batch, job->data.n) - 1) /
                                     std::min(job->cfg.batch, job->data.n);
          const double total = static_cast<double>(per_epoch) * job->cfg.epochs;
          job->result = nrem::train(
              job->lease->model(), job->data, job->cfg,
              [&](const nrem::TrainProgress& p) {
                done = static_cast<uint64_t>(p.epoch - 1) * p.batches + p.batch;
                Progress q;
                q.phase = "train";
                q.done = static_cast<double>(done);
                q.total = total;
                q.values = {{"epoch", p.epoch},
                            {"batch", static_cast<double>(p.batch)},
                            {"batches", static_cast<double>(p.batches)},
                            {"loss", p.loss}};
                report(q);
              },
              [&cancel] { cancel.check(); });
        },
        [job](Napi::Env e) -> Napi::Value {
          Napi::Object r = Napi::Object::New(e);
          Napi::Array loss = Napi::Array::New(e), secs = Napi::Array::New(e);
          for (size_t i = 0; i < job->result.epoch_loss.size(); ++i) {
            loss.Set(static_cast<uint32_t>(i), job->result.epoch_loss[i]);
            secs.Set(static_cast<uint32_t>(i), job->result.epoch_seconds[i]);
          }
          r.Set("epochLoss", loss);
          r.Set("epochSeconds", secs);
          r.Set("steps", static_cast<double>(job->result.steps));
          return r;
        },
        keep, info.Length() > 6 ? info[6] : env.Undefined());
  });
}

void Init(Napi::Env env, Napi::Object exports) {
  exports.Set("initWeights", Napi::Function::New(env, InitWeights));
  exports.Set("train", Napi::Function::New(env, Train));
}

}  // namespace
NREM_ADDON_MODULE(Init);
}  // namespace nrem_addon
