// Element-wise passes over whole data sets and attack outputs, parallel over rows, so that
// the TypeScript side never loops over n × d values on the main thread.
//
//   scan_values         min_i x_i and max_i x_i over the finite entries; the first index whose
//                       value is not finite, and the first whose value lies outside [lo, hi]
//                       (NaN included), or -1.
//   u8_to_f32           dst_i = src_i / divisor in double, rounded to float (IDX pixels / 255 → [0, 1])
//   restrict_rows       raw restricted to the eps-ball of `norm` around x, then to [0, 1]:
//                         linf  x'_j = clip01(x_j + min(eps, max(−eps, raw_j − x_j)))
//                         l2    x' = clip01(x + (raw − x)·f),  f = eps/‖raw − x‖₂ if ‖raw − x‖₂ > eps else 1
//                         l0    x' = raw if #{j : |raw_j − x_j| > 1e−6} ≤ eps, else x
//   perturbation_norms  per row: L0 = #{j : |δ_j| > 1e−6}, L2 = ‖δ‖₂, L∞ = max_j |δ_j|, δ = adv − x
// Arithmetic in double, as the TypeScript versions did, so results are bit-identical to them.
#pragma once
#include <cstddef>
#include <cstdint>

namespace nrem {

struct ValueScan {
  double min = 0, max = 0;
  int64_t first_nonfinite = -1;
  int64_t first_outside = -1;
  size_t finite = 0;
};

ValueScan scan_values(const float* x, size_t count, double lo, double hi);
void u8_to_f32(const uint8_t* src, size_t count, double divisor, float* dst);

enum class Norm { Linf = 0, L2 = 1, L0 = 2 };
void restrict_rows(const float* x, const float* raw, size_t n, int d, Norm norm, double eps, float* out);
void perturbation_norms(const float* x, const float* adv, size_t n, int d, float* l0, float* l2, float* linf);

}  // namespace nrem
