#include "distort.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "attack_model.h"
#include "rng.h"
#include "thread_pool.h"

namespace nrem {

Distortion parse_distortion(const std::string& name) {
  if (name == "noise") return Distortion::Noise;
  if (name == "blur") return Distortion::Blur;
  if (name == "saltpepper") return Distortion::SaltPepper;
  if (name == "contrast") return Distortion::Contrast;
  throw Error("ERR_VALUE", "Unknown distortion '" + name + "' (expected noise, blur, saltpepper or contrast)");
}

namespace {
inline float clip01(float v) { return v < 0.0f ? 0.0f : (v > 1.0f ? 1.0f : v); }
}  // namespace

void distort(Distortion kind, float level, const float* X, size_t n, int d, int h, int w, uint64_t seed,
             uint64_t row0, float* out) {
  require(std::isfinite(level) && level >= 0, "ERR_VALUE", "distortion level must be finite and >= 0");
  if (kind == Distortion::SaltPepper || kind == Distortion::Contrast)
    require(level <= 1, "ERR_VALUE", "salt-and-pepper and contrast levels must be in [0, 1]");
  std::vector<float> kernel;
  int rad = 0;
  if (kind == Distortion::Blur) {
    require(h > 0 && w > 0 && static_cast<long>(h) * w == d, "ERR_SHAPE", "blur needs an image shape h × w = d");
    rad = level > 0 ? static_cast<int>(std::ceil(2.0 * level)) : 0;
    kernel.resize(2 * rad + 1);
    double s = 0;
    for (int t = -rad; t <= rad; ++t) s += (kernel[t + rad] = level > 0 ? std::exp(-(t * t) / (2.0 * level * level)) : 1.0);
    for (auto& k : kernel) k = static_cast<float>(k / s);
  }
  const float sd = std::sqrt(level);
  pool().parallel_for(n, 16, [&](size_t b, size_t e) {
    std::vector<float> tmp(kind == Distortion::Blur ? d : 0);
    for (size_t r = b; r < e; ++r) {
      const float* x = X + r * d;
      float* o = out + r * d;
      const uint64_t a = row0 + r;
      switch (kind) {
        case Distortion::Noise:
          for (int j = 0; j < d; ++j) o[j] = clip01(x[j] + sd * rng_normal(seed, kStreamDistort, a, j));
          break;
        case Distortion::SaltPepper:
          for (int j = 0; j < d; ++j) {
            const float u = rng_uniform(seed, kStreamDistort, a, 2 * static_cast<uint64_t>(j));
            o[j] = u < level ? (rng_uniform(seed, kStreamDistort, a, 2 * static_cast<uint64_t>(j) + 1) < 0.5f ? 0.0f : 1.0f) : x[j];
          }
          break;
        case Distortion::Contrast:
          for (int j = 0; j < d; ++j) o[j] = clip01(0.5f + (1.0f - level) * (x[j] - 0.5f));
          break;
        case Distortion::Blur:
          // Rows then columns; replicate padding (index clamped to the image).
          for (int u = 0; u < h; ++u)
            for (int v = 0; v < w; ++v) {
              float s = 0;
              for (int t = -rad; t <= rad; ++t) s += kernel[t + rad] * x[u * w + std::min(w - 1, std::max(0, v + t))];
              tmp[u * w + v] = s;
            }
          for (int u = 0; u < h; ++u)
            for (int v = 0; v < w; ++v) {
              float s = 0;
              for (int t = -rad; t <= rad; ++t) s += kernel[t + rad] * tmp[std::min(h - 1, std::max(0, u + t)) * w + v];
              o[u * w + v] = clip01(s);
            }
          break;
      }
    }
  });
}

}  // namespace nrem
