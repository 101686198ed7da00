// The native model handle: a Napi::ObjectWrap that owns one nrem::Model (model.h) — a copy
// of the network's parameters in native memory — for a JavaScript Network.
//
// Every call that reads or changes the model takes a lease on the main thread before its
// work is queued, and gives it back when the work has finished:
//   read   (forward, gradients, attacks, clone, parameter copies): any number at once
//   write  (training, in-place sleep, initialisation, setting parameters): alone
// A lease that cannot be had fails at once with ERR_BUSY naming what holds the model,
// instead of racing. JavaScript never sees the parameter memory: reading parameters back is
// an explicit copy, so nothing can detach or change them under a running call.
// dispose() frees the parameters (ERR_BUSY while a call runs); any later use is ERR_DISPOSED.
// On CUDA the device copy of the weights is kept across calls until the model changes.
#pragma once
#include <napi.h>

#include <memory>
#include <mutex>
#include <string>

#include "../core/model.h"
#include "../cuda/device_model.h"

namespace nrem_addon {

struct ModelState {
  std::shared_ptr<nrem::Model> model;  // null once disposed
  int readers = 0;                     // main thread only
  bool writer = false;
  std::string holder;                  // the operation holding the write lease
  uint64_t version = 0;                // bumped when a write lease ends
  std::mutex device_mu;
  std::shared_ptr<nrem::cuda::DeviceModel> device;
  uint64_t device_version = ~uint64_t{0};
  // The device copy of the current weights, built on first use (a worker thread).
  std::shared_ptr<nrem::cuda::DeviceModel> device_model();
};

// Given back on destruction (tasks are destroyed on the main thread once they settle).
class Lease {
 public:
  Lease(std::shared_ptr<ModelState> s, bool write, std::string op);
  ~Lease();
  Lease(const Lease&) = delete;
  Lease& operator=(const Lease&) = delete;
  nrem::Model& model() const { return *model_; }
  const std::shared_ptr<ModelState>& state() const { return state_; }

 private:
  std::shared_ptr<ModelState> state_;
  std::shared_ptr<nrem::Model> model_;
  bool write_;
};

// The model behind a JS value (a handle made by createModel), leased for `op`; ERR_ARGUMENT
// for anything else, ERR_DISPOSED, ERR_BUSY.
std::shared_ptr<Lease> lease_model(const Napi::Value& v, const std::string& name, bool write, const std::string& op);

}  // namespace nrem_addon
