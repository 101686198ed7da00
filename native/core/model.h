// The network as nrem's core sees it: every supported network is one Model — an optional
// element-wise input transform, a chain of layers on C×H×W tensors, an output activation.
// The paper's MLP is the case of dense layers only (no input transform, no biases, paper
// dropout, relu output).
//
//   x_0 = ops(x)                       input ops in order: x ← x + c | x − c | x·c | x / c,
//                                      c an element-wise constant of the input's size
//   z_l = layer_l(x_(l−1))             dense, conv, max-pool, avg-pool (layers/*.h)
//   x_l = post_l · act_l(pre_l · z_l)  epilogue (layers/epilogue.h): act = relu or identity;
//                                      a "dropout" layer multiplies by hidden_scale as well
//                                      at test time and carries the dropout mask in training
//   a_L = out(pre_L · z_L)             out ∈ {relu, linear, softmax(z/T), log-softmax(z/T)}
//                                      (the last layer's epilogue is pre only)
// Shapes: a dense layer reads its input flattened in C×H×W order (PyTorch's Flatten of
// NCHW) and writes C×1×1; flatten and reshape are views (no layer). Rows of a batch are
// consecutive blocks of shape.size() floats.
//
// The Model owns its parameters (the native model handle of the addon keeps one per
// JavaScript Network); NetView (network.h) is the plain view of a fully connected chain
// that the sleep engines and the CUDA kernels read.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "common.h"
#include "network.h"

namespace nrem {

struct Shape {
  int c = 0, h = 1, w = 1;
  size_t size() const { return static_cast<size_t>(c) * h * w; }
  bool operator==(const Shape& o) const { return c == o.c && h == o.h && w == o.w; }
  bool operator!=(const Shape& o) const { return !(*this == o); }
  std::string str() const;  // "C×H×W"
};

enum class LayerKind : int { Dense = 0, Conv = 1, MaxPool = 2, AvgPool = 3 };
const char* layer_kind_name(LayerKind k);

// Kernel window of a conv or pooling layer: size kh × kw, stride sh × sw, zero padding
// pt (top), pl (left), pb (bottom), pr (right). Dilation 1.
struct Window {
  int kh = 1, kw = 1, sh = 1, sw = 1, pt = 0, pl = 0, pb = 0, pr = 0;
  // Output size along one axis: floor((n + p0 + p1 − k) / s) + 1 (≤ 0: the window does not fit).
  static int out_size(int n, int k, int s, int p0, int p1) { return (n + p0 + p1 - k) / s + 1; }
};

struct Epilogue {
  float pre = 1.0f, post = 1.0f;  // both > 0
  bool relu = false;
  bool dropout = false;           // a hidden fully connected activation: dropout / hidden_scale apply
};

struct Layer {
  LayerKind kind = LayerKind::Dense;
  Shape in, out;
  Window win;                      // conv, pools
  bool count_include_pad = false;  // avg-pool: divide by kh·kw (true) or by the cells inside the input
  Epilogue act;
  std::vector<float> W;            // dense: out × in (row-major); conv: C_out × C_in × kh × kw
  std::vector<float> b;            // out.c values, or empty (no bias)

  bool weighted() const { return kind == LayerKind::Dense || kind == LayerKind::Conv; }
  bool has_bias() const { return !b.empty(); }
  size_t weight_count() const;     // expected W.size()
  int fan_in() const;              // dense: in.size(); conv: C_in·kh·kw; pools: kh·kw
};

enum class InputOpKind : int { Add = 0, Sub = 1, Mul = 2, Div = 3 };

struct InputOp {
  InputOpKind kind = InputOpKind::Add;
  std::vector<float> value;  // input.size() values (broadcast by the caller)
};

struct Model {
  Shape input;
  std::vector<InputOp> input_ops;
  std::vector<Layer> layers;
  OutputAct out = OutputAct::Relu;
  float temperature = 1.0f;   // softmax / log-softmax output
  float hidden_scale = 1.0f;  // test-time multiplier of dropout layers (1 − p for the paper's dropout)

  int inputs() const { return static_cast<int>(input.size()); }
  int outputs() const { return static_cast<int>(layers.back().out.size()); }
  int weighted_layers() const;
  // Layer index of the k-th weight-carrying layer (k = 0 …).
  int weighted_index(int k) const;
  size_t widest() const;  // largest activation (elements per row) of any layer
  bool dense_chain() const;  // dense layers only, no input ops, hidden relus of scale 1
  // The fully connected view (pointers into this model's W and b) for the sleep engines and
  // the CUDA kernels; ERR_UNSUPPORTED naming the first layer that is not dense.
  NetView dense_view() const;
  // Checks shapes, windows, parameter sizes and scalars (ERR_SHAPE / ERR_VALUE, naming the layer).
  void validate() const;
};

// Output shape of a layer of `kind` on input `in` (conv: c_out channels; dense: units),
// ERR_SHAPE when the window does not fit.
Shape layer_output_shape(LayerKind kind, const Shape& in, const Window& win, int units, const std::string& where);

}  // namespace nrem
