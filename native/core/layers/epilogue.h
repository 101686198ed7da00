// The element-wise step after a layer (model.h Epilogue), on a block of z in place:
//   a = m · act(pre · z),  act = relu or identity,  m = post · s
// where s is the mode's multiplier of a dropout layer (test: hidden_scale; training: 1, or
// 1/(1−p) for inverted dropout) and 1 otherwise. A relu is written z > 0 ? z·m : 0 (the
// form the paper's MLP has always used, bit for bit). In training with a dropout mask,
// a = keep ? (that) : 0.
// Backward (pre, m > 0, so a > 0 ⟺ the unit was kept and pre·z > 0):
//   ∂L/∂z = ∂L/∂a · m · pre   where a > 0 (relu), everywhere (identity)
#pragma once
#include <cstddef>
#include <cstdint>
#include <cstring>

#include "../model.h"

namespace nrem {

// v where k holds, else +0.0f: the same value as `k ? v : 0.0f` for every v (NaN and -0
// included), written as a bit mask so that a loop of it vectorises. With the select, GCC
// computes the product only under the branch (it may not speculate a floating-point
// multiply: -ftrapping-math) and the loop stays scalar, mispredicting on every sign
// (~10 % of `npm start`'s CPU time sat in such loops on the baseline x86-64 build).
inline float keep_if(bool k, float v) {
  uint32_t b;
  std::memcpy(&b, &v, sizeof b);
  b &= 0u - static_cast<uint32_t>(k);
  float r;
  std::memcpy(&r, &b, sizeof r);
  return r;
}

// The multiplier m of the header for one layer, given the dropout multiplier s of the mode.
inline float epilogue_mult(const Epilogue& e, float s) { return e.dropout ? e.post * s : e.post; }

// a = m·act(pre·z) in place on rows × cols at row stride ld.
inline void epilogue_block(float* __restrict z, int rows, int cols, size_t ld, const Epilogue& e, float m) {
  const float pre = e.pre;
  for (int r = 0; r < rows; ++r) {
    float* __restrict row = z + r * ld;
    if (pre != 1.0f)
      for (int j = 0; j < cols; ++j) row[j] = pre * row[j];
    // The product is taken whatever the sign, then kept or zeroed (keep_if).
    if (e.relu)
      for (int j = 0; j < cols; ++j) {
        const float x = row[j];
        row[j] = keep_if(x > 0.0f, x * m);
      }
    else if (m != 1.0f)
      for (int j = 0; j < cols; ++j) row[j] = row[j] * m;
  }
}

// g = ∂L/∂z from g = ∂L/∂a and a, in place, on `count` consecutive values.
inline void epilogue_backward(const float* __restrict a, float* __restrict g, size_t count, const Epilogue& e, float m) {
  if (e.relu) {  // product first, then kept or zeroed (as in epilogue_block)
    const float pre = e.pre;
    if (pre == 1.0f)
      for (size_t j = 0; j < count; ++j) g[j] = keep_if(a[j] > 0.0f, g[j] * m);
    else
      for (size_t j = 0; j < count; ++j) g[j] = keep_if(a[j] > 0.0f, g[j] * m * pre);
  } else if (m != 1.0f || e.pre != 1.0f) {
    const float f = m * e.pre;
    for (size_t j = 0; j < count; ++j) g[j] = g[j] * f;
  }
}

// epilogue_backward on one entry (the same expression, for a pass that visits few entries).
inline float epilogue_backward_one(float a, float g, const Epilogue& e, float m) {
  if (e.relu) {
    const float v = e.pre == 1.0f ? g * m : g * m * e.pre;
    return a > 0.0f ? v : 0.0f;
  }
  return m != 1.0f || e.pre != 1.0f ? g * (m * e.pre) : g;
}

inline bool epilogue_identity(const Epilogue& e, float m) { return !e.relu && e.pre == 1.0f && m == 1.0f; }

}  // namespace nrem
