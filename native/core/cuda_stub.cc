// The CUDA backend of a build without CUDA (node-gyp, or cmake-js without nvcc): status()
// explains, every kernel entry point throws ERR_BACKEND. With NREM_HAVE_CUDA this file is
// empty and native/cuda/*.cu provide the same functions.
#ifndef NREM_HAVE_CUDA
#include "../cuda/cuda_api.h"
#include "../cuda/device_model.h"
#include "../cuda/sleep_cuda.h"

namespace nrem::cuda {

const Status& status() {
  static const Status s = [] {
    Status st;
    st.reason = "nrem was built without CUDA (rebuild with `npm run build:cuda` on a machine with nvcc)";
    return st;
  }();
  return s;
}

void require_available() { throw Error("ERR_BACKEND", "CUDA backend unavailable: " + status().reason); }

bool sleep_supported(const std::vector<NetView>&, const std::vector<SleepParams>&, std::string* why) {
  if (why) *why = status().reason;
  return false;
}
void sleep_batch(const std::vector<NetView>&, const std::vector<SleepParams>&, const SleepData&,
                 std::vector<SleepStats>&, const SleepHooks&) {
  require_available();
}
bool sleep_net_supported(const std::vector<SleepNet>&, const std::vector<SleepParams>&, std::string* why) {
  if (why) *why = status().reason;
  return false;
}
void sleep_batch_net(const std::vector<SleepNet>&, const std::vector<SleepParams>&, const SleepData&,
                     std::vector<SleepStats>&, const SleepHooks&) {
  require_available();
}

struct DeviceModel::Impl {};
DeviceModel::DeviceModel(const NetView&, size_t) { require_available(); }
DeviceModel::~DeviceModel() = default;
void DeviceModel::logits(const float*, size_t, float*) const { require_available(); }
void DeviceModel::input_grad(const float*, size_t, const HostLossGrad&, float*, float*) const { require_available(); }
void DeviceModel::attack_input_grad(int, const float*, const int32_t*, size_t, float*, float*, float*) const {
  require_available();
}
void DeviceModel::multi_grad(const float*, size_t, const std::vector<const float*>&, const std::vector<float*>&,
                             float*) const {
  require_available();
}

}  // namespace nrem::cuda
#endif
