// Test-mode forward pass of a Model (model.h) for a batch, chunk by chunk of rows:
//   x_0 = ops(x); x_l = post_l·act_l(pre_l·layer_l(x_(l−1))); out = a_L = out(pre_L·z_L)
// (hidden dropout layers multiply by hidden_scale). Every row's result depends on that row
// only: not on the chunking nor on the thread count.
#pragma once
#include <cstddef>
#include <functional>

#include "model.h"

namespace nrem {

// Called between chunks and layers; may throw (cancellation).
using Check = std::function<void()>;

struct ForwardOptions {
  bool logits = false;   // out = pre_L·z_L (the last layer before the output activation)
  int first = 0;         // start at layer `first`: X is then that layer's input (n × layers[first].in)
  float* const* layer_out = nullptr;  // one pointer per layer (may be null): x_l (the last: as out)
  const Check* check = nullptr;
};

// X: n rows of the input of layer `first` (the raw input for first = 0); out: n × outputs().
void forward(const Model& m, const float* X, size_t n, float* out, const ForwardOptions& o = {});

// The input ops in place on n rows (model.h).
void apply_input_ops(const Model& m, float* x, size_t n);
// ∂L/∂x from ∂L/∂ops(x), in place on n rows (Add, Sub: identity; Mul c: ·c; Div c: /c).
void input_ops_backward(const Model& m, float* g, size_t n);

}  // namespace nrem
