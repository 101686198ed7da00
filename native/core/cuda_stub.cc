// The CUDA backend of a build without CUDA (node-gyp, or cmake-js without nvcc): status()
// explains, every kernel entry point throws ERR_BACKEND. With NREM_HAVE_CUDA this file is
// empty and native/cuda/*.cu provide the same functions.
#ifndef NREM_HAVE_CUDA
#include "../cuda/cuda_api.h"
#include "../cuda/cuda_kernels.h"

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

void forward(const NetView&, const float*, size_t, float*) { require_available(); }
void input_gradient(const NetView&, const float*, size_t, const int32_t*, GradLoss, float*, float*, float*) {
  require_available();
}
void backward_input(const NetView&, const float*, size_t, const float*, int, float*, float*) { require_available(); }
void jacobian(const NetView&, const float*, size_t, bool, float*, float*) { require_available(); }
void pgd(const NetView&, const float*, size_t, const int32_t*, const PgdOptions&, float*, const CheckFn&) {
  require_available();
}
void fgsm_sweep(const NetView&, const float*, size_t, const int32_t*, GradLoss, const std::vector<float>&, float,
                float, int32_t*, float*) {
  require_available();
}

}  // namespace nrem::cuda
#endif
