#include "tensor_ops.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <mutex>
#include <vector>

#include "thread_pool.h"

namespace nrem {

namespace {

// The exact scan of x[b, e) into s (the definition in the header).
void scan_block(const float* x, size_t b, size_t e, double lo, double hi, ValueScan& s) {
  for (size_t i = b; i < e; ++i) {
    const double v = x[i];
    if (!std::isfinite(v)) {
      if (s.first_nonfinite < 0) s.first_nonfinite = static_cast<int64_t>(i);
      if (s.first_outside < 0) s.first_outside = static_cast<int64_t>(i);
      continue;
    }
    ++s.finite;
    if (v < s.min) s.min = v;
    if (v > s.max) s.max = v;
    if (s.first_outside < 0 && !(v >= lo && v <= hi)) s.first_outside = static_cast<int64_t>(i);
  }
}

#if defined(__GNUC__) && !defined(__clang__)
// Lets GCC turn the min/max selects into minps/maxps: sound here, as a block with a NaN or
// ±Inf (found by its bits) takes the exact scan, and the zeros' sign is fixed below.
#define NREM_MINMAX_VECTOR __attribute__((optimize("finite-math-only,no-signed-zeros")))
#else
#define NREM_MINMAX_VECTOR
#endif

// min, max and whether some value is NaN or ±Inf (by its bits), of x[b, e), in vector
// registers. Only this loop has the relaxed flags.
NREM_MINMAX_VECTOR void block_minmax(const float* x, size_t b, size_t e, float& mn, float& mx, bool& bad) {
  float lmin = x[b], lmax = x[b];
  uint32_t any = 0;
  for (size_t i = b; i < e; ++i) {
    uint32_t u;
    std::memcpy(&u, x + i, sizeof u);
    any |= (u & 0x7f800000u) == 0x7f800000u;  // NaN or ±Inf: all exponent bits set
    const float v = x[i];
    lmin = v < lmin ? v : lmin;
    lmax = v > lmax ? v : lmax;
  }
  mn = lmin;
  mx = lmax;
  bad = any != 0;
}

// The same result as scan_block: when every value is finite and inside [lo, hi] (the usual
// case) only the block's min and max are needed; the exact scan runs only on a block that
// holds a non-finite or outside value.
void scan_fast(const float* x, size_t b, size_t e, double lo, double hi, ValueScan& s) {
  float lmin, lmax;
  bool bad;
  block_minmax(x, b, e, lmin, lmax, bad);
  if (bad || lmin < lo || lmax > hi) return scan_block(x, b, e, lo, hi, s);
  // ±0 compare equal: the exact scan keeps the first zero it meets, so take that one's sign.
  auto first_zero = [&]() {
    size_t k = b;
    while (x[k] != 0.0f) ++k;
    return x[k];
  };
  if (lmin == 0.0f) lmin = first_zero();
  if (lmax == 0.0f) lmax = first_zero();
  s.finite += e - b;
  if (lmin < s.min) s.min = lmin;
  if (lmax > s.max) s.max = lmax;
}

}  // namespace

ValueScan scan_values(const float* x, size_t count, double lo, double hi) {
  const size_t grain = 1 << 18, block = 4096;
  const size_t chunks = (count + grain - 1) / grain;
  std::vector<ValueScan> part(chunks);
  pool().parallel_for(chunks, 1, [&](size_t c0, size_t c1) {
    for (size_t c = c0; c < c1; ++c) {
      ValueScan s;
      s.min = std::numeric_limits<double>::infinity();
      s.max = -std::numeric_limits<double>::infinity();
      const size_t b = c * grain, e = std::min(count, b + grain);
      size_t i = b;
      for (; i + block <= e; i += block) scan_fast(x, i, i + block, lo, hi, s);
      scan_block(x, i, e, lo, hi, s);
      part[c] = s;
    }
  });
  ValueScan out;
  out.min = std::numeric_limits<double>::infinity();
  out.max = -std::numeric_limits<double>::infinity();
  for (const ValueScan& s : part) {  // chunks in order: the first bad index is the smallest
    if (out.first_nonfinite < 0) out.first_nonfinite = s.first_nonfinite;
    if (out.first_outside < 0) out.first_outside = s.first_outside;
    out.finite += s.finite;
    if (s.finite) {
      out.min = std::min(out.min, s.min);
      out.max = std::max(out.max, s.max);
    }
  }
  if (!out.finite) out.min = out.max = 0;
  return out;
}

void u8_to_f32(const uint8_t* src, size_t count, double divisor, float* dst) {
  pool().parallel_for(count, 1 << 18, [&](size_t b, size_t e) {
    for (size_t i = b; i < e; ++i) dst[i] = static_cast<float>(static_cast<double>(src[i]) / divisor);
  });
}

namespace {
inline double clip01(double v) { return v < 0 ? 0 : v > 1 ? 1 : v; }
}  // namespace

void restrict_rows(const float* x, const float* raw, size_t n, int d, Norm norm, double eps, float* out) {
  pool().parallel_for(n, 16, [&](size_t r0, size_t r1) {
    for (size_t r = r0; r < r1; ++r) {
      const float* xr = x + r * d;
      const float* ar = raw + r * d;
      float* o = out + r * d;
      if (norm == Norm::Linf) {
        for (int j = 0; j < d; ++j) {
          const double delta = std::min(eps, std::max(-eps, static_cast<double>(ar[j]) - xr[j]));
          o[j] = static_cast<float>(clip01(xr[j] + delta));
        }
      } else if (norm == Norm::L2) {
        double s = 0;
        for (int j = 0; j < d; ++j) {
          const double v = static_cast<double>(ar[j]) - xr[j];
          s += v * v;
        }
        const double f = s > eps * eps ? eps / std::sqrt(s) : 1;
        for (int j = 0; j < d; ++j) o[j] = static_cast<float>(clip01(xr[j] + (static_cast<double>(ar[j]) - xr[j]) * f));
      } else {
        double c = 0;
        for (int j = 0; j < d; ++j)
          if (std::fabs(static_cast<double>(ar[j]) - xr[j]) > 1e-6) ++c;
        const float* src = c <= eps ? ar : xr;
        std::copy(src, src + d, o);
      }
    }
  });
}

void perturbation_norms(const float* x, const float* adv, size_t n, int d, float* l0, float* l2, float* linf) {
  pool().parallel_for(n, 16, [&](size_t r0, size_t r1) {
    for (size_t r = r0; r < r1; ++r) {
      double c = 0, s = 0, m = 0;
      for (size_t j = r * d; j < (r + 1) * d; ++j) {
        const double v = std::fabs(static_cast<double>(adv[j]) - x[j]);
        if (v > 1e-6) ++c;
        s += v * v;
        if (v > m) m = v;
      }
      l0[r] = static_cast<float>(c);
      l2[r] = static_cast<float>(std::sqrt(s));
      linf[r] = static_cast<float>(m);
    }
  });
}

}  // namespace nrem
