#include "distort.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "attack_model.h"
#include "cancel.h"
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

// One axis of the blur: m pixels at stride `step`, from src into dst. Tap by tap while the
// kernel fits (rad < m, the authors' arithmetic); folded otherwise (see distort.h): pixel j
// of the axis gets weight k[j − v] inside, and the summed weights of every offset beyond
// the edges at j = 0 and j = m − 1 (prefix sums `cum` of the kernel, in double).
struct BlurAxis {
  int m = 0;
  int64_t rad = 0;
  std::vector<float> kernel;   // tap by tap: the 2·rad + 1 weights
  std::vector<double> inner;   // folded: weight of offset t at inner[t + m − 1], |t| ≤ m − 1
  std::vector<double> edge0, edge1;  // folded: per output pixel, the weight of pixel 0 / m − 1
};

BlurAxis make_axis(int m, double sigma) {
  BlurAxis a;
  a.m = m;
  a.rad = sigma > 0 ? static_cast<int64_t>(std::ceil(2.0 * sigma)) : 0;
  auto g = [&](int64_t t) { return sigma > 0 ? std::exp(-(static_cast<double>(t) * t) / (2.0 * sigma * sigma)) : 1.0; };
  if (a.rad < m) {
    // As the authors' code: float weights, their sum in double, then each divided by it.
    a.kernel.resize(static_cast<size_t>(2 * a.rad + 1));
    double s = 0;
    for (int64_t t = -a.rad; t <= a.rad; ++t) s += (a.kernel[t + a.rad] = static_cast<float>(g(t)));
    for (auto& k : a.kernel) k = static_cast<float>(k / s);
    return a;
  }
  double s = 0;
  for (int64_t t = -a.rad; t <= a.rad; ++t) s += g(t);
  // below[t + m] = Σ_{u=-rad}^{t} g(u) / s, for t in [-m, m].
  std::vector<double> below(2 * static_cast<size_t>(m) + 1);
  double acc = 0;
  for (int64_t t = -a.rad; t < -m; ++t) acc += g(t);
  for (int t = -m; t <= m; ++t) acc += g(t), below[t + m] = acc / s;
  a.inner.resize(2 * static_cast<size_t>(m) - 1);
  for (int t = -(m - 1); t <= m - 1; ++t) a.inner[t + m - 1] = g(t) / s;
  a.edge0.resize(m);
  a.edge1.resize(m);
  for (int v = 0; v < m; ++v) {
    a.edge0[v] = m == 1 ? 1.0 : below[-v + m];          // offsets t ≤ −v clamp to pixel 0
    a.edge1[v] = m == 1 ? 0.0 : 1.0 - below[m - 2 - v + m];  // offsets t ≥ m − 1 − v clamp to pixel m − 1
  }
  return a;
}

// `lines` lines of the axis, line q starting at q·line_step, pixels `step` apart.
void blur_axis(const BlurAxis& a, const float* src, float* dst, int lines, int line_step, int step) {
  const int m = a.m;
  for (int q = 0; q < lines; ++q) {
    const float* x = src + static_cast<size_t>(q) * line_step;
    float* o = dst + static_cast<size_t>(q) * line_step;
    for (int v = 0; v < m; ++v) {
      float s = 0;
      if (a.inner.empty()) {
        const int rad = static_cast<int>(a.rad);
        for (int t = -rad; t <= rad; ++t) s += a.kernel[t + rad] * x[static_cast<size_t>(std::min(m - 1, std::max(0, v + t))) * step];
      } else {
        double acc = a.edge0[v] * x[0];
        for (int j = 1; j < m - 1; ++j) acc += a.inner[j - v + m - 1] * x[static_cast<size_t>(j) * step];
        if (m > 1) acc += a.edge1[v] * x[static_cast<size_t>(m - 1) * step];
        s = static_cast<float>(acc);
      }
      o[static_cast<size_t>(v) * step] = s;
    }
  }
}
}  // namespace

void distort(Distortion kind, float level, const float* X, size_t n, int d, int h, int w, uint64_t seed,
             uint64_t row0, float* out, const std::function<void(size_t done)>& progress) {
  require(std::isfinite(level) && level >= 0, "ERR_VALUE", "distortion level must be finite and >= 0");
  if (kind == Distortion::SaltPepper || kind == Distortion::Contrast)
    require(level <= 1, "ERR_VALUE", "salt-and-pepper and contrast levels must be in [0, 1]");
  BlurAxis rows_axis, cols_axis;
  if (kind == Distortion::Blur) {
    require(h > 0 && w > 0 && static_cast<long>(h) * w == d, "ERR_SHAPE", "blur needs an image shape h × w = d");
    require(level <= kMaxBlurSigma, "ERR_VALUE", "blur sigma must be <= 1e6");
    cols_axis = make_axis(w, level);  // along a row: w pixels
    rows_axis = make_axis(h, level);  // along a column: h pixels
  }
  const float sd = std::sqrt(level);
  auto rows = [&](size_t b, size_t e) {
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
          blur_axis(cols_axis, x, tmp.data(), h, w, 1);
          blur_axis(rows_axis, tmp.data(), o, w, 1, w);
          for (int j = 0; j < d; ++j) o[j] = clip01(o[j]);
          break;
      }
    }
  };
  // Blocks of rows small enough to check the cancel token often (≈ 256 images).
  const size_t block = std::max<size_t>(16, (size_t{1} << 18) / static_cast<size_t>(d));
  for (size_t b0 = 0; b0 < n; b0 += block) {
    check_cancel();
    pool().parallel_for(std::min(block, n - b0), 16, [&](size_t b, size_t e) { rows(b0 + b, b0 + e); });
    if (progress) progress(std::min(n, b0 + block));
  }
}

}  // namespace nrem
