// Image distortions of the generalisation experiments (experiments.md §3), as the
// authors' image functions do them. All outputs are clipped to [0, 1]. Image h × w, one
// channel (a non-image vector: noise kinds work per value; blur needs h·w = d).
//
//   noise       x' = clip01(x + √v · ξ),  ξ ~ N(0, 1) per pixel  (v is a VARIANCE)
//   blur        x' = G_σ * x, separable Gaussian kernel of size 2⌈2σ⌉+1, weights
//               exp(−t²/2σ²) normalised to sum 1, replicate padding (σ = 0: identity).
//               σ ≤ kMaxBlurSigma. Along an axis of m pixels, a kernel reaching past
//               both ends (radius ≥ m) is folded: the weights of the offsets beyond an
//               edge land on that edge pixel (what replicate padding gives), so the cost
//               is O(m) per pixel whatever σ; shorter kernels are summed tap by tap.
//   saltpepper  each pixel with probability q becomes 0 or 1 (half each)
//   contrast    x' = 0.5 + (1 − c)(x − 0.5)   (c = 0: unchanged, c = 1: flat grey)
// Random keys: rng(seed, kStreamDistort, a = row0 + row, b = pixel (·2 for Box–Muller)).
// The same seed gives the same ξ at every level (common random numbers across levels).
// Rows are processed in blocks; the call's cancel token (cancel.h) is checked between
// blocks (an aborted call leaves `out` partly written, never read by the caller), and
// `progress(rows done)` is called after each block.
#pragma once
#include <cstdint>
#include <functional>
#include <string>

#include "common.h"

namespace nrem {

enum class Distortion { Noise = 0, Blur = 1, SaltPepper = 2, Contrast = 3 };
Distortion parse_distortion(const std::string& name);

constexpr double kMaxBlurSigma = 1e6;

void distort(Distortion kind, float level, const float* X, size_t n, int d, int h, int w, uint64_t seed,
             uint64_t row0, float* out, const std::function<void(size_t done)>& progress = {});

}  // namespace nrem
