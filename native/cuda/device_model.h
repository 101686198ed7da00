// A network resident on the GPU: the CUDA side of the attacks' model interface
// (native/core/attack_model.h, whose methods forward here when built with Backend::Cuda).
// Plain C++17 (pimpl): included by core code compiled without nvcc.
//
// Weights and biases are uploaded once at construction; every call uploads its batch,
// runs forward (and backward) on the device and downloads the result. Calls on one model
// are serialised (a mutex guards its workspace). Rows are processed in chunks of at most
// `chunk_rows` to bound device memory; the call's cancel token (core/cancel.h) is checked
// between chunks.
#pragma once
#include <cstdint>
#include <functional>
#include <memory>
#include <vector>

#include "../core/network.h"
#include "cuda_api.h"

namespace nrem::cuda {

// dLoss/dz_L for a batch on the host: fills G (n × K) from logits Z and outputs A (n × K).
using HostLossGrad = std::function<void(const float* Z, const float* A, size_t n, float* G)>;

class DeviceModel {
 public:
  explicit DeviceModel(const NetView& net, size_t chunk_rows = 16384);  // ERR_BACKEND without a GPU
  ~DeviceModel();
  DeviceModel(const DeviceModel&) = delete;
  DeviceModel& operator=(const DeviceModel&) = delete;

  // Z (n × K) = z_L, test mode.                               CPU: network.cc forward (linear out)
  void logits(const float* X, size_t n, float* Z) const;
  // dX (n × d) = G · ∂z_L/∂x with G from `dloss` (run on the host between forward and
  // backward). Z (optional) receives the logits.                CPU: backprop.cc backward
  void input_grad(const float* X, size_t n, const HostLossGrad& dloss, float* dX, float* Z) const;
  // The same with the loss head on the device: loss_kind 0 = Mse, 1 = Ce, 2 = Margin
  // (gradients.h AttackLoss), labels y (n, checked in 0..K-1 by the caller).
  //                                                              CPU: gradients.cc attack_loss_grad
  void attack_input_grad(int loss_kind, const float* X, const int32_t* y, size_t n, float* dX, float* loss,
                         float* Z) const;
  // dXs[i] (n × d) = Cs[i] · ∂z_L/∂x for several coefficient matrices Cs[i] (n × K), one forward.
  void multi_grad(const float* X, size_t n, const std::vector<const float*>& Cs, const std::vector<float*>& dXs,
                  float* Z) const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace nrem::cuda
